"""Provisioning against the test cloud: real Keystone, Nova, Neutron (OVN), Cinder, Glance and
Placement APIs; fake hypervisor and block storage. The tests run in file order: bad input first
(on an empty project), then provision, idempotence, inventory, repair, teardown.

Every assertion reads the cloud through openstacksdk; no test sends anything to the servers.
"""

import json
import os
import subprocess

import pytest
from conftest import CLUSTER, TAG, TOP, cluster_resources, nothing_left

HOSTS = ["cp1", "cp2", "cp3", "node1", "node2", "node3", "tor1"]
NODE_IPS = {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13", "node1": "192.0.2.21",
            "node2": "192.0.2.22", "tor1": "192.0.2.1"}
PAIRS = {"10.244.0.0/16", "10.96.0.0/16", "198.51.100.0/26", "198.51.100.64/26"}
SG = {k: "%s-%s" % (CLUSTER, k) for k in ("common", "etcd", "control-plane", "k8s", "bgp-router")}
SG_OF_HOST = {
    "cp": {SG["common"], SG["etcd"], SG["control-plane"], SG["k8s"]},
    "node": {SG["common"], SG["k8s"]},
    "tor": {SG["common"], SG["bgp-router"]},
}
# Ingress rules per group: (protocol, port min, port max, remote CIDR, remote security group).
RULES = {
    "common": {("tcp", 22, 22, "192.0.2.0/24", None), ("tcp", 22, 22, "203.0.113.0/24", None),
               ("icmp", None, None, "192.0.2.0/24", None)},
    "etcd": {("tcp", 2380, 2380, None, SG["etcd"]), ("tcp", 2379, 2379, None, SG["etcd"]),
             ("tcp", 2379, 2379, None, SG["control-plane"])},
    "control-plane": {("tcp", 6443, 6443, "192.0.2.0/24", None), ("tcp", 6443, 6443, "203.0.113.0/24", None),
                      ("tcp", 6443, 6443, None, SG["k8s"])},
    "k8s": {("tcp", 10250, 10250, None, SG["control-plane"]), ("tcp", 179, 179, None, SG["k8s"]),
            ("tcp", 179, 179, None, SG["bgp-router"]), (None, None, None, None, SG["k8s"]),
            (None, None, None, None, SG["bgp-router"])},
    "bgp-router": {("tcp", 179, 179, None, SG["k8s"]), (None, None, None, None, SG["k8s"])},
}


def plain(data):
    """ansible-inventory marks values from plugins as unsafe: {"__ansible_unsafe": value}."""
    if isinstance(data, dict):
        if set(data) == {"__ansible_unsafe"}:
            return data["__ansible_unsafe"]
        return {k: plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def kind(host):
    return "cp" if host.startswith("cp") else "node" if host.startswith("node") else "tor"


# -- bad input: fails before creating anything ------------------------------------------------
def test_project_starts_without_the_cluster(run_playbook, conn):
    # The cloud's state outlives a run: an interrupted earlier run may have left the cluster.
    res = run_playbook("teardown.yml")
    assert res.rc == 0, res
    assert nothing_left(conn) == {}, "leftovers teardown did not remove: %s" % nothing_left(conn)


def test_missing_image_fails_naming_image_and_variable(run_playbook, conn):
    images = {"default": "kos-tiny", "kube_node": "no-such-image"}
    res = run_playbook("provision.yml", {"openstack_infra_images": images})
    assert res.rc != 0, res
    msg = res.failure_messages()
    assert "no-such-image" in msg and "openstack_infra_images['kube_node']" in msg, msg
    assert nothing_left(conn) == {}


def test_missing_flavor_and_network_fail_together(run_playbook, conn):
    res = run_playbook("provision.yml", {"openstack_infra_flavors": {"default": "no-such-flavor"},
                                         "openstack_infra_network": {"existing": "no-such-net"}})
    assert res.rc != 0, res
    msg = res.failure_messages()
    assert "no-such-flavor" in msg and "openstack_infra_flavors['default']" in msg, msg
    assert "no-such-net" in msg and "openstack_infra_network.existing" in msg, msg
    assert nothing_left(conn) == {}


def test_quota_too_small_fails_before_creating(run_playbook, conn, admin):
    project = admin.identity.find_project("demo")
    before = admin.compute.get_quota_set(project.id).instances
    admin.set_compute_quotas(project.id, instances=3)
    try:
        res = run_playbook("provision.yml")
    finally:
        admin.set_compute_quotas(project.id, instances=before)
    assert res.rc != 0, res
    msg = res.failure_messages()
    assert "quota too small" in msg and "7 more instances" in msg and "3 free of 3" in msg, msg
    assert nothing_left(conn) == {}


def test_unreachable_cloud_fails_naming_the_cloud(run_playbook):
    res = run_playbook("provision.yml", {"openstack_infra_cloud": "kos-unreachable"})
    assert res.rc != 0, res
    msg = res.failure_messages()
    assert "kos-unreachable" in msg and "openstack_infra_cloud" in msg and "cannot reach" in msg, msg


def test_check_mode_on_empty_project_creates_nothing(run_playbook, conn):
    res = run_playbook("provision.yml", check=True)
    assert res.rc == 0, res
    changes = res.results("Provision network")[0]["changes"]
    assert "would create server cp1 (kos.tiny, kos-tiny, kos-itest-kube_control_plane)" in changes
    assert "would create volume kos-itest-cp1-etcd (1 GiB)" in changes
    assert res.changed >= 1
    assert nothing_left(conn) == {}


# -- provision ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def provisioned(run_playbook):
    res = run_playbook("provision.yml")
    assert res.rc == 0, res
    return res


def test_provision_reports_hosts(provisioned):
    hosts = provisioned.results("Provision network")[0]["hosts"]
    assert sorted(hosts) == sorted(HOSTS)
    for host, ip in NODE_IPS.items():
        assert hosts[host]["node_ip"] == ip
    assert hosts["node3"]["node_ip"].startswith("192.0.2.")
    assert hosts["tor1"]["floating_ip"].startswith("203.0.113.")
    assert hosts["cp1"]["volume"] == "kos-itest-cp1-etcd" and hosts["node1"]["volume"] is None


def test_network_subnet_router(provisioned, conn):
    (net,) = conn.network.networks(name=CLUSTER + "-net", tags=TAG)
    (subnet,) = conn.network.subnets(network_id=net.id)
    assert subnet.cidr == "192.0.2.0/24" and subnet.gateway_ip == "192.0.2.254"
    assert subnet.dns_nameservers == ["192.0.2.53"] and TAG in subnet.tags
    (router,) = conn.network.routers(name=CLUSTER + "-router", tags=TAG)
    assert router.external_gateway_info["network_id"] == conn.network.find_network("public").id
    interfaces = list(conn.network.ports(device_id=router.id, device_owner="network:router_interface"))
    assert [ip["subnet_id"] for p in interfaces for ip in p.fixed_ips] == [subnet.id]


def test_security_group_rules(provisioned, conn):
    groups = {g.name: g for g in conn.network.security_groups(tags=TAG)}
    assert set(groups) == set(SG.values())
    names = {g.id: n for n, g in groups.items()}
    for key, expected in RULES.items():
        rules = list(conn.network.security_group_rules(security_group_id=groups[SG[key]].id))
        ingress = {(r.protocol, r.port_range_min, r.port_range_max, r.remote_ip_prefix,
                    names.get(r.remote_group_id)) for r in rules if r.direction == "ingress"}
        assert ingress == expected, key
        assert {r.ether_type for r in rules if r.direction == "egress"} == {"IPv4", "IPv6"}
    # etcd accepts peers and clients from members only: no rule open to an address range.
    etcd_rules = conn.network.security_group_rules(security_group_id=groups[SG["etcd"]].id, direction="ingress")
    assert all(r.remote_ip_prefix is None and r.remote_group_id for r in etcd_rules)


def test_servers(provisioned, conn):
    servers = {s.name: s for s in conn.compute.servers(details=True)
               if (s.metadata or {}).get("kos_cluster") == CLUSTER}
    assert sorted(servers) == sorted(HOSTS)
    for s in servers.values():
        assert s.status == "ACTIVE"
        assert s.key_name == CLUSTER + "-deploy"
        assert s.flavor.name == "kos.tiny"
        assert TAG in (s.tags or [])
    assert servers["cp1"].metadata["kos_groups"] == "kube_control_plane,etcd"
    assert servers["node1"].metadata["kos_groups"] == "kube_node"
    assert servers["tor1"].metadata["kos_groups"] == "bgp_routers"
    assert servers["cp2"].image.id == conn.image.find_image("kos-tiny").id


def test_server_group_membership(provisioned, conn):
    ids = {s.id: s.name for s in conn.compute.servers() if s.name in HOSTS}
    groups = {g.name: g for g in conn.compute.server_groups()}
    expected = {"kube_control_plane": {"cp1", "cp2", "cp3"}, "kube_node": {"node1", "node2", "node3"},
                "bgp_routers": {"tor1"}}
    for role, members in expected.items():
        group = groups["%s-%s" % (CLUSTER, role)]
        assert (group.policy or group.policies[0]) == "soft-anti-affinity"
        assert {ids[m] for m in group.member_ids} == members


def test_ports_addresses_pairs_and_groups(provisioned, conn):
    sg_names = {g.id: g.name for g in conn.network.security_groups(tags=TAG)}
    servers = {s.name: s for s in conn.compute.servers() if s.name in HOSTS}
    for host in HOSTS:
        (port,) = conn.network.ports(name="%s-%s" % (CLUSTER, host), tags=TAG)
        assert port.device_id == servers[host].id
        if host in NODE_IPS:
            assert [ip["ip_address"] for ip in port.fixed_ips] == [NODE_IPS[host]]
        assert {p["ip_address"] for p in port.allowed_address_pairs} == PAIRS
        assert {sg_names[i] for i in port.security_group_ids} == SG_OF_HOST[kind(host)]


def test_etcd_volumes_attached_to_etcd_members(provisioned, conn):
    servers = {s.id: s.name for s in conn.compute.servers() if s.name in HOSTS}
    volumes = {v.name: v for v in conn.block_storage.volumes(details=True)
               if (v.metadata or {}).get("kos_cluster") == CLUSTER}
    assert sorted(volumes) == ["kos-itest-cp1-etcd", "kos-itest-cp2-etcd", "kos-itest-cp3-etcd"]
    for name, vol in volumes.items():
        assert vol.status == "in-use" and vol.size == 1
        assert [servers[a["server_id"]] for a in vol.attachments] == [vol.metadata["kos_host"]]
        assert name == "kos-itest-%s-etcd" % vol.metadata["kos_host"]


def test_floating_ip_only_where_asked(provisioned, conn):
    (fip,) = conn.network.ips(tags=TAG)
    (port,) = conn.network.ports(name=CLUSTER + "-tor1")
    assert fip.port_id == port.id


# -- idempotence and check mode ---------------------------------------------------------------
def test_second_run_changes_nothing(provisioned, run_playbook):
    res = run_playbook("provision.yml")
    assert res.rc == 0, res
    assert res.changed == 0, res.results("Provision network")[0].get("changes")


def test_check_mode_after_provision_changes_nothing(provisioned, run_playbook):
    res = run_playbook("provision.yml", check=True)
    assert res.rc == 0, res
    assert res.changed == 0, res.results("Provision network")[0].get("changes")


# -- inventory from the cloud -----------------------------------------------------------------
def test_cloud_inventory_groups_and_addresses(provisioned, cloud_config):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=cloud_config["demo_only"],
               ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"))
    out = subprocess.run(["ansible-inventory", "-i", os.path.join(TOP, "inventories", "openstack", "openstack.yml"),
                          "--list"], env=env, capture_output=True, text=True, check=True, cwd=TOP).stdout
    inv = plain(json.loads(out))

    def members(group):
        return sorted(inv.get(group, {}).get("hosts", []))

    assert members("etcd") == ["cp1", "cp2", "cp3"]
    assert members("kube_control_plane") == ["cp1", "cp2", "cp3"]
    assert members("kube_node") == ["node1", "node2", "node3"]
    assert members("bgp_routers") == ["tor1"]
    assert members("cluster_kos_itest") == sorted(HOSTS)
    hostvars = inv["_meta"]["hostvars"]
    for host, ip in NODE_IPS.items():
        assert hostvars[host]["node_ip"] == ip
    assert hostvars["tor1"]["floating_ip"].startswith("203.0.113.")
    assert hostvars["tor1"]["ansible_host"] == hostvars["tor1"]["floating_ip"]
    assert hostvars["cp1"]["ansible_host"] == "192.0.2.11"


# -- a rerun repairs what went missing ---------------------------------------------------------
def test_rerun_recreates_what_was_lost(provisioned, run_playbook, conn):
    node2 = conn.compute.find_server("node2")
    conn.compute.delete_server(node2)
    conn.compute.wait_for_delete(node2, wait=120)
    (fip,) = conn.network.ips(tags=TAG)
    conn.network.delete_ip(fip)
    res = run_playbook("provision.yml")
    assert res.rc == 0, res
    changes = res.results("Provision network")[0]["changes"]
    assert sorted(changes) == sorted(["create server node2 (kos.tiny, kos-tiny, kos-itest-kube_node)",
                                      "create floating IP for tor1"]), changes
    assert conn.compute.find_server("node2").status == "ACTIVE"
    assert res.changed == 1


# -- another project's entry ---------------------------------------------------------------------
def test_an_admin_teardown_of_the_same_cluster_name_leaves_this_project_alone(provisioned, run_playbook, conn):
    """Neutron lists every project's resources to an admin, and a cluster of the same name in another
    project carries the same tag: teardown.yml with the admin's clouds.yaml entry (project admin) deleted
    the demo project's ports, security groups, router, subnet and network. Every Neutron listing of
    openstack_infra is now scoped to the token's project, so it removes nothing here."""
    before = cluster_resources(conn)
    assert before["networks"] and before["ports"] and before["security_groups"]
    res = run_playbook("teardown.yml", {"openstack_infra_cloud": "kos-admin"})
    assert res.rc == 0, res
    assert cluster_resources(conn) == before
    assert res.results("Delete every resource")[0]["removed"] == [], res


# -- teardown ----------------------------------------------------------------------------------
def test_teardown_removes_exactly_the_cluster(provisioned, run_playbook, conn):
    bystander = conn.network.create_network(name=CLUSTER + "-net")  # same name, not tagged: not ours
    try:
        preview = run_playbook("teardown.yml", check=True)
        assert preview.rc == 0, preview
        assert cluster_resources(conn)["servers"] == sorted(HOSTS)
        res = run_playbook("teardown.yml")
        assert res.rc == 0, res
        removed = res.results("Delete every resource")[0]["removed"]
        assert sorted(preview.results("Delete every resource")[0]["removed"]) == sorted(removed)
        for host in HOSTS:
            assert "server %s" % host in removed and "port %s-%s" % (CLUSTER, host) in removed
        assert "volume kos-itest-cp1-etcd" in removed and "keypair kos-itest-deploy" in removed
        assert "network %s-net" % CLUSTER in removed and "router %s-router" % CLUSTER in removed
        assert nothing_left(conn) == {}
        assert conn.network.get_network(bystander.id).name == CLUSTER + "-net"
        again = run_playbook("teardown.yml")
        assert again.rc == 0, again
        assert again.results("Delete every resource")[0]["removed"] == [] and again.changed == 0
    finally:
        conn.network.delete_network(bystander)


def test_project_is_empty_after_teardown(conn):
    assert list(conn.compute.servers()) == []
    assert list(conn.block_storage.volumes()) == []
    assert list(conn.network.ips()) == []
    assert [p for p in conn.network.ports() if p.device_owner != "network:dhcp"] == []
    assert list(conn.network.routers()) == []
    assert [n.name for n in conn.network.networks() if not n.is_router_external] == []
    assert [g.name for g in conn.network.security_groups()] == ["default"]
    assert list(conn.compute.server_groups()) == []
    assert list(conn.compute.keypairs()) == []
