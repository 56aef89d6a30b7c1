"""The lab inventory's controller-side paths do not depend on where the playbook or the inventory
lives: site.yml (top level), the day-two playbooks (playbooks/) and hosts added from a second
inventory (tests/integration/lab/node_add) must all find the same CA directory, or a playbook would
make a second CA and issue certificates the cluster does not trust."""

import json
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        var: pki_ca_dir
"""


def rendered_ca_dir(playbook_dir):
    playbook_dir.mkdir(parents=True, exist_ok=True)
    play = playbook_dir / 'show.yml'
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'), ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(TOP, 'inventories', 'lab'),
                           '-i', os.path.join(TOP, 'tests', 'integration', 'lab', 'node_add'),
                           str(play)], capture_output=True, text=True, env=env, cwd=TOP, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # ansible.cfg also enables profile_tasks, which prints lines around the JSON document.
    document = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('\n{') + 1:])[0]
    result = document['plays'][0]['tasks'][0]['hosts']
    return {host: r['pki_ca_dir'] for host, r in result.items()}


def test_lab_ca_dir_is_the_same_from_any_playbook_directory(tmp_path):
    top_level = rendered_ca_dir(tmp_path / 'a')
    nested = rendered_ca_dir(tmp_path / 'b' / 'playbooks')
    assert top_level == nested
    assert 'kos-lab-node4' in top_level and 'kos-lab-cp1' in top_level  # both inventories' hosts
    assert set(top_level.values()) == {os.path.join(TOP, '.lab', 'pki')}
