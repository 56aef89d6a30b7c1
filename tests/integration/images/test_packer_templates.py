"""VM and bare-metal pipelines, the parts that need no cloud: templates rendered by the roles and checked
by Packer 1.6.6, the bare-metal base image fetched from the Artifactory stand-in, and the bare-metal
input key (the real diskimage-builder is asked for its version; the build itself, Glance and the
skip of unchanged work run in tests/integration/cloud/test_images_glance.py against the test cloud).
"""

import base64
import hashlib
import json
import os
import socket
import subprocess
import urllib.request

from conftest import run_playbook, task_result

USER, PASSWORD = 'kos', 'kos-it-secret'


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def vm_vars(tmp_path, **extra):
    repo = tmp_path / 'packer-repo'
    repo.mkdir(exist_ok=True)
    (repo / 'billing.sh').write_text('#!/bin/sh\nset -e\necho install billing "$APP_VERSION"\n')
    base = dict(packer_image_stages=['render'], packer_image_service='billing', packer_image_version='1.4.2',
                packer_image_source_image='debian-12', packer_image_flavor='m1.small',
                packer_image_networks=['6f1c2d6e-0000-4000-8000-000000000001'], packer_image_build_script='billing.sh',
                packer_image_script_env={'APP_VERSION': '1.4.2'}, packer_image_repo_dir=str(repo),
                packer_image_work_dir=str(tmp_path / 'work'), packer_image_cloud='kos-build')
    base.update(extra)
    return base


def test_vm_template_renders_validates_and_is_idempotent(tmp_path):
    variables = vm_vars(tmp_path)
    rc, out, raw = run_playbook('playbooks/images/vm.yml', variables)
    assert rc == 0, raw[-3000:]
    path = tmp_path / 'work' / 'billing-1.4.2-packer.json'
    template = json.loads(path.read_text())
    builder = template['builders'][0]
    assert builder['type'] == 'openstack' and builder['image_name'] == 'billing-1.4.2'
    assert builder['source_image_name'] == 'debian-12' and builder['cloud'] == '{{user `cloud`}}'
    assert template['variables']['cloud'] == 'kos-build'
    assert template['provisioners'][0]['script'] == 'billing.sh'

    # Beyond -syntax-only: the openstack builder's full validation, with Keystone at a closed loopback
    # port. Unknown keys and missing fields are reported before the login, so the login failure
    # must be the only error.
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(OS_AUTH_URL='http://127.0.0.1:%d/v3' % port, OS_USERNAME='u', OS_PASSWORD='p',
               OS_PROJECT_NAME='p', OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default')
    proc = subprocess.run(['packer', 'validate', '-var', 'cloud=', str(path)], cwd=variables['packer_image_repo_dir'],
                          env=env, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert '127.0.0.1:%d' % port in output and 'connection refused' in output, output
    assert 'unknown configuration key' not in output and output.count('* ') == 1, output

    rc, out, raw = run_playbook('playbooks/images/vm.yml', variables)
    assert rc == 0 and out['stats']['localhost']['changed'] == 0, raw[-3000:]


def test_vm_role_refuses_a_build_without_script_or_playbook(tmp_path):
    rc, out, raw = run_playbook('playbooks/images/vm.yml', vm_vars(tmp_path, packer_image_build_script=''))
    assert rc != 0
    assert 'build_script or a playbook' in raw


def put(generic_url, path, data):
    req = urllib.request.Request('%s/%s' % (generic_url, path), data=data, method='PUT', headers={
        'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def dib_vars(tmp_path, generic_url, **extra):
    base = dict(dib_image_service='edge', dib_image_version='7', dib_image_elements=['debian-minimal', 'kos-node'],
                dib_image_elements_path=[str(tmp_path / 'elements')], dib_image_env={'DIB_RELEASE': 'bookworm'},
                dib_image_base_image='base-images/debian-12.qcow2', dib_image_artifactory_url=generic_url,
                dib_image_artifactory_username=USER, dib_image_artifactory_password=PASSWORD,
                dib_image_work_dir=str(tmp_path / 'work'))
    (tmp_path / 'elements' / 'kos-node').mkdir(parents=True, exist_ok=True)
    (tmp_path / 'elements' / 'kos-node' / 'element-deps').write_text('debian-minimal\n')
    base.update(extra)
    return base


def test_baremetal_template_renders_and_passes_full_validate(tmp_path, generic_url):
    variables = dib_vars(tmp_path, generic_url, dib_image_stages=['render'])
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
    assert rc == 0, raw[-3000:]
    path = tmp_path / 'work' / 'edge-7-baremetal-packer.json'
    template = json.loads(path.read_text())
    prov = template['provisioners'][0]
    assert prov['type'] == 'shell-local'
    assert 'DIB_RELEASE=bookworm' in prov['environment_vars']
    assert 'DIB_LOCAL_IMAGE=%s/base-debian-12.qcow2' % (tmp_path / 'work') in prov['environment_vars']
    assert '--no-tmpfs' in prov['inline'][1]
    # the null builder needs no cloud: the full validation runs offline
    proc = subprocess.run(['packer', 'validate', str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
    assert rc == 0 and out['stats']['localhost']['changed'] == 0, raw[-3000:]


def test_baremetal_fetch_puts_the_base_image_into_the_key(tmp_path, generic_url):
    put(generic_url, 'base-images/debian-12.qcow2', b'base image bytes')
    variables = dib_vars(tmp_path, generic_url, dib_image_stages=['fetch'])
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
    assert rc == 0, raw[-3000:]
    assert PASSWORD not in raw
    assert (tmp_path / 'work' / 'base-debian-12.qcow2').read_bytes() == b'base image bytes'
    key = task_result(out, "Compute the build's input key")['ansible_facts']['dib_image_input_key']
    version = task_result(out, 'Read the diskimage-builder version (an input of the build key)')['stdout']
    assert version.strip() == '3.43.0'

    # a new base image (same name) changes the key; so does an element's content
    put(generic_url, 'base-images/debian-12.qcow2', b'base image bytes, rebuilt')
    pinned = 'sha256:' + hashlib.sha256(b'base image bytes, rebuilt').hexdigest()
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', dict(variables, dib_image_base_checksum=pinned))
    assert rc == 0, raw[-3000:]
    key2 = task_result(out, "Compute the build's input key")['ansible_facts']['dib_image_input_key']
    assert (tmp_path / 'work' / 'base-debian-12.qcow2').read_bytes() == b'base image bytes, rebuilt'
    assert key2 != key
    (tmp_path / 'elements' / 'kos-node' / 'element-deps').write_text('debian-minimal\nvm\n')
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
    assert rc == 0, raw[-3000:]
    assert task_result(out, "Compute the build's input key")['ansible_facts']['dib_image_input_key'] not in (key, key2)
