"""Scale-out 1 -> 3: the new members joined the running cluster; the first one was left alone."""

import json

testinfra_hosts = ["ansible://etcd-scale-1"]
PKI = "/etc/kubernetes/pki"
TLS = f"--cacert={PKI}/etcd/ca.crt --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"
ENDPOINTS = "https://198.18.1.51:2379,https://198.18.1.52:2379,https://198.18.1.53:2379"


def etcdctl(host, args):
    return host.run(f"etcdctl {TLS} --endpoints={ENDPOINTS} --dial-timeout=3s --command-timeout=10s {args}")


def test_three_members_all_healthy(host):
    members = json.loads(etcdctl(host, "member list -w json").stdout)["members"]
    assert sorted(m["name"] for m in members) == ["etcd-scale-1", "etcd-scale-2", "etcd-scale-3"]
    health = etcdctl(host, "endpoint health --cluster")
    assert health.rc == 0, health.stderr
    assert (health.stdout + health.stderr).count("is healthy") == 3


def test_data_from_before_the_scale_out_is_served_by_the_new_members(host):
    for ip in ("198.18.1.52", "198.18.1.53"):
        got = host.run(f"etcdctl {TLS} --endpoints=https://{ip}:2379 get --print-value-only /scale/before")
        assert got.stdout.strip() == "written-by-one-member"


def test_first_member_was_not_restarted(host):
    before = host.file("/root/etcd-before.pid").content_string.strip()
    assert host.check_output("systemctl show -p MainPID --value etcd") == before


def test_first_member_certificates_were_not_reissued(host):
    assert host.run("sha256sum -c /root/etcd-before.sha256").rc == 0


def test_installed_from_the_archive(host):
    assert host.file("/usr/local/bin/etcd").linked_to == "/opt/etcd/v3.5.1/etcd"
    assert "3.5.1" in host.check_output("etcd --version")
