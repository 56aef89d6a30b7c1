#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_image_build
short_description: Build a service image from a Dockerfile with base images from Artifactory or Docker Hub
version_added: 0.1.0
description:
  - Reads the Dockerfile's FROM lines and resolves every external base image, first from
    Artifactory's Docker registry (I(registry)), then from the upstream registry
    (I(upstream_registry), Docker Hub by default). A base found only upstream is optionally
    pushed into Artifactory (I(cache_base)) so the next build finds it there.
  - The pulled base is tagged with the name the FROM line uses, so the Dockerfile builds
    unchanged. The build uses the legacy builder (C(DOCKER_BUILDKIT=0)).
  - The result is pushed to C(<registry>/<name>:<tag>) unless the registry already holds an
    image with the same ID (config digest) under that tag; then nothing is pushed and
    C(changed=false).
  - A base that neither registry has fails the module with a message naming both.
  - In check mode nothing is pulled, built or pushed; the bases are looked up through the
    registry API and the result says where each would come from.
  - Credentials go to a private, temporary docker client configuration that is removed at the
    end; the user's C(~/.docker/config.json) is neither read nor written.
author: kos.platform developers (@kos-platform)
extends_documentation_fragment:
  - kos.platform.artifactory
options:
  context:
    description: The checked-out Dockerfile repository (build context).
    type: path
    required: true
  dockerfile:
    description: Dockerfile path, relative to I(context).
    type: str
    default: Dockerfile
  name:
    description: Repository of the service image in Artifactory (e.g. C(services/billing)).
    type: str
    required: true
  tag:
    description: Tag of the service image (e.g. the commit or version).
    type: str
    required: true
  registry:
    description:
      - Artifactory's Docker registry, C(host[:port]) or C(host/repository-key) for
        Artifactory's repository-path access method.
    type: str
    required: true
  upstream_registry:
    description: Where bases that Artifactory lacks come from (C(docker.io) = Docker Hub).
    type: str
    default: docker.io
  upstream_username:
    description: User for I(upstream_registry) (anonymous when unset).
    type: str
  upstream_password:
    description: Password or token for I(upstream_registry).
    type: str
  cache_base:
    description: Push a base found only upstream into Artifactory under the same path.
    type: bool
    default: false
  push:
    description: Push the built image (false builds only).
    type: bool
    default: true
  build_args:
    description:
      - C(--build-arg) values; they also fill C(ARG)s used in FROM lines.
      - A map of names to single values (strings or numbers); a list or mapping as a value is refused.
    type: dict
    default: {}
  labels:
    description: Labels added to the image (C(--label)), a map of names to single values.
    type: dict
    default: {}
  insecure_registries:
    description:
      - Registries spoken to over plain HTTP by the registry API calls (docker itself allows
        plain HTTP for loopback only, or for its configured insecure registries).
    type: list
    elements: str
    default: []
  docker_bin:
    description: The docker client.
    type: str
    default: docker
  skip_unchanged:
    description:
      - Compute an input key (the build context's files, the Dockerfile path, I(build_args), I(labels)
        and the config digest of every base image, looked up through the registry API) and skip the
        build when the registry holds C(<name>:kos-input-<key>). When I(tag) already points at that
        image nothing happens; otherwise I(tag) is added to it in the registry (manifest copy, no pull).
      - A build pushes both I(tag) and C(kos-input-<key>), and labels the image C(kos.input-key).
    type: bool
    default: true
notes:
  - Needs a docker engine and client on the host the module runs on.
'''

EXAMPLES = r'''
- name: Build billing from its Dockerfile repository
  kos.platform.container_image_build:
    context: /var/lib/jenkins/workspace/billing
    name: services/billing
    tag: "1.4.2"
    registry: artifactory.example.com/docker-local
    cache_base: true
    username: "{{ artifactory_user }}"
    password: "{{ artifactory_password }}"
  no_log: false
'''

RETURN = r'''
image:
  description: The reference of the service image in Artifactory.
  returned: always
  type: str
  sample: artifactory.example.com/services/billing:1.4.2
image_id:
  description: Local image ID (= config digest in the registry); empty in check mode.
  returned: always
  type: str
pushed:
  description: Whether the image was pushed (false when Artifactory already had this image ID).
  returned: always
  type: bool
input_key:
  description: The build's input key (empty when I(skip_unchanged=false)).
  returned: always
  type: str
built:
  description: Whether docker build ran (false when an image of the same inputs was in the registry).
  returned: always
  type: bool
bases:
  description: One entry per external base image of the Dockerfile.
  returned: always
  type: list
  elements: dict
  contains:
    base: {description: The reference as the FROM line writes it., type: str}
    source: {description: C(artifactory) or C(upstream)., type: str}
    registry: {description: The registry it came from., type: str}
    ref: {description: The reference pulled., type: str}
    cached: {description: Whether it was pushed into Artifactory as a cache., type: bool}
'''

import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import (
    ArtifactoryError,
    artifactory_argument_spec,
    copy_manifest,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_images import (
    ImageReferenceError,
    base_candidates,
    neither_message,
    parse_reference,
    push_reference,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_images_key import InputKeyError
from ansible_collections.kos.platform.plugins.module_utils.kos_images_reuse import (
    BUILD,
    TAG,
    ImageInputs,
    input_problems,
    key_tag,
)


class Builder(ImageInputs):
    def __init__(self, module):
        super().__init__(module.params)
        self.module = module
        # Created last: nothing above may fail and leave it behind (close() removes it).
        self.config_dir = tempfile.mkdtemp(prefix='kos-docker-')
        self.env = dict(DOCKER_CONFIG=self.config_dir, DOCKER_BUILDKIT='0')

    def docker(self, *args, data=None, check=True):
        rc, out, err = self.module.run_command([self.p['docker_bin']] + list(args), data=data,
                                               environ_update=self.env)
        if check and rc != 0:
            self.module.fail_json(msg='docker %s failed (rc %s): %s' % (args[0], rc, (err or out).strip()),
                                  stdout=out, stderr=err)
        return rc, out, err

    def login(self):
        for registry, user, password in ((self.art, self.p['username'], self.p['password'] or self.p['api_key']),
                                         (self.upstream, self.p['upstream_username'], self.p['upstream_password'])):
            if user:
                host = registry.split('/')[0]
                self.docker('login', '--username', user, '--password-stdin', host, data=password or '')

    def probe(self, cand):
        """Check mode: does the registry have it? Through the registry API, nothing pulled."""
        try:
            found = self.base_digest(cand)
        except ArtifactoryError as exc:
            return False, str(exc)
        return found is not None, 'not found'

    def resolve(self, base):
        tried = []
        for cand in base_candidates(base, self.art, self.upstream):
            if self.module.check_mode:
                ok, why = self.probe(cand)
            else:
                rc, out, err = self.docker('pull', '--quiet', cand['ref'], check=False)
                ok, why = rc == 0, (err or out or '').strip()
            if ok:
                return self.adopt(base, cand)
            tried.append(dict(cand, error=why))
        self.module.fail_json(msg=neither_message(base, tried), tried=tried)

    def adopt(self, base, cand):
        """Tag the pulled base as the FROM line names it; cache an upstream base in Artifactory."""
        result = dict(base=base, source=cand['source'], registry=cand['registry'], ref=cand['ref'], cached=False)
        parsed = parse_reference(base)
        if self.module.check_mode:
            result['cached'] = cand['source'] == 'upstream' and self.p['cache_base']
            return result
        if cand['ref'] != base and parsed['tag'] and not parsed['digest']:
            self.docker('tag', cand['ref'], base)
        if cand['source'] == 'upstream' and self.p['cache_base']:
            target = base_candidates(base, self.art, self.upstream)[0]['ref']
            if parsed['digest']:
                self.module.warn('base %s is pinned by digest; not cached in Artifactory' % base)
            else:
                self.docker('tag', cand['ref'], target)
                self.docker('push', '--quiet', target)
                result['cached'] = True
        return result

    def run(self):
        p = self.p
        try:
            path, target, bases = self.dockerfile()
        except ImageReferenceError as exc:
            self.module.fail_json(msg=str(exc))
        key, found = self.input_key(bases) if p['skip_unchanged'] else ('', [])
        if key and p['push']:  # a build-only run wants the image in the local engine: it always builds
            reused = self.reuse(key, target, found)
            if reused is not None:
                return reused
        if not self.module.check_mode:
            self.login()
        resolved = [self.resolve(b) for b in bases]
        result = dict(changed=any(b['cached'] for b in resolved), image=target, bases=resolved,
                      image_id='', pushed=False, input_key=key, built=False)
        if self.module.check_mode:
            remote = self.remote_id()
            # A tag that exists may still get a new image ID from the build; that is only known by building.
            result['changed'] = result['changed'] or (p['push'] and remote is None) or bool(key)
            return result
        labels = dict(p['labels'], **({'kos.input-key': key} if key else {}))
        args = ['build', '--file', path, '--tag', target]
        for name, value in sorted(p['build_args'].items()):
            args += ['--build-arg', '%s=%s' % (name, value)]
        for name, value in sorted(labels.items()):
            args += ['--label', '%s=%s' % (name, value)]
        self.docker(*(args + [p['context']]))
        result['built'] = True
        image_id = self.docker('image', 'inspect', '--format', '{{.Id}}', target)[1].strip()
        result['image_id'] = image_id
        if p['push']:
            if self.remote_id() != image_id:
                self.docker('push', '--quiet', target)
                result['pushed'] = True
                result['changed'] = True
            if key:
                key_ref = push_reference(self.art, p['name'], key_tag(key))
                self.docker('tag', target, key_ref)
                self.docker('push', '--quiet', key_ref)
                self.docker('rmi', key_ref, check=False)
        return result

    def input_key(self, bases):
        """(key of this build's inputs, where each base was found), or ('', []) when a base cannot be
        looked up by the registry API (then the normal resolution runs and names what is missing)."""
        try:
            key, found, _why = super().input_key(bases)
        except InputKeyError as exc:
            self.module.fail_json(msg='cannot compute the build key: %s' % exc)
        return key, found

    def reuse(self, key, target, found):
        """The result when the registry holds an image of these inputs; None when it must be built."""
        state, key_id = self.registry_state(key)
        if state == BUILD:
            return None
        result = dict(changed=state == TAG, image=target, bases=found, image_id=key_id, pushed=False,
                      input_key=key, built=False)
        if state == TAG and not self.module.check_mode:
            try:
                copy_manifest(self.client, self.art, self.p['name'], key_tag(key), self.p['tag'], self.insecure)
            except ArtifactoryError as exc:
                self.module.fail_json(msg='cannot tag %s in the registry: %s' % (target, exc))
            result['pushed'] = True
        return result

    def remote_id(self, tag=None):
        try:
            return super().remote_id(tag)
        except ArtifactoryError as exc:
            self.module.fail_json(msg='cannot ask Artifactory for %s: %s' % (self.p['name'], exc))

    def close(self):
        shutil.rmtree(self.config_dir, ignore_errors=True)


def main():
    module = AnsibleModule(
        argument_spec=artifactory_argument_spec(
            context=dict(type='path', required=True),
            dockerfile=dict(type='str', default='Dockerfile'),
            name=dict(type='str', required=True),
            tag=dict(type='str', required=True),
            registry=dict(type='str', required=True),
            upstream_registry=dict(type='str', default='docker.io'),
            upstream_username=dict(type='str'),
            upstream_password=dict(type='str', no_log=True),
            cache_base=dict(type='bool', default=False),
            push=dict(type='bool', default=True),
            build_args=dict(type='dict', default={}),
            labels=dict(type='dict', default={}),
            insecure_registries=dict(type='list', elements='str', default=[]),
            docker_bin=dict(type='str', default='docker'),
            skip_unchanged=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('password', 'api_key', 'access_token')],
        supports_check_mode=True,
    )
    problems = input_problems(module.params, need_docker=not module.check_mode)
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems)
    builder = Builder(module)
    try:
        result = builder.run()
    except (ImageReferenceError, ArtifactoryError, ValueError) as exc:
        builder.close()
        module.fail_json(msg='the build stopped, nothing was pushed: %s' % exc)
    finally:
        builder.close()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
