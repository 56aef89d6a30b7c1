"""host_base's firewalld port list (EL hosts with host_base_firewalld: open) follows the cluster model:
the API server's configured port, and in bgp_vip mode the VIP speaker's BGP port, which the routers
connect to (roles/api_endpoint/templates/speaker-bird.conf.j2: `local ... port <cluster_api_vip_bgp_port>`).
A fixed list left the speaker's sessions blocked on such hosts and opened 6443 whatever the API port.

The defaults are evaluated by Ansible itself: preflight derives kos_cluster from the sample inventory,
then the role's defaults file is loaded and the variable printed (no host is contacted)."""

import json
import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.path.dirname(sys.executable)

PLAY = """- hosts: kube_control_plane[0]
  gather_facts: false
  roles:
    - role: kos.platform.preflight
  tasks:
    - ansible.builtin.include_vars:
        file: %s
    - ansible.builtin.debug:
        var: host_base_firewalld_ports
""" % os.path.join(TOP, 'roles', 'host_base', 'defaults', 'main.yml')


def ports(tmp_path, *extra):
    play = tmp_path / 'show.yml'
    play.write_text(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, 'ansible.cfg'), ANSIBLE_STDOUT_CALLBACK='json',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, '.collections'))
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(TOP, 'inventories', 'sample'),
                           str(play), *extra], capture_output=True, text=True, env=env, cwd=TOP, timeout=180,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # ansible.cfg also enables profile_tasks, which prints lines around the JSON document.
    document = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index('\n{') + 1:])[0]
    last = document['plays'][0]['tasks'][-1]['hosts']
    (result,) = last.values()
    return result['host_base_firewalld_ports']


@pytest.mark.parametrize('api_port,bgp_port', [(6443, 1179), (7443, 1180)])
def test_bgp_vip_mode_opens_the_api_port_and_the_speaker_port(tmp_path, api_port, bgp_port):
    opened = ports(tmp_path, '-e', 'cluster_api_endpoint_mode=bgp_vip', '-e', 'cluster_api_port=%d' % api_port,
                   '-e', 'cluster_api_vip_bgp_port=%d' % bgp_port)
    assert '%d/tcp' % api_port in opened and '%d/tcp' % bgp_port in opened
    assert {'179/tcp', '2379-2380/tcp', '10250/tcp'} <= set(opened)
    if api_port != 6443:
        assert '6443/tcp' not in opened


def test_local_proxy_mode_opens_no_speaker_port(tmp_path):
    opened = ports(tmp_path, '-e', 'cluster_api_endpoint_mode=local_proxy', '-e', 'cluster_api_vip=')
    assert '1179/tcp' not in opened and '6443/tcp' in opened
