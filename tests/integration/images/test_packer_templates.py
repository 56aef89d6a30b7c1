"""VM and bare-metal pipelines, the parts that run here: templates rendered by the roles and checked by
Packer 1.6.6, and the bare-metal flow fetch -> build -> upload with a stand-in for disk-image-create.

What is not run here: `packer build` against OpenStack, Glance download/upload, diskimage-builder
itself (it needs root, loop devices and a distribution mirror). Those steps are checked statically.
"""

import base64
import json
import os
import socket
import stat
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


FAKE_DIB = '''#!/bin/sh
# STAND-IN for disk-image-create (diskimage-builder needs root, loop devices and a mirror): records its
# arguments and DIB_* environment, checks the base image is there, writes the image file it was asked for.
set -e
out=; type=qcow2
while [ $# -gt 0 ]; do
  case "$1" in -o) out=$2; shift 2;; -t) type=$2; shift 2;; -a|--image-size|-p) shift 2;; *) shift;; esac
done
test -s "$DIB_LOCAL_IMAGE"
env | grep -E '^(DIB_|ELEMENTS_PATH)' | sort > "$out.env"
echo "bare-metal image built from $(sha256sum < "$DIB_LOCAL_IMAGE" | cut -c1-64)" > "$out.$type"
'''


def put(generic_url, path, data):
    req = urllib.request.Request('%s/%s' % (generic_url, path), data=data, method='PUT', headers={
        'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def dib_vars(tmp_path, generic_url, **extra):
    fake = tmp_path / 'disk-image-create'
    fake.write_text(FAKE_DIB)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    base = dict(dib_image_service='edge', dib_image_version='7', dib_image_elements=['debian', 'vm', 'kos-node'],
                dib_image_elements_path=[str(tmp_path / 'elements')], dib_image_env={'DIB_RELEASE': 'bookworm'},
                dib_image_base_image='base-images/debian-12.qcow2', dib_image_artifactory_url=generic_url,
                dib_image_artifactory_username=USER, dib_image_artifactory_password=PASSWORD,
                dib_image_command=str(fake), dib_image_work_dir=str(tmp_path / 'work'))
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
    # the null builder needs no cloud: the full validation runs offline
    proc = subprocess.run(['packer', 'validate', str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
    assert rc == 0 and out['stats']['localhost']['changed'] == 0, raw[-3000:]


def test_baremetal_fetch_build_upload(tmp_path, generic_url):
    put(generic_url, 'base-images/debian-12.qcow2', b'base image bytes')
    for use_packer in (False, True):
        work = tmp_path / ('packer' if use_packer else 'direct')
        variables = dib_vars(tmp_path, generic_url, dib_image_stages=['fetch', 'render', 'build', 'upload'],
                             dib_image_use_packer=use_packer, dib_image_work_dir=str(work),
                             dib_image_version='7-%s' % work.name)
        rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
        assert rc == 0, raw[-3000:]
        assert PASSWORD not in raw
        image = work / ('edge-7-%s-baremetal.qcow2' % work.name)
        assert image.read_text().startswith('bare-metal image built from ')
        env = (work / ('edge-7-%s-baremetal.env' % work.name)).read_text().split()
        assert 'DIB_RELEASE=bookworm' in env and 'ELEMENTS_PATH=%s' % (tmp_path / 'elements') in env
        upload = task_result(out, "Upload the image to Artifactory's generic repository")
        assert upload['uploaded'] is True
        assert upload['url'] == '%s/baremetal-images/edge/7-%s/%s' % (generic_url, work.name, image.name)
        rc, out, raw = run_playbook('playbooks/images/baremetal.yml', variables)
        assert rc == 0 and out['stats']['localhost']['changed'] == 0, raw[-3000:]
