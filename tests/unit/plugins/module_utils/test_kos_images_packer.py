"""Unit tests of the Packer templates and diskimage-builder arguments (kos_images_packer)."""

import json
import shlex
import shutil
import subprocess

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_images_packer import (
    PackerSpecError,
    dib_command,
    dib_environment,
    dib_template,
    image_name,
    openstack_template,
)

VM = dict(service='billing', version='1.4.2', source_image='debian-12', flavor='m1.small', ssh_username='debian',
          networks=['b1b1c0de-0000-4000-8000-000000000001'], build_script='build.sh',
          script_env={'APP_VERSION': '1.4.2'}, cloud='kos')


def test_image_name():
    assert image_name('billing', '1.4.2') == 'billing-1.4.2'
    assert image_name('billing', 7, 'svc-{service}_{version}') == 'svc-billing_7'
    for bad in (('', '1'), ('a b', '1')):
        with pytest.raises(PackerSpecError):
            image_name(*bad)


def test_openstack_template_shape():
    tpl = openstack_template(VM)
    builder = tpl['builders'][0]
    assert builder['type'] == 'openstack' and builder['image_name'] == 'billing-1.4.2'
    assert builder['source_image_name'] == 'debian-12' and builder['cloud'] == '{{user `cloud`}}'
    assert builder['metadata'] == {'kos_service': 'billing', 'kos_version': '1.4.2'}
    assert tpl['provisioners'][0]['environment_vars'] == ['APP_VERSION=1.4.2']
    assert tpl['variables'] == {'cloud': 'kos'}


def test_openstack_template_ansible_and_volume():
    spec = dict(VM, build_script=None, playbook='site.yml', use_blockstorage_volume=True, networks=[])
    tpl = openstack_template(spec)
    assert [p['type'] for p in tpl['provisioners']] == ['ansible']
    assert tpl['builders'][0]['volume_size'] == 20 and 'networks' not in tpl['builders'][0]


@pytest.mark.parametrize('change, match', [
    (dict(build_script=None), 'build_script or a playbook'),
    (dict(flavor=''), 'flavor'),
    (dict(script_env={'bad-name': 1}), 'environment variable'),
])
def test_openstack_template_rejects(change, match):
    with pytest.raises(PackerSpecError, match=match):
        openstack_template(dict(VM, **change))


DIB = dict(elements=['ubuntu', 'vm', 'kos-node'], output='/var/tmp/out/bm-1', image_type='qcow2',
           arch='amd64', image_size=8, packages=['vim', 'curl'], base_image='/var/tmp/base.qcow2',
           elements_path=['/srv/elements', '/opt/more'], env={'DIB_RELEASE': 'jammy', 'DIB_DEV_USER_USERNAME': 'ops'})


def test_dib_command_and_environment():
    assert dib_command(DIB) == ['disk-image-create', '-o', '/var/tmp/out/bm-1', '-t', 'qcow2', '-a', 'amd64',
                                '--image-size', '8', '-p', 'vim,curl', 'ubuntu', 'vm', 'kos-node']
    assert dib_environment(DIB) == ['DIB_DEV_USER_USERNAME=ops', 'DIB_LOCAL_IMAGE=/var/tmp/base.qcow2',
                                    'DIB_RELEASE=jammy', 'ELEMENTS_PATH=/srv/elements:/opt/more']


@pytest.mark.parametrize('change, match', [
    (dict(elements=[]), 'element'),
    (dict(elements=['ok', 'bad;rm -rf']), 'invalid element'),
    (dict(image_type='iso9660'), 'image_type'),
    (dict(output=''), 'output'),
])
def test_dib_command_rejects(change, match):
    with pytest.raises(PackerSpecError, match=match):
        dib_command(dict(DIB, **change))


def test_dib_environment_only_passes_dib_variables():
    with pytest.raises(PackerSpecError, match='only DIB_'):
        dib_environment(dict(DIB, env={'LD_PRELOAD': '/x.so'}))


def test_dib_template_quotes_the_command():
    tpl = dib_template(dict(DIB, output='/var/tmp/my out/bm'))
    line = tpl['provisioners'][0]['inline'][1]
    assert shlex.split(line)[2] == '/var/tmp/my out/bm'
    assert tpl['builders'] == [{'type': 'null', 'communicator': 'none'}]


@pytest.mark.skipif(not shutil.which('packer'), reason='packer is not installed (the images suite installs it)')
@pytest.mark.parametrize('template', [openstack_template(VM), dib_template(DIB)])
def test_templates_pass_packer_validate_syntax_only(tmp_path, template):
    path = tmp_path / 'template.json'
    path.write_text(json.dumps(template))
    (tmp_path / 'build.sh').write_text('#!/bin/sh\n')
    proc = subprocess.run(['packer', 'validate', '-syntax-only', str(path)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
