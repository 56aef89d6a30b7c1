"""Disaster recovery: the cluster rebuilt from the snapshot by playbooks/etcd_restore.yml holds
exactly the snapshot's data, has all three members healthy, and kept the stale data aside."""

import base64
import json

import pytest

testinfra_hosts = ["ansible://etcd-restore-1", "ansible://etcd-restore-2", "ansible://etcd-restore-3"]
PKI = "/etc/kubernetes/pki"
TLS = f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"
ENDPOINTS = "https://198.18.1.55:2379,https://198.18.1.56:2379,https://198.18.1.57:2379"


def etcdctl(host, args, endpoints="https://127.0.0.1:2379"):
    return host.run(f"etcdctl {TLS} --endpoints={endpoints} --dial-timeout=3s --command-timeout=10s {args}")


def test_all_three_members_are_healthy_in_one_cluster(host):
    members = json.loads(etcdctl(host, "member list -w json", ENDPOINTS).stdout)["members"]
    assert sorted(m["name"] for m in members) == ["etcd-restore-1", "etcd-restore-2", "etcd-restore-3"]
    health = etcdctl(host, "endpoint health --cluster", ENDPOINTS)
    assert health.rc == 0, health.stderr
    assert (health.stdout + health.stderr).count("is healthy") == 3


def test_every_member_serves_exactly_the_snapshots_keys(host):
    got = etcdctl(host, "get --prefix /restore/ -w json")
    assert got.rc == 0, got.stderr
    kvs = json.loads(got.stdout).get("kvs", [])
    pairs = {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode() for kv in kvs}
    assert pairs == {f"/restore/key-{i}": f"value-{i}" for i in range(1, 21)}


def test_the_member_that_kept_stale_data_has_it_aside(host):
    aside = host.run("ls -d /var/lib/etcd/member.before-restore-*")
    if host.backend.host == "etcd-restore-3":
        assert aside.rc == 0 and aside.stdout.strip(), "the stale data of etcd-restore-3 was not kept"
        # The data moved aside is the pre-restore member, with its write-ahead log.
        assert host.file(aside.stdout.split()[0] + "/wal").is_directory
    else:
        assert aside.rc != 0, "a member without old data got an aside directory"


def test_the_restore_marker_records_the_snapshot(host):
    marker = host.file("/var/lib/etcd/restored-from.sha256")
    assert marker.exists and marker.mode == 0o600
    assert len(marker.content_string.strip()) == 64


@pytest.mark.parametrize("path", ["/var/lib/kos/etcd-restore"])
def test_the_staged_snapshot_is_gone(host, path):
    assert not host.file(path).exists
