"""playbooks/tenancy.yml end to end on the sample inventory (RBAC mode), against the real Keystone.

Preflight only runs set_fact on the controller and the converter runs on localhost, so no
sample host is contacted; applying to a cluster (tenancy_apply) stays off: no API server here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import yaml
from conftest import TOP, admin_auth, load_docs


def test_tenancy_playbook_writes_the_cluster_files(ids, tmp_path):
    inventory = tmp_path / 'inventory'
    shutil.copytree(os.path.join(TOP, 'inventories', 'sample'), inventory)
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text(yaml.safe_dump({'clouds': {'kos-it': {'auth': admin_auth(), 'region_name': 'RegionOne'}}}))
    out = tmp_path / 'out'
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds), ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'),
               ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_CALLBACKS_ENABLED='ansible.posix.json')
    cmd = ['ansible-playbook', '-i', str(inventory / 'hosts.yml'), os.path.join(TOP, 'playbooks', 'tenancy.yml'),
           '-e', json.dumps({'tenancy_cloud': 'kos-it', 'tenancy_output_dir': str(out)})]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, [t['hosts'] for p in report['plays'] for t in p['tasks']
                                  if any(h.get('failed') for h in t['hosts'].values())]
    assert sorted(os.listdir(out / 'namespaces')) == ['ns-analytics-ml.yaml', 'ns-analytics.yaml',
                                                      'ns-data-lake.yaml', 'ns-web-shop.yaml']
    assert not (out / 'abac-policy.jsonl').exists()  # the sample model authorizes with RBAC
    assert [d['metadata']['name'] for d in load_docs(out / 'keystone-auth.yaml')] == ['k8s-auth-policy',
                                                                                    'keystone-sync-policy']
    assert report['stats']['localhost']['changed'] == 1

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)['stats']['localhost']['changed'] == 0
