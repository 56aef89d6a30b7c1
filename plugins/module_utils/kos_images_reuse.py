# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Reuse of a container image by the key of its inputs: the one implementation that the module
``container_image_build`` and the pre-check ``kos_images_cli container-unchanged`` share, so both
find the same image for the same inputs. Nothing here changes a registry or imports Ansible.

``input_problems(params, need_docker)``
    Every problem of the options that no argument spec catches (registries, build_args and labels
    values, timeout, retries, the context directory; the docker client when ``need_docker``).
``key_tag(key)``
    The registry tag that holds the image of an input key: ``kos-input-<key>``.
``ImageInputs(params, transport)``
    One build's inputs and what the registry holds for them (``params`` has the module's option names):
    ``dockerfile()`` -> (Dockerfile path, reference to push, the Dockerfile's external bases);
    ``base_digest(candidate)``, the config digest of a base where ``base_candidates`` looks;
    ``input_key(bases)`` -> (key, where each base was found, '') or ('', [], why there is no key);
    ``remote_id(tag)``, the config digest of ``<name>:<tag>`` in the registry;
    ``registry_state(key)`` -> (BUILD | TAG | UNCHANGED, the image ID under the key tag):
    no image of these inputs; the image exists but the requested tag does not point at it; both.
"""

from __future__ import annotations

import os
import re
import shutil

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import (
    AnsibleTransport,
    ArtifactoryClient,
    ArtifactoryError,
    manifest_config_digest,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_images import (
    ImageReferenceError,
    base_candidates,
    dockerfile_bases,
    normalize_registry,
    push_reference,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_images_key import input_key

REGISTRY_FORM = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._/-]+)?$')
KEY_TAG_PREFIX = 'kos-input-'
BUILD, TAG, UNCHANGED = 'build', 'tag', 'unchanged'


def key_tag(key):
    return KEY_TAG_PREFIX + key


def registry_problem(option, value):
    """Why a registry option cannot be used, or None (a scheme and a trailing slash are accepted)."""
    try:
        registry = normalize_registry(value)
    except ImageReferenceError:
        registry = ''
    if not REGISTRY_FORM.match(registry):
        return ('%s is %r, which names no registry: give host[:port] or host/<repository-key>, e.g. '
                'artifactory.example.com/docker-local' % (option, value))
    return None


def input_problems(params, need_docker=True):
    """Every problem of the options that no argument spec catches, before anything is created."""
    problems = []
    if need_docker and not shutil.which(params['docker_bin']):
        problems.append('docker_bin %s is not an executable on this host: install the docker client or point '
                        'docker_bin at it' % params['docker_bin'])
    for option in ('registry', 'upstream_registry'):
        problem = registry_problem(option, params[option])
        if problem:
            problems.append(problem)
    for index, registry in enumerate(params['insecure_registries']):
        problem = registry_problem('insecure_registries[%d]' % index, registry)
        if problem:
            problems.append(problem)
    for option in ('build_args', 'labels'):
        for key, value in sorted(params[option].items(), key=lambda kv: str(kv[0])):
            if isinstance(value, (dict, list)) or value is None:
                problems.append('%s.%s is %r, not a string: give a single value, e.g. %s: "1.4.2"'
                                % (option, key, value, key))
    for option in ('timeout', 'retries'):
        if params[option] is not None and params[option] < (1 if option == 'timeout' else 0):
            problems.append('%s is %d: give a positive number of %s' % (
                option, params[option], 'seconds' if option == 'timeout' else 'retries'))
    if not os.path.isdir(params['context']):
        problems.append('context %s is not a directory: give the checked-out Dockerfile repository'
                        % params['context'])
    return problems


class ImageInputs:
    def __init__(self, params, transport=AnsibleTransport):
        self.p = params
        self.art = normalize_registry(params['registry'])
        self.upstream = normalize_registry(params['upstream_registry'])
        self.insecure = [normalize_registry(r) for r in params['insecure_registries']]
        self.client = ArtifactoryClient(params, transport)
        self.upstream_client = ArtifactoryClient(dict(username=params['upstream_username'],
                                                      password=params['upstream_password'],
                                                      validate_certs=params['validate_certs'],
                                                      timeout=params['timeout'], retries=params['retries']),
                                                 transport)

    def client_for(self, source):
        return self.client if source == 'artifactory' else self.upstream_client

    def dockerfile(self):
        """(Dockerfile path, the reference to push, the external bases); ImageReferenceError says what is wrong."""
        path = os.path.join(self.p['context'], self.p['dockerfile'])
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError as exc:
            raise ImageReferenceError('cannot read the Dockerfile %s: %s' % (path, exc)) from exc
        target = push_reference(self.art, self.p['name'], self.p['tag'])
        return path, target, dockerfile_bases(text, self.p['build_args'])

    def base_digest(self, cand):
        """Config digest of one candidate of a base (registry API, nothing pulled); None when absent."""
        return manifest_config_digest(self.client_for(cand['source']), cand['registry'], cand['repository'],
                                      cand['reference'], self.insecure)

    def input_key(self, bases):
        """(key of this build's inputs, where each base was found, ''), or ('', [], why) when a base cannot be
        looked up by the registry API (then the build's own resolution runs and names what is missing).
        InputKeyError when a file of the context cannot be read."""
        digests, found = [], []
        for base in bases:
            digest, tried = None, []
            for cand in base_candidates(base, self.art, self.upstream):
                try:
                    digest = self.base_digest(cand)
                except ArtifactoryError as exc:
                    digest, error = None, str(exc)
                else:
                    error = 'not found' if digest is None else 'a manifest list, no single image ID'
                if digest:
                    found.append(dict(base=base, source=cand['source'], registry=cand['registry'], ref=cand['ref'],
                                      cached=False))
                    break
                tried.append('%s (%s): %s' % (cand['source'], cand['ref'], error))
            if not digest:
                return '', [], 'no config digest of base image %s through the registry API: %s' % (
                    base, '; '.join(tried))
            digests.append([base, digest])
        parts = dict(dockerfile=self.p['dockerfile'], build_args=self.p['build_args'], labels=self.p['labels'],
                     bases=digests)
        return input_key(parts, [self.p['context']]), found, ''

    def remote_id(self, tag=None):
        return manifest_config_digest(self.client, self.art, self.p['name'], tag or self.p['tag'], self.insecure)

    def registry_state(self, key):
        key_id = self.remote_id(key_tag(key))
        if not key_id:
            return BUILD, ''
        return (UNCHANGED if self.remote_id() == key_id else TAG), key_id
