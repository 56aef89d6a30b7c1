# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Command line of the image pipelines: pre-checks a Jenkins job runs before ansible-playbook.

    python -m ansible_collections.kos.platform.plugins.module_utils.kos_images_cli container-unchanged \\
        --context src/ --name services/billing --tag 1.4.2 --registry artifactory.example.com/docker-local \\
        [--dockerfile Dockerfile] [--upstream-registry docker.io] [--build-arg NAME=VALUE ...]
        [--label NAME=VALUE ...] [--build-args-json OBJECT] [--labels-json OBJECT]
        [--insecure-registry HOST:PORT ...] [--no-validate-certs] [--timeout 60] [--retries 3]
        [--junit-xml FILE]

container-unchanged asks the registry, read-only, whether kos.platform.container_image_build with
these options (push and skip_unchanged on, as the pipeline runs it) would find nothing to do: the
registry holds the image of these inputs under ``kos-input-<key>`` and the requested tag points at
it. It computes the key with the module's own code (kos_images_reuse), without Ansible, so an
unchanged run costs a Python start, the context's hash and a few registry requests.

Options take the module's values: ``--build-arg`` and ``--label`` give strings; a value the module
gets as a number (YAML ``3``) goes in ``--build-args-json`` / ``--labels-json`` (a JSON object),
since the key tells ``3`` from ``"3"``. Credentials come from the environment, never from the
command line: ``--username-env`` names the variable that holds the Artifactory user (default
KOS_REGISTRY_USERNAME), likewise ``--password-env`` (KOS_REGISTRY_PASSWORD), ``--api-key-env``
(KOS_REGISTRY_API_KEY), ``--access-token-env`` (KOS_REGISTRY_ACCESS_TOKEN),
``--upstream-username-env`` (KOS_UPSTREAM_USERNAME) and ``--upstream-password-env``
(KOS_UPSTREAM_PASSWORD); an unset variable means none, as for the playbook.

Exit status: 0 nothing to do (one line on stdout); 1 the playbook must run: a build and push, or
the requested tag added to the image of these inputs, or the pre-check cannot tell (a registry
error, a base the registry API does not find); the reason on stderr; 2 bad input (the playbook
would fail too), the message on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ansible_collections.kos.platform.plugins.module_utils.kos_artifactory import ArtifactoryError, StdlibTransport
from ansible_collections.kos.platform.plugins.module_utils.kos_images import ImageReferenceError
from ansible_collections.kos.platform.plugins.module_utils.kos_images_key import InputKeyError
from ansible_collections.kos.platform.plugins.module_utils.kos_images_reuse import (
    BUILD,
    UNCHANGED,
    ImageInputs,
    input_problems,
    key_tag,
)

PROG = 'kos-images'
UNCHANGED_RC, PLAYBOOK_RC, BAD_INPUT_RC = 0, 1, 2
CREDENTIALS = (('username', 'KOS_REGISTRY_USERNAME'), ('password', 'KOS_REGISTRY_PASSWORD'),
               ('api_key', 'KOS_REGISTRY_API_KEY'), ('access_token', 'KOS_REGISTRY_ACCESS_TOKEN'),
               ('upstream_username', 'KOS_UPSTREAM_USERNAME'), ('upstream_password', 'KOS_UPSTREAM_PASSWORD'))


class BadInput(ValueError):
    """Options the module would refuse."""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n', 1)[0], allow_abbrev=False)
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    check = commands.add_parser(
        'container-unchanged', allow_abbrev=False,
        help='exit 0 when the registry holds the image of these inputs under the requested tag, 1 when the '
             'container playbook must run, 2 on bad input')
    check.add_argument('--context', required=True, help='the checked-out Dockerfile repository (build context)')
    check.add_argument('--dockerfile', default='Dockerfile', help='Dockerfile path, relative to --context')
    check.add_argument('--name', required=True, help='image repository in the registry, e.g. services/billing')
    check.add_argument('--tag', required=True, help='the image tag the pipeline pushes')
    check.add_argument('--registry', required=True, help="Artifactory's Docker registry, host[:port][/repository-key]")
    check.add_argument('--upstream-registry', default='docker.io', help='where bases Artifactory lacks come from')
    check.add_argument('--build-arg', action='append', default=[], metavar='NAME=VALUE', help='a build argument')
    check.add_argument('--label', action='append', default=[], metavar='NAME=VALUE', help='an image label')
    check.add_argument('--build-args-json', metavar='OBJECT', help='build arguments as a JSON object')
    check.add_argument('--labels-json', metavar='OBJECT', help='labels as a JSON object')
    check.add_argument('--insecure-registry', action='append', default=[], metavar='REGISTRY',
                       help='a registry spoken to over plain HTTP')
    check.add_argument('--no-validate-certs', dest='validate_certs', action='store_false',
                       help='do not verify TLS certificates (labs only)')
    check.add_argument('--timeout', type=int, default=60, help='seconds per registry request')
    check.add_argument('--retries', type=int, default=3, help='attempts per registry request')
    for option, variable in CREDENTIALS:
        check.add_argument('--%s-env' % option.replace('_', '-'), default=variable, metavar='VARIABLE',
                           help='environment variable holding the %s (default %s)' % (option.replace('_', ' '),
                                                                                      variable))
    check.add_argument('--junit-xml', metavar='FILE', help='also write the answer as a JUnit report')
    return parser.parse_args(argv)


def values(pairs, document, option):
    """{name: value} from a JSON object (--<option>s-json) and NAME=VALUE pairs (--<option>); a pair wins."""
    found = {}
    if document is not None:
        try:
            found = json.loads(document)
        except ValueError as exc:
            raise BadInput('--%ss-json is not JSON: %s' % (option, exc)) from exc
        if not isinstance(found, dict):
            raise BadInput('--%ss-json is %r: give a JSON object, e.g. {"VERSION": "1.4.2"}' % (option, found))
    for pair in pairs:
        name, sep, value = pair.partition('=')
        if not sep or not name:
            raise BadInput('--%s %r: give NAME=VALUE' % (option, pair))
        found[name] = value
    return found


def module_params(args, environ):
    """The module's options for these arguments (credentials read from the environment)."""
    params = dict(context=args.context, dockerfile=args.dockerfile, name=args.name, tag=args.tag,
                  registry=args.registry, upstream_registry=args.upstream_registry,
                  build_args=values(args.build_arg, args.build_args_json, 'build-arg'),
                  labels=values(args.label, args.labels_json, 'label'),
                  insecure_registries=list(args.insecure_registry), validate_certs=args.validate_certs,
                  timeout=args.timeout, retries=args.retries)
    for option, _default in CREDENTIALS:
        params[option] = environ.get(getattr(args, option + '_env')) or None
    secrets = [o for o in ('password', 'api_key', 'access_token') if params[o]]
    problems = input_problems(params, need_docker=False)
    if len(secrets) > 1:
        problems.append('the environment gives %s: give one of password, api_key and access_token'
                        % ' and '.join(secrets))
    if problems:
        raise BadInput('; '.join(problems))
    return params


def container_unchanged(params):
    """(exit status, message): UNCHANGED_RC only when the registry holds this image under both tags."""
    inputs = ImageInputs(params, StdlibTransport)
    try:
        _path, target, bases = inputs.dockerfile()
    except ImageReferenceError as exc:
        raise BadInput(str(exc)) from exc
    try:
        key, _found, why = inputs.input_key(bases)
    except InputKeyError as exc:
        return PLAYBOOK_RC, 'cannot compute the build key: %s' % exc
    if not key:
        return PLAYBOOK_RC, why
    try:
        state, image_id = inputs.registry_state(key)
    except ArtifactoryError as exc:
        return PLAYBOOK_RC, 'cannot ask the registry for %s: %s' % (params['name'], exc)
    if state == UNCHANGED:
        return UNCHANGED_RC, '%s is the image of these inputs (%s, %s): nothing to build or push' % (
            target, key_tag(key), image_id)
    if state == BUILD:
        return PLAYBOOK_RC, 'no image of these inputs in the registry (%s is absent): build and push %s' % (
            key_tag(key), target)
    return PLAYBOOK_RC, 'the registry holds the image of these inputs as %s (%s), but %s does not point at it: ' \
                        'the playbook adds the tag' % (key_tag(key), image_id, target)


def write_junit(path, name, rc, message):
    """One test case: passed when the playbook is not needed or will run, failed on bad input."""
    import xml.etree.ElementTree as ET  # only when asked for: the pre-check's start time matters

    suite = ET.Element('testsuite', name='%s pre-check' % PROG, tests='1', failures=str(int(rc == BAD_INPUT_RC)))
    case = ET.SubElement(suite, 'testcase', classname='container-unchanged', name=name)
    if rc == BAD_INPUT_RC:
        ET.SubElement(case, 'failure', message=message)
    ET.SubElement(case, 'system-out').text = message
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding='utf-8', xml_declaration=True)


def main(argv=None, out=sys.stdout, err=sys.stderr, environ=None):
    args = parse_args(argv)
    try:
        rc, message = container_unchanged(module_params(args, os.environ if environ is None else environ))
    except BadInput as exc:
        rc, message = BAD_INPUT_RC, str(exc)
    if rc == UNCHANGED_RC:
        out.write('%s: unchanged: %s\n' % (PROG, message))
    elif rc == PLAYBOOK_RC:
        err.write('%s: needs the playbook: %s\n' % (PROG, message))
    else:
        err.write('%s: error: %s\n' % (PROG, message))
    if args.junit_xml:
        write_junit(args.junit_xml, '%s/%s:%s' % (args.registry, args.name, args.tag), rc, message)
    return rc


if __name__ == '__main__':
    raise SystemExit(main())
