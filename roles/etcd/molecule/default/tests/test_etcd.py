"""A 3-member etcd cluster over TLS with client-certificate auth, read back from the members."""

import json
import uuid

import pytest

testinfra_hosts = ["ansible://etcd"]
PKI = "/etc/kubernetes/pki"
MEMBERS = {"etcd-1": "198.18.1.41", "etcd-2": "198.18.1.42", "etcd-3": "198.18.1.43"}
ENDPOINTS = ",".join(f"https://{ip}:2379" for ip in MEMBERS.values())
TLS = f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"


def etcdctl(host, args, tls=TLS, endpoints=ENDPOINTS):
    return host.run(f"etcdctl {tls} --endpoints={endpoints} --dial-timeout=3s --command-timeout=10s {args}")


def test_service_active_and_enabled(host):
    service = host.service("etcd")
    assert service.is_running and service.is_enabled


def test_endpoint_health_cluster_over_tls(host):
    result = etcdctl(host, "endpoint health --cluster")
    assert result.rc == 0, result.stderr
    healthy = [line for line in (result.stdout + result.stderr).splitlines() if "is healthy" in line]
    assert sorted(line.split()[0] for line in healthy) == sorted(f"https://{ip}:2379" for ip in MEMBERS.values())


def test_member_list_is_the_model(host):
    members = json.loads(etcdctl(host, "member list -w json").stdout)["members"]
    assert {m["name"]: m["peerURLs"] for m in members} == {
        name: [f"https://{ip}:2380"] for name, ip in MEMBERS.items()}


def test_put_get_round_trip_across_members(host):
    key, value = f"/molecule/{host.backend.get_hostname()}", uuid.uuid4().hex
    me = MEMBERS[host.backend.get_hostname()]
    assert etcdctl(host, f"put {key} {value}", endpoints=f"https://{me}:2379").rc == 0
    for ip in MEMBERS.values():
        got = etcdctl(host, f"get --print-value-only {key}", endpoints=f"https://{ip}:2379")
        assert got.stdout.strip() == value


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_client_without_certificate_is_refused(host, member):
    # Checked from one host against every member: the property is each server's, not the client's.
    if host.backend.get_hostname() != "etcd-1":
        pytest.skip("checked from etcd-1")
    result = host.run(f"etcdctl --cacert={PKI}/etcd/ca.crt --endpoints=https://{MEMBERS[member]}:2379 "
                      "--dial-timeout=2s --command-timeout=3s get /molecule --prefix")
    assert result.rc != 0
    # With a certificate, the same command works: the refusal is about the missing certificate.
    assert etcdctl(host, "get /molecule --prefix --keys-only", endpoints=f"https://{MEMBERS[member]}:2379").rc == 0


@pytest.mark.parametrize("member", sorted(MEMBERS))
def test_plain_http_is_refused(host, member):
    if host.backend.get_hostname() != "etcd-1":
        pytest.skip("checked from etcd-1")
    result = host.run(f"etcdctl --endpoints=http://{MEMBERS[member]}:2379 "
                      "--dial-timeout=2s --command-timeout=3s get /x")
    assert result.rc != 0


@pytest.mark.parametrize("key", ["etcd/server.key", "etcd/peer.key", "etcd/healthcheck-client.key",
                                 "apiserver-etcd-client.key"])
def test_keys_are_private(host, key):
    f = host.file(f"{PKI}/{key}")
    assert f.mode == 0o600
    assert f.user == ("etcd" if key in ("etcd/server.key", "etcd/peer.key") else "root")


def test_server_certificate_has_the_model_sans(host):
    name = host.backend.get_hostname()
    text = host.check_output(f"openssl x509 -in {PKI}/etcd/server.crt -noout -text")
    assert f"DNS:{name}" in text and f"IP Address:{MEMBERS[name]}" in text and "IP Address:127.0.0.1" in text
