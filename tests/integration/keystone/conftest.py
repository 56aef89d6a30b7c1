"""Fixtures of the Keystone tenancy suite (run by run.sh, which starts the real Keystone)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, '.collections'))

import seed as seed_mod  # noqa: E402

KEYSTONE_URL = seed_mod.URL
sys.path.insert(0, os.path.join(TOP, 'plugins', 'module_utils'))
import kos_versions  # noqa: E402  (the collection's version matrix, plain Python)

# Files are validated against the schema of the Kubernetes minor the collection deploys by default.
K8S_VERSION = kos_versions.minor_of(kos_versions.DEFAULT_VERSION) + '.0'


@pytest.fixture(scope='session')
def admin_conn():
    conn = seed_mod.admin_connection()
    try:
        conn.identity.get_domain('default')
    except Exception as exc:  # noqa: BLE001 - the suite cannot run at all
        pytest.fail('Keystone is not reachable at %s (start the suite with run.sh): %s' % (KEYSTONE_URL, exc))
    return conn


@pytest.fixture(scope='session')
def ids(admin_conn):
    return seed_mod.seed(admin_conn)


@pytest.fixture(scope='session')
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp('tenancy-out')


def admin_auth(**overrides):
    auth = seed_mod.admin_auth()
    auth.update(overrides)
    return auth


def run_module(tmp, args, check=False, diff=False):
    """Runs kos.platform.keystone_tenancy through ansible-playbook; returns the task result."""
    playbook = [{
        'name': 'tenancy', 'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'keystone_tenancy', 'kos.platform.keystone_tenancy': args, 'register': 'result',
                   'ignore_errors': True}],
    }]
    path = os.path.join(str(tmp), 'playbook-%s.yml' % hashlib.sha1(json.dumps(args, sort_keys=True).encode())
                        .hexdigest()[:10])
    with open(path, 'w') as handle:
        yaml.safe_dump(playbook, handle)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CALLBACKS_ENABLED='ansible.posix.json',
               ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'))
    cmd = ['ansible-playbook', '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, path]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('ansible-playbook output is not JSON (rc %s):\n%s\n%s'
                             % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])) from None
    return report['plays'][0]['tasks'][0]['hosts']['localhost']


def tree(path):
    """{relative path: sha256} of every file under path (to prove nothing was written)."""
    out = {}
    for root, _dirs, files in os.walk(str(path)):
        for name in files:
            full = os.path.join(root, name)
            with open(full, 'rb') as handle:
                out[os.path.relpath(full, str(path))] = hashlib.sha256(handle.read()).hexdigest()
    return out


def load_docs(path):
    with open(path) as handle:
        return [d for d in yaml.safe_load_all(handle) if d is not None]


def kubernetes_validate(*paths):
    exe = os.path.join(os.path.dirname(sys.executable), 'kubernetes-validate')
    return subprocess.run([exe, '--strict', '--quiet', '-k', K8S_VERSION, *map(str, paths)],
                          capture_output=True, text=True, timeout=120)
