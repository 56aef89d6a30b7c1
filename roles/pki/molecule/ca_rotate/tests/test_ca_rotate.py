"""etcd CA rotation under a continuous writer (playbooks/etcd_ca_rotate.yml): afterwards every
certificate chains to the new CA and not to the old one, the hosts trust the new CA only, a client
of the old CA is refused, every member was restarted, the cluster is healthy with its data, and the
writer's failures fit in one leader election.

prepare kept, on each member, the old CA certificate, an old client pair and etcd's PID
(/root/before), then started the writer on pki-ca-rotate-1 (/root/writer)."""

import json
import os
import pathlib

import pytest

testinfra_hosts = ["ansible://etcd"]
PKI = "/etc/kubernetes/pki"
NAMES = ["etcd/server", "etcd/peer", "etcd/healthcheck-client", "apiserver-etcd-client"]
ENDPOINTS = "https://198.18.1.204:2379,https://198.18.1.205:2379,https://198.18.1.206:2379"
TLS = (f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/etcd/healthcheck-client.crt "
       f"--key={PKI}/etcd/healthcheck-client.key")
# One leader election, in writes (as roles/pki/molecule/rotate/tests/test_rotate.py derives it):
# election timeout 1 s randomised up to 2 s, a put every 0.2 s -> 10 failed puts plus the one in
# flight, and 4 for the scheduling delays of a loaded build machine. The rotation restarts every
# member three times, one at a time, each only when the whole cluster is healthy: a follower's
# restart costs the client nothing (it fails over), a leader hands leadership over before it stops.
MAX_FAILED_WRITES = 15
CA_DIR = pathlib.Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "pki"


def etcdctl(host, args, tls=TLS, endpoints=ENDPOINTS):
    return host.run(f"etcdctl {tls} --endpoints={endpoints} --dial-timeout=3s --command-timeout=10s {args}")


def test_the_controller_holds_the_new_ca_and_kept_the_old_one(host):
    new = (CA_DIR / "etcd" / "ca.crt").read_text()
    old = (CA_DIR / "ca-rotation" / "molecule" / "etcd-old" / "ca.crt").read_text()
    assert new != old
    assert host.file("/root/before/ca.crt").content_string == old
    assert (CA_DIR / "etcd" / "rotation").read_text().strip() == "molecule"


def test_the_hosts_trust_the_new_ca_only(host):
    installed = host.file(f"{PKI}/etcd/ca.crt").content_string
    assert installed.count("BEGIN CERTIFICATE") == 1
    assert installed.strip() == (CA_DIR / "etcd" / "ca.crt").read_text().strip()


@pytest.mark.parametrize("name", NAMES)
def test_every_certificate_chains_to_the_new_ca_not_the_old(host, name):
    assert host.run(f"openssl verify -CAfile {PKI}/etcd/ca.crt {PKI}/{name}.crt").rc == 0
    assert host.run(f"openssl verify -CAfile /root/before/ca.crt {PKI}/{name}.crt").rc != 0


def test_a_client_of_the_old_ca_is_refused(host):
    old = f"--cacert={PKI}/etcd/ca.crt --cert=/root/before/client.crt --key=/root/before/client.key"
    result = etcdctl(host, "get /ca-rotate/before --prefix", tls=old, endpoints="https://127.0.0.1:2379")
    assert result.rc != 0
    # And the old client's own CA no longer verifies the member it talks to.
    stale = f"--cacert=/root/before/ca.crt --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"
    assert etcdctl(host, "get /ca-rotate/before --prefix", tls=stale, endpoints="https://127.0.0.1:2379").rc != 0


def test_member_was_restarted(host):
    before = host.file("/root/before/etcd.pid").content_string.strip()
    assert host.check_output("systemctl show -p MainPID --value etcd") not in ("0", before)


def test_cluster_healthy_with_its_data(host):
    health = etcdctl(host, "endpoint health --cluster")
    assert health.rc == 0, health.stderr
    assert (health.stdout + health.stderr).count("is healthy") == 3
    members = json.loads(etcdctl(host, "member list -w json").stdout)["members"]
    assert len(members) == 3
    keys = etcdctl(host, "get --prefix /ca-rotate/before/ --keys-only").stdout.split()
    assert sorted(keys) == [f"/ca-rotate/before/pki-ca-rotate-{i}" for i in (1, 2, 3)]


def test_writer_failures_within_one_election(host):
    if host.backend.get_hostname() != "pki-ca-rotate-1":
        pytest.skip("the writer runs on pki-ca-rotate-1")
    pid = host.file("/root/writer/pid").content_string.strip()
    assert host.run(f"kill -0 {pid}").rc == 0, "the writer stopped before verify"
    log = host.file("/root/writer/log").content_string.splitlines()
    host.run(f"kill {pid}")
    results = [line.split(" ", 3) for line in log if line.strip()]
    failed = [r for r in results if r[2] == "fail"]
    ok = [r for r in results if r[2] == "ok"]
    assert len(ok) >= 50, f"the writer made only {len(ok)} writes: it did not write through the rotation"
    assert len(failed) <= MAX_FAILED_WRITES, (
        f"{len(failed)} failed writes (more than one election's {MAX_FAILED_WRITES}):\n"
        + "\n".join(" ".join(r) for r in failed[:40]))
    if failed:
        assert float(ok[-1][0]) > float(failed[-1][0])
