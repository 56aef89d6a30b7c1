"""Unit tests of the provisioning plan (kos_infra_plan, a pure function); the cloud side is tested
against the test cloud in tests/integration/cloud."""

import pytest

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_plan import PlanError, plan


def params(**over):
    base = dict(
        cluster_name="kos-demo",
        var_prefix="openstack_infra_",
        inventory_groups={"etcd": ["cp1", "cp2", "cp3"], "kube_control_plane": ["cp1", "cp2", "cp3"],
                          "kube_node": ["n1", "n2"], "bgp_routers": ["tor1"], "k8s_cluster": ["cp1", "n1"],
                          "ungrouped": ["x"]},
        node_ips={"cp1": "192.0.2.11", "n1": "192.0.2.21", "tor1": "192.0.2.2"},
        network={"cidr": "192.0.2.0/24", "external_network": "public"},
        operator_cidrs=["203.0.113.0/24"],
        allowed_address_pairs=["10.244.0.0/16", "10.96.0.0/16"],
        api_port=6443,
        flavors={"default": "m1.medium", "kube_node": "m1.large"},
        images={"default": "rocky-9"},
        server_group_policies={"default": "anti-affinity", "kube_node": "soft-anti-affinity"},
        availability_zones=["az1", "az2"],
        floating_ip_groups=["bgp_routers"],
        etcd_volume={"size": 10, "type": ""},
        keypair={"name": "kos-demo-deploy", "public_key": ""},
    )
    base.update(over)
    return base


def servers(p):
    return {s["name"]: s for s in p["servers"]}


def test_hosts_roles_flavors_images_and_groups():
    p = plan(params())
    s = servers(p)
    assert sorted(s) == ["cp1", "cp2", "cp3", "n1", "n2", "tor1"]  # k8s_cluster and ungrouped are not roles
    assert s["cp1"]["role"] == "kube_control_plane" and s["cp1"]["groups"] == ["kube_control_plane", "etcd"]
    assert s["n1"]["flavor"] == "m1.large" and s["cp1"]["flavor"] == "m1.medium"
    assert s["n1"]["flavor_var"] == "openstack_infra_flavors['kube_node']"
    assert s["tor1"]["image"] == "rocky-9" and s["tor1"]["image_var"] == "openstack_infra_images['default']"
    assert p["server_groups"]["kos-demo-kube_control_plane"]["policy"] == "anti-affinity"
    assert p["server_groups"]["kos-demo-kube_node"]["policy"] == "soft-anti-affinity"
    assert s["cp1"]["metadata"] == {"kos_cluster": "kos-demo", "kos_groups": "kube_control_plane,etcd",
                                    "kos_role": "kube_control_plane"}


def test_availability_zones_round_robin_per_group():
    s = servers(plan(params()))
    assert [s[h]["availability_zone"] for h in ("cp1", "cp2", "cp3")] == ["az1", "az2", "az1"]
    assert [s[h]["availability_zone"] for h in ("n1", "n2")] == ["az1", "az2"]
    assert servers(plan(params(availability_zones=[])))["cp1"]["availability_zone"] is None


def test_volumes_only_on_etcd_members_and_floating_ips_only_where_asked():
    s = servers(plan(params()))
    assert s["cp2"]["volume"] == {"name": "kos-demo-cp2-etcd", "size": 10, "volume_type": None, "image": None,
                                  "image_var": "openstack_infra_etcd_volume.image"}
    assert s["n1"]["volume"] is None and s["tor1"]["volume"] is None
    assert [h for h in s if s[h]["floating_ip"]] == ["tor1"]
    assert servers(plan(params(etcd_volume={"size": 0})))["cp1"]["volume"] is None


def test_ports_carry_node_ip_and_address_pairs():
    s = servers(plan(params()))
    assert s["cp1"]["port"] == {"name": "kos-demo-cp1", "fixed_ip": "192.0.2.11",
                                "allowed_address_pairs": ["10.244.0.0/16", "10.96.0.0/16"]}
    assert s["n2"]["port"]["fixed_ip"] is None


def test_security_groups_per_role():
    p = plan(params())
    s = servers(p)
    assert s["cp1"]["security_groups"] == ["kos-demo-common", "kos-demo-control-plane", "kos-demo-etcd",
                                           "kos-demo-k8s"]
    assert s["n1"]["security_groups"] == ["kos-demo-common", "kos-demo-k8s"]
    assert s["tor1"]["security_groups"] == ["kos-demo-bgp-router", "kos-demo-common"]
    etcd = p["security_groups"]["etcd"]["rules"]
    assert {(r["port_min"], r["remote_group"]) for r in etcd} == {(2380, "etcd"), (2379, "etcd"),
                                                                   (2379, "control_plane")}
    assert all(r["remote_ip_prefix"] is None for r in etcd)  # members only
    ssh = [r for r in p["security_groups"]["common"]["rules"] if r["port_min"] == 22]
    assert sorted(r["remote_ip_prefix"] for r in ssh) == ["192.0.2.0/24", "203.0.113.0/24"]
    api = [r for r in p["security_groups"]["control_plane"]["rules"] if r["port_min"] == 6443]
    assert len(api) == 3
    bgp = [r for r in p["security_groups"]["k8s"]["rules"] if r["port_min"] == 179]
    assert {r["remote_group"] for r in bgp} == {"k8s", "router"}


def test_rules_to_groups_nobody_has_are_left_out():
    p = plan(params(inventory_groups={"etcd": ["e1"], "kube_control_plane": ["e1"]}, node_ips={}))
    assert sorted(p["security_groups"]) == ["common", "control_plane", "etcd", "k8s"]
    assert all(r["remote_group"] != "router" for r in p["security_groups"]["k8s"]["rules"])


@pytest.mark.parametrize("over, words", [
    ({"flavors": {"kube_node": "x"}}, ["openstack_infra_flavors", "kube_control_plane", "default"]),
    ({"node_ips": {"cp1": "198.51.100.1"}}, ["cp1", "outside", "openstack_infra_network.cidr"]),
    ({"node_ips": {"cp1": "192.0.2.1"}}, ["gateway", "openstack_infra_network.gateway_ip"]),
    ({"node_ips": {"cp1": "not-an-ip"}}, ["cp1", "not an address"]),
    ({"server_group_policies": {"default": "spread"}}, ["openstack_infra_server_group_policies", "spread"]),
    ({"allowed_address_pairs": ["10.244.0.1/16"]}, ["openstack_infra_allowed_address_pairs", "10.244.0.1/16"]),
    ({"inventory_groups": {"other": ["a"]}}, ["no hosts"]),
    ({"network": {}}, ["openstack_infra_network.cidr"]),
    ({"keypair": {}}, ["openstack_infra_keypair.name"]),
])
def test_bad_input_names_the_variable(over, words):
    with pytest.raises(PlanError) as err:
        plan(params(**over))
    for word in words:
        assert word in str(err.value)


def test_gateway_can_be_moved_for_a_router_on_the_first_address():
    p = plan(params(node_ips={"tor1": "192.0.2.1"}, network={"cidr": "192.0.2.0/24", "gateway_ip": "192.0.2.254"}))
    assert p["network"]["gateway_ip"] == "192.0.2.254"
    assert servers(p)["tor1"]["port"]["fixed_ip"] == "192.0.2.1"


def test_existing_network_skips_router_and_cidr():
    p = plan(params(network={"existing": "provider-net", "external_network": "public"}, node_ips={}))
    assert p["network"]["existing"] == "provider-net" and p["network"]["router"] is False
    assert p["security_groups"]["common"]["rules"][0]["remote_ip_prefix"] == "203.0.113.0/24"


def test_etcd_volumes_seeded_from_an_image_and_servers_booted_from_volumes():
    s = servers(plan(params(etcd_volume={"size": 10, "image": "etcd-seed"}, boot_volume={"size": 20, "type": "ssd"})))
    assert s["cp1"]["volume"]["image"] == "etcd-seed" and s["n1"]["volume"] is None
    assert all(s[h]["boot_volume"] == {"size": 20, "volume_type": "ssd"} for h in s)
    assert servers(plan(params()))["cp1"]["boot_volume"] is None  # default: boot from the image


@pytest.mark.parametrize("over, message", [
    ({"boot_volume": {"size": "big"}},
     "openstack_infra_boot_volume.size: 'big' is not a whole number (write it as e.g. 10)"),
    ({"etcd_volume": {"size": "ten"}},
     "openstack_infra_etcd_volume.size: 'ten' is not a whole number (write it as e.g. 10)"),
    ({"api_port": "https"}, "openstack_infra_api_port: 'https' is not a whole number (write it as e.g. 10)"),
    ({"network": {"cidr": "192.0.2.0/24", "gateway_ip": "192.0.2.256"}},
     "openstack_infra_network.gateway_ip: '192.0.2.256' is not an IP address (e.g. 192.0.2.1)"),
    ({"inventory_groups": {"etcd": "cp1"}},
     "inventory_groups['etcd']: expected a list of host names, got the string 'cp1' (write [cp1])"),
])
def test_bad_values_called_directly_name_the_variable(over, message):
    with pytest.raises(PlanError) as err:
        plan(params(**over))
    assert str(err.value) == message


def test_numbers_from_the_command_line_are_read_as_numbers():
    s = servers(plan(params(etcd_volume={"size": "10"}, api_port="6443")))
    assert s["cp1"]["volume"]["size"] == 10


def test_every_problem_of_the_input_is_reported_at_once():
    bad = params(
        flavors={"kube_node": "x"},
        images={},
        node_ips={"cp1": "198.51.100.1", "n1": "not-an-ip"},
        server_group_policies={"default": "spread"},
        allowed_address_pairs=["10.244.0.1/16"],
        etcd_volume={"size": "ten"},
        api_port=70000,
        network={"cidr": "192.0.2.0/24", "gateway_ip": "192.0.2.256", "dns_nameservers": "dns.example"},
        keypair={},
    )
    with pytest.raises(PlanError) as err:
        plan(bad)
    expected = [
        "openstack_infra_allowed_address_pairs: '10.244.0.1/16' is not a CIDR",
        "openstack_infra_api_port: 70000 is not a TCP port (1-65535)",
        "openstack_infra_etcd_volume.size: 'ten' is not a whole number (write it as e.g. 10)",
        "openstack_infra_network.gateway_ip: '192.0.2.256' is not an IP address (e.g. 192.0.2.1)",
        "openstack_infra_network.dns_nameservers: 'dns.example' is not an IP address (e.g. 192.0.2.1)",
        "openstack_infra_flavors has no entry for group kube_control_plane and no 'default'",
        "openstack_infra_images has no entry for group kube_control_plane and no 'default'",
        "openstack_infra_server_group_policies['kube_control_plane']: 'spread' is not one of",
        "node_ip of cp1 (198.51.100.1) is outside openstack_infra_network.cidr 192.0.2.0/24",
        "openstack_infra_images has no entry for group bgp_routers and no 'default'",
        "node_ip of n1: 'not-an-ip' is not an address",
        "openstack_infra_keypair.name is required",
    ]
    problems = err.value.problems
    for part in expected:
        assert sum(1 for p in problems if p.startswith(part)) == 1, (part, problems)
    assert len(problems) == len(set(problems)), problems  # a group's problem once, not once per host
    assert str(err.value) == "; ".join(problems)
