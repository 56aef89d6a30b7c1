"""The keystone_auth role, rendered for real on this host into a scratch root and checked statically.

The API server and k8s-keystone-auth cannot run here (no Kubernetes server binaries or images),
so the role's files are validated the way the API server would read them: the static pod with
kubernetes-validate --strict, the kubeconfigs with kubectl, the ABAC file line by line. This is
the role's test in place of a molecule scenario (it needs no container: every file it writes is
a plain file on the control plane).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import TOP, admin_auth, kubernetes_validate, run_module

sys.path.insert(0, os.path.join(TOP, 'plugins', 'module_utils'))
import kos_versions  # noqa: E402  (the collection's version matrix, plain Python)

KEYSTONE_URL = 'https://keystone.example.com:5000/v3'
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp('keystone-auth-root')
    pki = base / 'etc/kubernetes/pki'
    pki.mkdir(parents=True)
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
                    '-keyout', str(pki / 'ca.key'), '-out', str(pki / 'ca.crt'), '-days', '1',
                    '-subj', '/CN=kos-test-ca'], check=True, capture_output=True)
    (base / 'etc/kubernetes/admin.conf').write_text('apiVersion: v1\nkind: Config\n')
    bin_dir = base / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'crictl').write_text(CRICTL % sys.executable)
    (bin_dir / 'crictl').chmod(0o755)
    return base


# STAND-IN (a mock, named as such): crictl of a container runtime running kube-apiserver and
# k8s-keystone-auth, which cannot run here. Containers are {name: id} in crictl-state.json next to
# the script; `stop` makes "kubelet" start a new container (id + "0"), unless the name is listed
# in "crash"; KOS_CRICTL_FAIL makes every call fail as when the runtime is down. Calls go to crictl.log.
CRICTL = """#!%s
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
state_path = os.path.join(here, 'crictl-state.json')
state = json.load(open(state_path)) if os.path.exists(state_path) else {}
with open(os.path.join(here, 'crictl.log'), 'a') as log:
    log.write(' '.join(sys.argv[1:]) + '\\n')
if os.environ.get('KOS_CRICTL_FAIL'):
    sys.exit('crictl: validate service connection: connection refused')
if sys.argv[1] == 'ps':
    name = sys.argv[sys.argv.index('--name') + 1].strip('^$')
    if state.get(name):
        print(state[name])
elif sys.argv[1] == 'stop':
    for name, cid in list(state.items()):
        if cid in sys.argv[2:]:
            state[name] = '' if name in state.get('crash', []) else cid + '0'
    json.dump(state, open(state_path, 'w'))
"""


def run_role(root, mode, check=False, extra=None, env_extra=None):
    inventory_dir = root / 'inventory'
    inventory_dir.mkdir(exist_ok=True)
    (inventory_dir / 'hosts.yml').write_text(yaml.safe_dump({'all': {'hosts': {'cp1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}))
    kos_cluster = {
        'name': 'kos-test', 'artifact_mirror': 'https://artifactory.example.com/artifactory',
        # local_proxy mode: on the nodes the API is 127.0.0.1:6444; users off the nodes get external_url.
        'api': {'endpoint': '127.0.0.1', 'port': 6443, 'url': 'https://127.0.0.1:6444',
                'external_url': 'https://192.0.2.10:6443'},
        'auth': {'keystone': True, 'authorization_mode': mode, 'dir': str(root / 'etc/kubernetes/keystone'),
                 'keystone_auth_port': 8443},
        # The role takes its image tag from the version matrix (the default Kubernetes minor's).
        'versions': kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION),
    }
    variables = {
        'kos_cluster': kos_cluster,
        'keystone_auth_keystone_url': KEYSTONE_URL,
        'keystone_auth_manifest_dir': str(root / 'etc/kubernetes/manifests'),
        'keystone_auth_ca_file': str(root / 'etc/kubernetes/pki/ca.crt'),
        'keystone_auth_kubeconfig': str(root / 'etc/kubernetes/admin.conf'),
        'keystone_auth_user_kubeconfig': str(root / 'artifacts/kos-test-keystone.kubeconfig'),
    }
    variables.update(extra or {})
    (root / 'vars.json').write_text(json.dumps(variables))
    playbook = root / 'keystone_auth.yml'
    playbook.write_text(yaml.safe_dump([{'name': 'keystone_auth', 'hosts': 'cp1', 'gather_facts': False,
                                         'roles': ['kos.platform.keystone_auth']}]))
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory_dir / 'hosts.yml'),
           '-e', '@' + str(root / 'vars.json'), str(playbook)]
    if check:
        cmd.append('--check')
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
               ANSIBLE_CALLBACKS_ENABLED='ansible.posix.json', ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'),
               ANSIBLE_ROLES_PATH=os.path.join(TOP, 'roles'),
               PATH=str(root / 'bin') + os.pathsep + os.environ['PATH'])
    env.update(env_extra or {})
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    stats = dict(report['stats']['cp1'])
    stats['messages'] = [t['task']['name'] + ': ' + str(t['hosts']['cp1'].get('msg'))
                         for play in report['plays'] for t in play['tasks'] if t['hosts']['cp1'].get('failed')]
    return proc.returncode, stats, report


def kubectl_view(path):
    proc = subprocess.run([os.path.join(BIN, 'kubectl'), 'config', 'view', '--raw', '-o', 'json',
                           '--kubeconfig', str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_rbac_mode_renders_valid_files_and_is_idempotent(root):
    rc, stats, _ = run_role(root, 'RBAC')
    assert rc == 0 and stats['failures'] == 0, stats['messages']
    auth_dir = root / 'etc/kubernetes/keystone'
    pod = root / 'etc/kubernetes/manifests/k8s-keystone-auth.yaml'
    proc = kubernetes_validate(pod)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    spec = yaml.safe_load(pod.read_text())['spec']
    container = spec['containers'][0]
    # The tag is the cloud-provider-openstack release the version matrix pairs with the default Kubernetes
    release = kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION)['cloud_provider_openstack']
    assert release.startswith('v'), release
    assert container['image'] == 'artifactory.example.com/registry.k8s.io/provider-os/k8s-keystone-auth:' + release
    assert '--keystone-url=%s' % KEYSTONE_URL in container['args']
    assert '--listen=127.0.0.1:8443' in container['args']
    assert not any(a.startswith('--policy-configmap-name') for a in container['args'])  # RBAC: no webhook authz
    assert spec['hostNetwork'] is True
    # Starts on a default run: k8s-keystone-auth exits at start when a named ConfigMap is missing
    # (cloud-provider-openstack pkg/identity/keystone/keystone.go NewKeystoneAuth), so none is named,
    # and without ConfigMaps it needs no kubeconfig: admin.conf is not mounted.
    assert not any('configmap' in a or a.startswith('--kubeconfig') for a in container['args'])
    assert all('admin.conf' not in v['hostPath']['path'] for v in spec['volumes'])

    authn = kubectl_view(auth_dir / 'webhook-authn.kubeconfig')
    assert authn['clusters'][0]['cluster']['server'] == 'https://127.0.0.1:8443/webhook'
    assert authn['clusters'][0]['cluster']['tls-server-name'] == 'kubernetes'
    assert not (auth_dir / 'webhook-authz.kubeconfig').exists()
    assert not (auth_dir / 'abac-policy.jsonl').exists()
    assert oct((auth_dir / 'webhook-authn.kubeconfig').stat().st_mode & 0o777) == '0o600'

    user = kubectl_view(root / 'artifacts/kos-test-keystone.kubeconfig')
    exec_ = user['users'][0]['user']['exec']
    assert exec_['command'] == 'client-keystone-auth'
    assert exec_['apiVersion'] == 'client.authentication.k8s.io/v1beta1'
    assert {e['name']: e['value'] for e in exec_['env']} == {'OS_AUTH_URL': KEYSTONE_URL, 'OS_DOMAIN_NAME': 'Default'}
    assert user['clusters'][0]['cluster']['server'] == 'https://192.0.2.10:6443'
    assert user['clusters'][0]['cluster']['certificate-authority-data']

    rc, stats, _ = run_role(root, 'RBAC')
    assert rc == 0 and stats['changed'] == 0, stats


def test_webhook_mode_adds_the_authorizer(root):
    rc, stats, _ = run_role(root, 'Webhook')
    assert rc == 0 and stats['failures'] == 0, stats['messages']
    authz = kubectl_view(root / 'etc/kubernetes/keystone/webhook-authz.kubeconfig')
    assert authz['clusters'][0]['cluster']['server'] == 'https://127.0.0.1:8443/webhook'
    pod = root / 'etc/kubernetes/manifests/k8s-keystone-auth.yaml'
    spec = yaml.safe_load(pod.read_text())['spec']
    policy_file = root / 'etc/kubernetes/keystone/keystone-auth-policy.json'
    assert '--keystone-policy-file=%s' % policy_file in spec['containers'][0]['args']
    assert not any('configmap' in a for a in spec['containers'][0]['args'])
    assert json.loads(policy_file.read_text()) == []  # shipped empty: the webhook starts, denies until tenancy
    mounted = {v['hostPath']['path']: v['hostPath']['type'] for v in spec['volumes']}
    assert mounted[str(policy_file)] == 'File'
    assert kubernetes_validate(pod).returncode == 0


def test_webhook_policy_from_the_tenancy_output_restarts_the_webhook(root, ids, tmp_path):
    """playbooks/tenancy.yml's step: the converter's policy (real Keystone) becomes the policy file."""
    manifest = tmp_path / 'keystone-auth.yaml'
    made = run_module(tmp_path, {'auth': admin_auth(), 'keystone_auth_file': str(manifest)})
    assert not made.get('failed'), made.get('msg')
    (root / 'bin' / 'crictl-state.json').write_text(json.dumps({'k8s-keystone-auth': 'w1'}))
    rc, stats, _ = run_role(root, 'Webhook', extra={'keystone_auth_policy_source': str(manifest)})
    assert rc == 0 and stats['failures'] == 0, stats['messages']
    policy_file = root / 'etc/kubernetes/keystone/keystone-auth-policy.json'
    expected = json.loads(yaml.safe_load_all(manifest.read_text()).__next__()['data']['policies'])
    assert json.loads(policy_file.read_text()) == expected and len(expected) == 12
    assert 'stop w1' in (root / 'bin' / 'crictl.log').read_text()
    assert json.loads((root / 'bin' / 'crictl-state.json').read_text())['k8s-keystone-auth'] == 'w10'
    rc, stats, _ = run_role(root, 'Webhook', extra={'keystone_auth_policy_source': str(manifest)})
    assert rc == 0 and stats['changed'] == 0, stats


def test_a_failed_api_server_restart_fails_the_play(root):
    """Issue 13: the restart had failed_when: false, so a failed restart kept the old flags silently."""
    rc, stats, _ = run_role(root, 'RBAC', extra={'keystone_auth_tls_server_name': 'kubernetes.default'},
                            env_extra={'KOS_CRICTL_FAIL': '1'})
    assert rc != 0 and stats['failures'] == 1, stats
    assert [m.split(':')[0] for m in stats['messages']] == [
        'kos.platform.keystone_auth ', ], stats['messages']
    assert 'Find the running container of kube-apiserver' in stats['messages'][0]
    # A container that does not come back fails too (after keystone_auth_restart_timeout).
    (root / 'bin' / 'crictl-state.json').write_text(json.dumps({'kube-apiserver': 'a1', 'crash': ['kube-apiserver']}))
    rc, stats, _ = run_role(root, 'RBAC', extra={'keystone_auth_tls_server_name': 'kubernetes',
                                                 'keystone_auth_restart_timeout': 5})
    assert rc != 0 and stats['failures'] == 1, stats
    # And a healthy restart passes: stopped once, running again under a new ID.
    (root / 'bin' / 'crictl-state.json').write_text(json.dumps({'kube-apiserver': 'a2'}))
    rc, stats, _ = run_role(root, 'RBAC', extra={'keystone_auth_tls_server_name': 'kubernetes.default.svc'})
    assert rc == 0 and stats['failures'] == 0, stats['messages']
    assert json.loads((root / 'bin' / 'crictl-state.json').read_text())['kube-apiserver'] == 'a20'
    rc, stats, _ = run_role(root, 'RBAC')
    assert rc == 0, stats['messages']


def test_abac_mode_installs_the_generated_policy(root, ids, tmp_path):
    # Back to a bare install: a policy without tenant lines (and without the former nonResourcePath "*"
    # line), so the API server can start before tenancy ran; discovery comes from RBAC's bootstrap roles.
    rc, stats, _ = run_role(root, 'ABAC')
    assert rc == 0 and stats['failures'] == 0, stats['messages']
    installed = root / 'etc/kubernetes/keystone/abac-policy.jsonl'
    assert [line for line in installed.read_text().splitlines() if not line.startswith('#')] == []
    assert not (root / 'etc/kubernetes/keystone/webhook-authz.kubeconfig').exists()

    source = tmp_path / 'abac.jsonl'  # made by the module from the real Keystone
    made = run_module(tmp_path, {'auth': admin_auth(), 'abac_file': str(source)})
    assert made['changed'] is True and len(source.read_text().splitlines()) > 5
    rc, stats, _ = run_role(root, 'ABAC', check=True, extra={'keystone_auth_abac_source': str(source)})
    assert rc == 0 and stats['changed'] >= 1
    assert len(installed.read_text().splitlines()) == 1, 'check mode changed the policy'
    rc, stats, _ = run_role(root, 'ABAC', extra={'keystone_auth_abac_source': str(source)})
    assert rc == 0 and stats['failures'] == 0
    assert installed.read_text() == source.read_text()
    rc, stats, _ = run_role(root, 'ABAC', extra={'keystone_auth_abac_source': str(source)})
    assert rc == 0 and stats['changed'] == 0, stats


def test_abac_mode_refuses_a_file_that_is_not_a_policy(root, tmp_path):
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"kind": "Policy"}\n')
    installed = root / 'etc/kubernetes/keystone/abac-policy.jsonl'
    before = installed.read_text()
    rc, stats, _ = run_role(root, 'ABAC', extra={'keystone_auth_abac_source': str(bad)})
    assert rc != 0 and stats['failures'] == 1
    assert installed.read_text() == before


def test_missing_keystone_url_fails_before_any_change(root):
    rc, stats, report = run_role(root, 'RBAC', extra={'keystone_auth_keystone_url': ''})
    assert rc != 0
    failed = [t for t in report['plays'][0]['tasks'] if t['hosts']['cp1'].get('failed')]
    assert 'keystone_auth_keystone_url' in failed[0]['hosts']['cp1']['msg']
