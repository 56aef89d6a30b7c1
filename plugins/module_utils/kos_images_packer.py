# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Packer templates (JSON, Packer 1.6.6) and diskimage-builder arguments, built as data.

``image_name(service, version, fmt)``
    The Glance image name of a build (``{service}-{version}`` by default).
``openstack_template(spec)``
    A template whose openstack builder boots a VM from a base image, runs the service's build
    script (shell provisioner) and/or playbook (ansible provisioner), and snapshots it into
    Glance. Secrets stay Packer user variables marked ``sensitive-variables``.
``dib_command(spec)`` / ``dib_environment(spec)``
    The ``disk-image-create`` argument vector and its ``KEY=value`` environment (DIB_* and
    ELEMENTS_PATH); names and values are checked, nothing goes through a shell unquoted.
``dib_template(spec)``
    A template with the null builder and one shell-local provisioner that runs that command.
Every function raises ``PackerSpecError`` for input it cannot turn into a valid template.
"""

from __future__ import annotations

import re
import shlex

_ENV_NAME = re.compile(r'^[A-Z_][A-Z0-9_]*$')
_ELEMENT = re.compile(r'^[a-z0-9][a-z0-9_.-]*$')
IMAGE_TYPES = ('qcow2', 'raw', 'vhd', 'tar', 'docker', 'aci')


class PackerSpecError(ValueError):
    """A build description that cannot become a valid template."""


def image_name(service, version, fmt='{service}-{version}'):
    if not service or not str(version):
        raise PackerSpecError('service and version are required for the image name')
    name = fmt.format(service=service, version=version)
    if not re.match(r'^[A-Za-z0-9][A-Za-z0-9_.:+-]*$', name):
        raise PackerSpecError('image name %r: letters, digits and _ . : + - only' % name)
    return name


def _env_list(env, what):
    out = []
    for key in sorted(env or {}):
        if not _ENV_NAME.match(key):
            raise PackerSpecError('%s: %r is not a valid environment variable name' % (what, key))
        value = env[key]
        if isinstance(value, bool):
            value = '1' if value else '0'
        out.append('%s=%s' % (key, value))
    return out


def openstack_template(spec):
    """spec: service, version, source_image, flavor, networks, ssh_username, and optionally cloud,
    name_format, build_script, script_env, playbook, ansible_extra_arguments, floating_ip_network,
    security_groups, metadata, visibility, ssh_timeout, use_blockstorage_volume, volume_size."""
    for key in ('source_image', 'flavor', 'ssh_username'):
        if not spec.get(key):
            raise PackerSpecError('%s is required' % key)
    if not spec.get('build_script') and not spec.get('playbook'):
        raise PackerSpecError('give a build_script or a playbook: a VM image needs its service installed')
    name = image_name(spec.get('service'), spec.get('version'), spec.get('name_format') or '{service}-{version}')
    builder = {
        'type': 'openstack',
        'image_name': name,
        'source_image_name': spec['source_image'],
        'flavor': spec['flavor'],
        'ssh_username': spec['ssh_username'],
        'ssh_timeout': spec.get('ssh_timeout') or '15m',
        'networks': list(spec.get('networks') or []),
        'image_visibility': spec.get('visibility') or 'private',
        'metadata': dict({'kos_service': spec['service'], 'kos_version': str(spec['version'])},
                         **(spec.get('metadata') or {})),
    }
    if spec.get('cloud'):
        builder['cloud'] = '{{user `cloud`}}'
    if spec.get('floating_ip_network'):
        builder['floating_ip_network'] = spec['floating_ip_network']
    if spec.get('security_groups'):
        builder['security_groups'] = list(spec['security_groups'])
    if spec.get('use_blockstorage_volume'):
        builder['use_blockstorage_volume'] = True
        builder['volume_size'] = int(spec.get('volume_size') or 20)
    if not builder['networks']:
        del builder['networks']
    provisioners = []
    if spec.get('build_script'):
        provisioners.append({
            'type': 'shell',
            'script': spec['build_script'],
            'environment_vars': _env_list(spec.get('script_env'), 'script_env'),
            'execute_command': "chmod +x {{ .Path }}; sudo -E env {{ .Vars }} {{ .Path }}",
        })
    if spec.get('playbook'):
        provisioners.append({
            'type': 'ansible',
            'playbook_file': spec['playbook'],
            'user': spec['ssh_username'],
            'extra_arguments': list(spec.get('ansible_extra_arguments') or []),
        })
    template = {
        'variables': {'cloud': spec.get('cloud') or ''},
        'builders': [builder],
        'provisioners': provisioners,
    }
    return template


def dib_environment(spec):
    """``KEY=value`` list: DIB_* variables, ELEMENTS_PATH, DIB_LOCAL_IMAGE for the base image."""
    env = {}
    for key, value in (spec.get('env') or {}).items():
        if not key.startswith('DIB_') and key not in ('ELEMENTS_PATH', 'ARCH', 'TMP_DIR'):
            raise PackerSpecError('dib env %r: only DIB_*, ELEMENTS_PATH, ARCH and TMP_DIR are passed' % key)
        env[key] = value
    if spec.get('elements_path'):
        env['ELEMENTS_PATH'] = ':'.join(spec['elements_path'])
    if spec.get('base_image'):
        env['DIB_LOCAL_IMAGE'] = spec['base_image']
    return _env_list(env, 'dib env')


def dib_command(spec):
    """Argument vector of disk-image-create. spec: elements, output (path without extension),
    image_type (qcow2), and optionally arch, image_size (GB), packages, extra_args, no_tmpfs."""
    elements = list(spec.get('elements') or [])
    if not elements:
        raise PackerSpecError('at least one diskimage-builder element is required')
    bad = [e for e in elements if not _ELEMENT.match(e)]
    if bad:
        raise PackerSpecError('invalid element names: %s' % ', '.join(bad))
    if not spec.get('output'):
        raise PackerSpecError('output (image path without extension) is required')
    image_type = spec.get('image_type') or 'qcow2'
    if image_type not in IMAGE_TYPES:
        raise PackerSpecError('image_type %r is not one of %s' % (image_type, ', '.join(IMAGE_TYPES)))
    argv = [spec.get('command') or 'disk-image-create', '-o', spec['output'], '-t', image_type]
    if spec.get('arch'):
        argv += ['-a', spec['arch']]
    if spec.get('image_size'):
        argv += ['--image-size', str(spec['image_size'])]
    if spec.get('packages'):
        argv += ['-p', ','.join(spec['packages'])]
    if spec.get('no_tmpfs'):
        argv.append('--no-tmpfs')
    argv += list(spec.get('extra_args') or [])
    return argv + elements


def dib_template(spec):
    """Null builder + shell-local: Packer drives diskimage-builder on the build host itself."""
    argv = dib_command(spec)
    return {
        'builders': [{'type': 'null', 'communicator': 'none'}],
        'provisioners': [{
            'type': 'shell-local',
            'environment_vars': dib_environment(spec),
            'inline': ['set -e', ' '.join(shlex.quote(a) for a in argv)],
        }],
    }
