"""make lab on real systemd containers: converge, summary, idempotent re-run, clean teardown."""

import json
import os
import re
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB_HOSTS = ["kos-lab-builder1", "kos-lab-cp1", "kos-lab-cp2", "kos-lab-cp3", "kos-lab-tor1", "kos-lab-tor2"]
# Layers that need artifacts no reachable registry has; each must say what and which variable.
SKIPPED = ["calico", "coredns", "kubernetes_control_plane", "kubernetes_node", "openstack_cloud_provider"]


def run(*argv, **kwargs):
    return subprocess.run(list(argv), cwd=TOP, capture_output=True, text=True, timeout=1800, **kwargs)


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^\s*(kos-lab-\S+)\s+:\s+(ok=.*)$", output, re.M)}


def lab_objects():
    containers = run("docker", "ps", "-aq", "--filter", "label=kos.platform/lab=lab").stdout.split()
    networks = run("docker", "network", "ls", "-q", "--filter", "label=kos.platform/lab=lab").stdout.split()
    volumes = run("docker", "volume", "ls", "-q", "--filter", "label=kos.platform/lab=lab").stdout.split()
    return containers + networks + volumes


@pytest.fixture(scope="module")
def lab_up():
    proc = run("tests/lab/lab.sh", "up")
    yield proc


def test_make_lab_converges_and_summarises(lab_up):
    assert lab_up.returncode == 0, lab_up.stdout[-5000:] + lab_up.stderr[-2000:]
    out = lab_up.stdout
    summary = out[out.index("kos.platform lab summary"):]
    for host in LAB_HOSTS:
        assert re.search(r"^\s+%s\s+198\.18\.0\.\d+\s+(running|degraded)$" % host, summary, re.M), summary
    stats = recap(out)
    assert sorted(stats) == LAB_HOSTS
    assert all(s["failed"] == 0 and s["unreachable"] == 0 for s in stats.values())
    for layer in SKIPPED:
        line = re.search(r"SKIPPED LAYER %s: (.*)$" % layer, summary, re.M)
        assert line, "layer %s was not reported as skipped" % layer
        assert "cluster_artifact_mirror" in line.group(1)


def test_lab_hosts_run_what_was_converged(lab_up):
    # etcd is a real 3-member TLS cluster on the lab hosts.
    health = run("docker", "exec", "kos-lab-cp1", "etcdctl", "--endpoints", "https://198.18.0.11:2379",
                 "--cacert", "/etc/kubernetes/pki/etcd/ca.crt",
                 "--cert", "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
                 "--key", "/etc/kubernetes/pki/etcd/healthcheck-client.key",
                 "endpoint", "health", "--cluster", "-w", "json")
    assert health.returncode == 0, health.stderr
    assert len(json.loads(health.stdout)) == 3 and all(e["health"] for e in json.loads(health.stdout))
    # BIRD runs on the router with its generated configuration (no speaker on the nodes in the lab:
    # Calico is skipped, so sessions stay down; the live BGP test is roles/bgp_router/molecule).
    bird = run("docker", "exec", "kos-lab-tor1", "birdc", "show", "protocols")
    assert bird.returncode == 0 and "BGP" in bird.stdout
    # The image builder has Docker, the Kubernetes hosts containerd.
    assert run("docker", "exec", "kos-lab-builder1", "systemctl", "is-active", "docker").stdout.strip() == "active"
    assert run("docker", "exec", "kos-lab-cp2", "systemctl", "is-active", "containerd").stdout.strip() == "active"


def test_second_run_changes_nothing(lab_up):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0")
    proc = run("ansible-playbook", "-i", "inventories/lab", "site.yml", env=env)
    assert proc.returncode == 0, proc.stdout[-5000:]
    stats = recap(proc.stdout)
    assert sorted(stats) == LAB_HOSTS
    changed = {host: s["changed"] for host, s in stats.items() if s["changed"]}
    assert changed == {}, proc.stdout[-8000:]


def test_lab_down_leaves_nothing(lab_up):
    assert lab_objects(), "the lab should exist before it is removed"
    proc = run("ansible-playbook", "-i", "inventories/lab", "playbooks/lab_down.yml")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert lab_objects() == []
