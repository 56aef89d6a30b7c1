"""Rolling minor upgrade under a continuous writer (playbooks/etcd_upgrade.yml): Debian's etcd 3.4
package -> the etcd 3.5.1 release archive, one member at a time. Every member runs 3.5.1 from the
archive, was restarted once, at a different time than the others, after the pre-upgrade snapshot;
the cluster is healthy at cluster version 3.5, keeps the data written on 3.4, and the writer's
failures fit in one leader election. A skipped minor is refused before any change.

prepare recorded etcd's PID and version on each member (/root/before) and started the writer on
etcd-upgrade-1 (/root/writer)."""

import itertools
import json
import os
import pathlib
import subprocess
import time

import pytest
import testinfra

testinfra_hosts = ["ansible://etcd"]
PKI = "/etc/kubernetes/pki"
ENDPOINTS = "https://198.18.1.201:2379,https://198.18.1.202:2379,https://198.18.1.203:2379"
TLS = (f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/etcd/healthcheck-client.crt "
       f"--key={PKI}/etcd/healthcheck-client.key")
MEMBERS = ["etcd-upgrade-1", "etcd-upgrade-2", "etcd-upgrade-3"]
# One leader election, in writes (same derivation as roles/pki/molecule/rotate/tests/test_rotate.py):
# election timeout 1 s randomised up to 2 s, a put every 0.2 s -> 10 failed puts plus the one in
# flight, and 4 for the scheduling delays of a loaded build machine. A follower's restart costs the
# client nothing (it fails over); a leader hands leadership over before it stops.
MAX_FAILED_WRITES = 15


def etcdctl(host, args, endpoints=ENDPOINTS):
    return host.run(f"/usr/local/bin/etcdctl {TLS} --endpoints={endpoints} --dial-timeout=3s "
                    f"--command-timeout=10s {args}")


def test_every_member_runs_the_new_release_from_the_archive(host):
    status = json.loads(etcdctl(host, "endpoint status -w json", "https://127.0.0.1:2379").stdout)
    assert status[0]["Status"]["version"] == "3.5.1"
    assert host.file("/etc/systemd/system/etcd.service").contains("^ExecStart=/usr/local/bin/etcd$")
    assert host.file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v3.5.1/etcd"
    assert host.file("/root/before/version").content_string.strip().startswith("3.4.")


def test_each_member_restarted_once_one_after_the_other(host):
    before = host.file("/root/before/etcd.pid").content_string.strip()
    now = host.check_output("systemctl show -p MainPID --value etcd")
    assert now not in ("0", before), "etcd was not restarted on the new release"
    if host.backend.get_hostname() != MEMBERS[0]:
        pytest.skip("the order is checked once, from etcd-upgrade-1")
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    started = [
        int(testinfra.get_host(f"ansible://{name}?ansible_inventory={inventory}")
            .check_output("systemctl show -p ActiveEnterTimestampMonotonic --value etcd"))
        for name in MEMBERS
    ]
    # serial: 1 in inventory order, each member healthy before the next: strictly increasing
    # start times, at least one health round apart (the kernel's monotonic clock is shared).
    assert started == sorted(started), f"members restarted out of order: {started}"
    assert all(b - a > 1_000_000 for a, b in itertools.pairwise(started)), f"restarts overlapped: {started}"


def test_cluster_healthy_at_cluster_version_3_5(host):
    health = etcdctl(host, "endpoint health --cluster")
    assert health.rc == 0, health.stderr
    assert (health.stdout + health.stderr).count("is healthy") == 3
    # The cluster version moves to 3.5 once every member runs 3.5 (decided by the leader).
    for _attempt in range(30):
        # The image has no curl (nothing here installs it): the host's python3 reads the metrics.
        metrics = host.run("python3 -c \"import urllib.request; print(urllib.request.urlopen("
                           "'http://127.0.0.1:2381/metrics', timeout=5).read().decode())\"").stdout
        if 'etcd_cluster_version{cluster_version="3.5"} 1' in metrics:
            break
        time.sleep(1)
    assert 'etcd_cluster_version{cluster_version="3.5"} 1' in metrics


def test_data_written_on_3_4_is_kept(host):
    got = etcdctl(host, "get --prefix /upgrade/before/ --keys-only")
    assert got.rc == 0, got.stderr
    assert sorted(k for k in got.stdout.split() if k) == [f"/upgrade/before/{m}" for m in MEMBERS]


def test_snapshot_taken_before_the_first_restart(host):
    if host.backend.get_hostname() != MEMBERS[0]:
        pytest.skip("the snapshot is taken on the first member")
    snaps = host.run("ls /var/backups/etcd/molecule-etcd-upgrade-before-etcd-3.5.1-*.db").stdout.split()
    assert len(snaps) == 1, "expected exactly one pre-upgrade snapshot (none on the idempotence run)"
    snap_time = int(host.check_output(f"stat -c %Y {snaps[0]}"))
    started = int(host.check_output("date -d \"$(systemctl show -p ActiveEnterTimestamp --value etcd)\" +%s"))
    assert snap_time <= started


def test_writer_failures_within_one_election(host):
    if host.backend.get_hostname() != MEMBERS[0]:
        pytest.skip("the writer runs on etcd-upgrade-1")
    pid = host.file("/root/writer/pid").content_string.strip()
    assert host.run(f"kill -0 {pid}").rc == 0, "the writer stopped before verify"
    log = host.file("/root/writer/log").content_string.splitlines()
    host.run(f"kill {pid}")
    results = [line.split(" ", 3) for line in log if line.strip()]
    failed = [r for r in results if r[2] == "fail"]
    ok = [r for r in results if r[2] == "ok"]
    assert len(ok) >= 50, f"the writer made only {len(ok)} writes: it did not write through the upgrade"
    assert len(failed) <= MAX_FAILED_WRITES, (
        f"{len(failed)} failed writes (more than one election's {MAX_FAILED_WRITES}):\n"
        + "\n".join(" ".join(r) for r in failed[:40]))
    if failed:
        assert float(ok[-1][0]) > float(failed[-1][0])


def test_a_skipped_minor_is_refused_before_any_change():
    """The operator's command with a target two minors ahead of the cluster (3.5 -> 3.7)."""
    top = pathlib.Path(__file__).resolve().parents[5]
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(top / "playbooks" / "etcd_upgrade.yml"),
         "-e", "etcd_version=3.7.0"],
        capture_output=True, text=True, cwd=top, check=False, timeout=600,
    )
    assert result.returncode != 0
    # ansible-core prints a failed task's message on stderr; YAML's line wrapping undone.
    out = " ".join((result.stdout + result.stderr).split())
    assert "etcd upgrade to 3.7.0 refused" in out
    assert "none an older one than 3.6" in out
