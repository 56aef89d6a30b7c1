"""Member removal 3 -> 2 by playbooks/node_remove.yml, and its refusals, on a real etcd 3.5 TLS cluster."""

import json
import os
import subprocess
import time

testinfra_hosts = ["ansible://etcd-remove-1"]
PKI = "/etc/kubernetes/pki"
TLS = f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"
ENDPOINTS = "https://198.18.1.180:2379,https://198.18.1.181:2379"
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))


def etcdctl(host, args, endpoints=ENDPOINTS):
    return host.run(f"etcdctl {TLS} --endpoints={endpoints} --dial-timeout=3s --command-timeout=10s {args}")


def node_remove(hosts):
    """The operator's command on the scenario's inventory, hosts given with -e."""
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"))
    return subprocess.run(["ansible-playbook", "-i", inventory, os.path.join(TOP, "playbooks", "node_remove.yml"),
                           "-e", "node_remove_hosts=" + hosts], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def names(host):
    return sorted(m["name"] for m in json.loads(etcdctl(host, "member list -w json").stdout)["members"])


def test_two_members_left_both_healthy(host):
    assert names(host) == ["etcd-remove-1", "etcd-remove-2"]
    health = etcdctl(host, "endpoint health")
    assert health.rc == 0, health.stderr
    assert (health.stdout + health.stderr).count("is healthy") == 2


def test_data_written_before_the_removal_is_kept(host):
    got = etcdctl(host, "get --print-value-only /remove/before")
    assert got.stdout.strip() == "written-by-three-members"


def test_the_removed_member_no_longer_answers(host):
    gone = etcdctl(host, "endpoint health", endpoints="https://198.18.1.182:2379")
    assert gone.rc != 0


def test_removing_the_last_members_is_refused_before_anything(host):
    proc = node_remove("etcd-remove-1,etcd-remove-2,etcd-remove-3")
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())  # YAML's line wrapping undone
    assert "would remove every etcd member: refused" in out
    assert "would remove the last control plane: refused" in out
    assert names(host) == ["etcd-remove-1", "etcd-remove-2"]


def test_a_removal_without_quorum_is_refused_and_points_to_the_restore(host):
    # etcd-remove-2 down: the two-member cluster has lost its quorum (1 of 2), nothing may be removed.
    stopped = subprocess.run(["docker", "exec", "etcd-remove-2", "systemctl", "stop", "etcd"], check=False)
    try:
        assert stopped.returncode == 0
        proc = node_remove("etcd-remove-2")
        assert proc.returncode != 0, proc.stdout[-3000:]
        assert "playbooks/etcd_restore.yml" in proc.stdout + proc.stderr, proc.stdout[-3000:]
        assert "TASK [kos.platform.etcd : Remove the members]" not in proc.stdout
    finally:
        subprocess.run(["docker", "exec", "etcd-remove-2", "systemctl", "start", "etcd"], check=False)
    for _attempt in range(15):  # bounded: the restarted member rejoins in about a second
        health = etcdctl(host, "endpoint health")
        if health.rc == 0:
            break
        time.sleep(2)
    assert health.rc == 0, health.stderr
    assert names(host) == ["etcd-remove-1", "etcd-remove-2"]
