"""Unit tests of the cluster model: every bad input names its variable and the fix."""

import copy

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_model


def good_input():
    return {
        "cluster": {
            "name": "kos-demo",
            "domain": "cluster.local",
            "kubernetes_version": "1.37.1",
            "node_cidr": "192.0.2.0/24",
            "pod_cidr": "10.244.0.0/16",
            "pod_block_prefix": 24,
            "service_cidr": "10.96.0.0/16",
            "external_ip_cidrs": ["198.51.100.0/26"],
            "loadbalancer_ip_cidrs": ["198.51.100.64/26"],
            "as_number": 64512,
            "as_mode": "global",
            "rack_as_numbers": {"rack1": 64601, "rack2": 64602},
            "node_to_node_mesh": True,
        },
        "groups": {
            "etcd": ["cp1", "cp2", "cp3"],
            "kube_control_plane": ["cp1", "cp2", "cp3"],
            "kube_node": ["node1", "node2"],
            "bgp_routers": ["tor1"],
            "image_builders": ["builder1"],
        },
        "hosts": {
            "cp1": {"node_ip": "192.0.2.11", "node_rack": "rack1"},
            "cp2": {"node_ip": "192.0.2.12", "node_rack": "rack2"},
            "cp3": {"node_ip": "192.0.2.13", "node_rack": "rack1"},
            "node1": {"node_ip": "192.0.2.21", "node_rack": "rack1"},
            "node2": {"ansible_host": "192.0.2.22", "node_rack": "rack2"},
            "tor1": {"node_ip": "192.0.2.1", "bgp_router_as_number": 65000},
            "builder1": {"node_ip": "192.0.2.31"},
        },
    }


def with_change(change):
    data = good_input()
    change(data)
    return data


def set_cluster(key, value):
    return lambda d: d["cluster"].__setitem__(key, value)


def set_host(host, key, value):
    return lambda d: d["hosts"][host].__setitem__(key, value)


def set_group(group, members):
    return lambda d: d["groups"].__setitem__(group, members)


def chain(*changes):
    def apply(data):
        for change in changes:
            change(data)
    return apply


BAD_CASES = [
    ("name not a DNS label", set_cluster("name", "Kos_Demo"),
     "cluster_name is 'Kos_Demo': use a DNS label (lower-case letters, digits and '-', at most 63, e.g. kos-demo)"),
    ("domain invalid", set_cluster("domain", "cluster..local"),
     "cluster_domain is 'cluster..local': use a DNS domain such as cluster.local"),
    ("kubernetes version malformed", set_cluster("kubernetes_version", "latest"),
     "cluster_kubernetes_version is 'latest': give a release such as 1.31.4"),
    ("node cidr missing", set_cluster("node_cidr", ""),
     "cluster_node_cidr is not set: give the node network in CIDR form, e.g. 192.0.2.0/24 (there is no default: "
     "it is the site's own network)"),
    ("pod cidr malformed", set_cluster("pod_cidr", "10.244.0.0"),
     "cluster_pod_cidr is '10.244.0.0', not a CIDR: write it as ADDRESS/PREFIX, e.g. 10.244.0.0/16"),
    ("service cidr garbage", set_cluster("service_cidr", "10.96.0.0/33"),
     "cluster_service_cidr is '10.96.0.0/33', not a CIDR: write it as ADDRESS/PREFIX, e.g. 10.244.0.0/16"),
    ("pod cidr host bits", set_cluster("pod_cidr", "10.244.1.0/16"),
     "cluster_pod_cidr is 10.244.1.0/16, which has host bits set: use the network address 10.244.0.0/16"),
    ("pod overlaps service", set_cluster("service_cidr", "10.244.128.0/20"),
     "cluster_pod_cidr (10.244.0.0/16) overlaps cluster_service_cidr (10.244.128.0/20): every cluster range "
     "must be disjoint; move one of them"),
    ("pod overlaps node network", set_cluster("pod_cidr", "192.0.0.0/16"),
     "cluster_node_cidr (192.0.2.0/24) overlaps cluster_pod_cidr (192.0.0.0/16): every cluster range must be "
     "disjoint; move one of them"),
    ("external overlaps load balancer", set_cluster("loadbalancer_ip_cidrs", ["198.51.100.32/27"]),
     "cluster_external_ip_cidrs[0] (198.51.100.0/26) overlaps cluster_loadbalancer_ip_cidrs[0] "
     "(198.51.100.32/27): every cluster range must be disjoint; move one of them"),
    ("external not a list", set_cluster("external_ip_cidrs", 26),
     "cluster_external_ip_cidrs is 26, not a list: give a list of CIDRs such as [198.51.100.0/26], or [] for none"),
    ("external entry malformed", set_cluster("external_ip_cidrs", ["198.51.100.300/26"]),
     "cluster_external_ip_cidrs[0] is '198.51.100.300/26', not a CIDR: write it as ADDRESS/PREFIX, e.g. "
     "198.51.100.0/26"),
    ("address family mismatch", set_cluster("service_cidr", "fd00:96::/108"),
     "cluster_pod_cidr (10.244.0.0/16) is IPv4 but cluster_service_cidr (fd00:96::/108) is IPv6: use one "
     "address family for both"),
    ("service range too small", set_cluster("service_cidr", "10.96.0.0/29"),
     "cluster_service_cidr 10.96.0.0/29 has 8 addresses; the API service uses the first and DNS the tenth: give "
     "at least a /28"),
    ("block prefix shorter than pod cidr", set_cluster("pod_block_prefix", 12),
     "cluster_pod_block_prefix is 12, but a node's block must lie inside cluster_pod_cidr (/16) and hold pods: "
     "choose a value from 16 to 30"),
    ("block prefix not a number", set_cluster("pod_block_prefix", "big"),
     "cluster_pod_block_prefix is 'big', not a whole number: give a prefix length such as 24"),
    ("pod blocks cannot hold the nodes", chain(set_cluster("pod_cidr", "10.244.0.0/23"),
                                               set_cluster("pod_block_prefix", 24)),
     "cluster_pod_cidr 10.244.0.0/23 holds 2 blocks of /24 but the cluster has 5 Kubernetes hosts: widen "
     "cluster_pod_cidr or lengthen cluster_pod_block_prefix"),
    ("pinned block outside the pod cidr", set_host("node1", "node_pod_block", "10.245.0.0/24"),
     "node_pod_block of node1 is '10.245.0.0/24': it must be a /24 network inside cluster_pod_cidr 10.244.0.0/16"),
    ("pinned block twice", chain(set_host("node1", "node_pod_block", "10.244.7.0/24"),
                                 set_host("node2", "node_pod_block", "10.244.7.0/24")),
     "node_pod_block 10.244.7.0/24 is pinned on both node1 and node2: give each host its own block"),
    ("cluster AS reserved", set_cluster("as_number", 23456),
     "cluster_as_number is 23456, a reserved AS number (0, 23456, 65535 and 4294967295 are reserved): give a "
     "private AS number such as 64512 (64512-65534 or 4200000000-4294967294)"),
    ("cluster AS too large", set_cluster("as_number", 4294967296),
     "cluster_as_number is 4294967296, outside 1-4294967295: give a private AS number such as 64512 "
     "(64512-65534 or 4200000000-4294967294)"),
    ("cluster AS not a number", set_cluster("as_number", "64512a"),
     "cluster_as_number is '64512a', not a whole number: give a private AS number such as 64512 (64512-65534 or "
     "4200000000-4294967294)"),
    ("AS mode unknown", set_cluster("as_mode", "per_pod"),
     "cluster_as_mode is 'per_pod': choose one of global, per_rack, per_node"),
    ("per rack without rack", chain(set_cluster("as_mode", "per_rack"), set_host("node2", "node_rack", None)),
     "host node2 has no node_rack, but cluster_as_mode is per_rack: set node_rack"),
    ("per rack with unknown rack", chain(set_cluster("as_mode", "per_rack"), set_host("node2", "node_rack", "r9")),
     "node_rack of node2 is 'r9', which has no AS in cluster_rack_as_numbers: add it there"),
    ("rack AS reserved", set_cluster("rack_as_numbers", {"rack1": 65535}),
     "cluster_rack_as_numbers[rack1] is 65535, a reserved AS number (0, 23456, 65535 and 4294967295 are "
     "reserved): give a private AS number"),
    ("per node without AS", set_cluster("as_mode", "per_node"),
     "host cp1 has no node_as_number, but cluster_as_mode is per_node: set it"),
    ("router shares the cluster AS", set_host("tor1", "bgp_router_as_number", 64512),
     "router tor1 has AS 64512, the same as Kubernetes nodes: the routers peer over eBGP, so give "
     "bgp_router_as_number a different AS"),
    ("router without AS", set_host("tor1", "bgp_router_as_number", None),
     "router tor1 has no AS number: set bgp_router_as_number (its AS, distinct from the cluster's)"),
    ("router inside the cluster", set_group("bgp_routers", ["node1"]),
     "host node1 is in bgp_routers and in the Kubernetes groups: the external routers stand outside the "
     "cluster; remove it from one of them"),
    ("no routers and no mesh", chain(set_group("bgp_routers", []), set_cluster("node_to_node_mesh", False)),
     "there is no BGP router and cluster_node_to_node_mesh is off: nodes would learn no routes; add hosts to "
     "bgp_routers, set cluster_external_bgp_peers, or turn the mesh on"),
    ("even etcd count", set_group("etcd", ["cp1", "cp2"]),
     "group etcd has 2 members: etcd needs an odd count (1, 3, 5) for a quorum that survives failures; add or "
     "remove one host"),
    ("zero etcd members", set_group("etcd", []),
     "group etcd is empty: put at least one host in it in the inventory"),
    ("no control plane", chain(set_group("kube_control_plane", []), set_group("etcd", ["node1"])),
     "group kube_control_plane is empty: put at least one host in it in the inventory"),
    ("grouped host not defined", set_group("kube_node", ["node1", "node2", "node9"]),
     "host node9 is in a group but has no host entry: define it in the inventory"),
    ("duplicate addresses", set_host("node2", "ansible_host", "192.0.2.21"),
     "hosts node1 and node2 share the address 192.0.2.21: give each host its own node_ip"),
    ("address outside the node network", set_host("node1", "node_ip", "203.0.113.5"),
     "node_ip of node1 is 203.0.113.5, outside cluster_node_cidr 192.0.2.0/24: fix the address or widen "
     "cluster_node_cidr"),
    ("address malformed", set_host("node1", "node_ip", "192.0.2.300"),
     "node_ip of node1 is '192.0.2.300', not an IP address: give its address in cluster_node_cidr"),
    ("host without address", lambda d: d["hosts"]["node1"].pop("node_ip"),
     "host node1 has no address: set node_ip (or ansible_host) to its address in cluster_node_cidr"),
    ("host name not a DNS name", chain(set_group("kube_node", ["node1", "Node_2"]),
                                       lambda d: d["hosts"].__setitem__("Node_2", {"node_ip": "192.0.2.40"})),
     "host Node_2 would be Kubernetes node 'Node_2', not a DNS name: rename the host or set node_name "
     "(lower-case letters, digits, '-' and '.')"),
    ("two hosts one node name", set_host("node2", "node_name", "node1"),
     "hosts node1 and node2 both become Kubernetes node 'node1': node names must be unique; set node_name on one "
     "of them"),
    ("unsupported OS family", set_host("node1", "os_family", "Suse"),
     "host node1 runs the Suse OS family, which kos.platform does not support: use Debian or RedHat"),
    ("authorization mode unknown", set_cluster("authorization_mode", "AlwaysAllow"),
     "cluster_authorization_mode is 'AlwaysAllow': choose one of RBAC, ABAC, Webhook"),
    ("webhook authorization without keystone", set_cluster("authorization_mode", "Webhook"),
     "cluster_authorization_mode is Webhook but cluster_keystone_auth is off: the webhook authorizer is "
     "k8s-keystone-auth; turn cluster_keystone_auth on or choose RBAC or ABAC"),
    ("boolean that is not one", set_cluster("keystone_auth", "maybe"),
     "cluster_keystone_auth is 'maybe', not a boolean: write true or false"),
    ("external peers not a list", set_cluster("external_bgp_peers", {"name": "x"}),
     "cluster_external_bgp_peers is {'name': 'x'}, not a list: give [{name, ip, as_number}] or []"),
]


@pytest.mark.parametrize("label,change,message", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_reported_exactly(label, change, message):
    errors = kos_model.validate(with_change(change))
    assert message in errors, "\n".join(errors)


def test_bad_cases_are_distinct():
    messages = [case[2] for case in BAD_CASES]
    assert len(set(messages)) == len(messages) >= 25


def test_good_input_has_no_errors():
    assert kos_model.validate(good_input()) == []


def test_invalid_input_cannot_be_derived():
    with pytest.raises(kos_model.ModelError, match="group etcd has 2 members"):
        kos_model.derive(with_change(set_group("etcd", ["cp1", "cp2"])))


def test_several_problems_are_all_reported():
    errors = kos_model.validate(with_change(chain(set_group("etcd", ["cp1", "cp2"]),
                                                  set_cluster("as_number", 0))))
    assert len(errors) == 2


def test_derived_service_ips_and_api():
    model = kos_model.derive(good_input())
    assert model["service_ips"] == {"kubernetes": "10.96.0.1", "dns": "10.96.0.10"}
    # No VIP and no load balancer: the local proxy on every node
    # (tests/unit/plugins/module_utils/test_kos_api_endpoint.py).
    assert {k: model["api"][k] for k in ("mode", "endpoint", "port", "url")} == {
        "mode": "local_proxy", "endpoint": "127.0.0.1", "port": 6443, "url": "https://127.0.0.1:6444"}
    assert model["kubernetes_version"] == "1.37.1"
    assert model["versions"]["minor"] == "1.37" and model["versions"]["kubernetes"] == "1.37.1"


def test_derived_pod_blocks_are_disjoint_and_inside_the_pod_cidr():
    import netaddr
    model = kos_model.derive(good_input())
    blocks = [netaddr.IPNetwork(n["pod_block"]) for n in model["nodes"].values()]
    assert len(blocks) == 5
    assert all(b.prefixlen == 24 and b in netaddr.IPNetwork("10.244.0.0/16") for b in blocks)
    assert len({str(b) for b in blocks}) == 5


def test_pod_blocks_are_stable_when_a_node_joins():
    before = kos_model.derive(good_input())
    grown = with_change(chain(set_group("kube_node", ["node1", "node2", "node3"]),
                              lambda d: d["hosts"].__setitem__("node3", {"node_ip": "192.0.2.23"})))
    after = kos_model.derive(grown)
    for name, node in before["nodes"].items():
        assert after["nodes"][name]["pod_block"] == node["pod_block"]
    assert after["nodes"]["node3"]["pod_block"] not in [n["pod_block"] for n in before["nodes"].values()]


def test_pod_blocks_do_not_depend_on_inventory_order():
    data = good_input()
    reordered = copy.deepcopy(data)
    reordered["groups"]["kube_node"] = ["node2", "node1"]
    assert kos_model.derive(data)["nodes"]["node1"]["pod_block"] == \
        kos_model.derive(reordered)["nodes"]["node1"]["pod_block"]


def test_pinned_pod_block_is_honoured():
    model = kos_model.derive(with_change(set_host("node1", "node_pod_block", "10.244.200.0/24")))
    assert model["nodes"]["node1"]["pod_block"] == "10.244.200.0/24"


def test_pod_blocks_probe_past_collisions():
    blocks = kos_model.allocate_pod_blocks("10.244.0.0/22", 24, ["a", "b", "c", "d"])
    assert sorted(blocks.values()) == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]


def test_peering_plan_global_mode():
    model = kos_model.derive(good_input())
    plan = model["bgp"]["peerings"]
    assert len(plan) == 5
    assert plan[0] == {"node": "cp1", "node_ip": "192.0.2.11", "node_as_number": 64512, "router": "tor1",
                       "router_ip": "192.0.2.1", "router_as_number": 65000}
    router = model["routers"]["tor1"]
    assert router["as_number"] == 65000 and router["managed"] is True
    assert [p["name"] for p in router["peers"]] == ["cp1", "cp2", "cp3", "node1", "node2"]
    assert {p["as_number"] for p in router["peers"]} == {64512}


def test_peering_plan_per_rack_with_rack_routers():
    data = with_change(chain(
        set_cluster("as_mode", "per_rack"),
        set_group("bgp_routers", ["tor1", "tor2"]),
        set_host("tor1", "bgp_router_racks", ["rack1"]),
        lambda d: d["hosts"].__setitem__("tor2", {"node_ip": "192.0.2.2", "bgp_router_as_number": 65000,
                                                  "bgp_router_racks": ["rack2"]}),
    ))
    model = kos_model.derive(data)
    assert [p["name"] for p in model["routers"]["tor1"]["peers"]] == ["cp1", "cp3", "node1"]
    assert [p["name"] for p in model["routers"]["tor2"]["peers"]] == ["cp2", "node2"]
    assert model["nodes"]["cp2"]["as_number"] == 64602
    assert model["nodes"]["node1"]["as_number"] == 64601


def test_unmanaged_external_peer_joins_the_plan():
    data = with_change(set_cluster("external_bgp_peers", [{"name": "spine", "ip": "192.0.2.254",
                                                           "as_number": 65100}]))
    model = kos_model.derive(data)
    assert model["routers"]["spine"]["managed"] is False
    assert len([p for p in model["bgp"]["peerings"] if p["router"] == "spine"]) == 5


def test_etcd_members_and_urls():
    model = kos_model.derive(good_input())
    assert model["etcd"]["initial_cluster"] == ("cp1=https://192.0.2.11:2380,cp2=https://192.0.2.12:2380,"
                                                "cp3=https://192.0.2.13:2380")
    assert model["etcd"]["client_urls"] == "https://192.0.2.11:2379,https://192.0.2.12:2379,https://192.0.2.13:2379"


def test_certificate_sans():
    model = kos_model.derive(with_change(set_cluster("api_endpoint", "api.kos.example.com")))
    assert model["sans"]["cp1"] == {
        "dns": ["cp1", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "api.kos.example.com", "localhost"],
        "ip": ["192.0.2.11", "127.0.0.1", "10.96.0.1"],
    }
    assert model["sans"]["node1"] == {"dns": ["node1", "localhost"], "ip": ["192.0.2.21", "127.0.0.1"]}
    assert "builder1" not in model["sans"]


def test_nodes_carry_groups_and_names():
    model = kos_model.derive(with_change(set_host("node2", "node_name", "worker-2")))
    assert model["nodes"]["cp1"]["groups"] == ["kube_control_plane", "etcd"]
    assert model["nodes"]["node2"]["node_name"] == "worker-2"
    assert model["nodes"]["node2"]["ip"] == "192.0.2.22"


def test_auth_paths_follow_the_modes():
    model = kos_model.derive(with_change(chain(set_cluster("authorization_mode", "ABAC"),
                                               set_cluster("keystone_auth", True))))
    assert model["auth"]["authorization_modes"] == ["Node", "RBAC", "ABAC"]
    assert model["auth"]["abac_policy_file"] == "/etc/kubernetes/keystone/abac-policy.jsonl"
    assert model["auth"]["webhook_authn_config"] == "/etc/kubernetes/keystone/webhook-authn.kubeconfig"
    assert kos_model.derive(good_input())["auth"]["webhook_authn_config"] == ""


def test_boolean_words_are_parsed_strictly():
    model = kos_model.derive(with_change(chain(set_cluster("keystone_auth", "false"),
                                               set_cluster("node_to_node_mesh", "no"))))
    assert model["auth"]["keystone"] is False
    assert model["bgp"]["node_to_node_mesh"] is False
