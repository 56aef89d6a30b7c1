"""kos_bird: the router plan from the cluster model, birdc parsing and the BGP report."""

import copy

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input

# Captured from BIRD 2.0.12 (`birdc -r`) in the bgp_router molecule scenario.
PROTOCOLS = """BIRD 2.0.12 ready.
Access restricted
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     2026-11-26 09:17:45.037  
kos_kernel Kernel     master4    up     2026-11-26 09:17:55.934  
node_bgp_node_1 BGP        ---        up     2026-11-26 09:20:53.059  Established   
node_bgp_node_2 BGP        ---        start  2026-11-26 09:18:21.288  Idle          BGP Error: Hold timer expired
node_bgp_node_3 BGP        ---        up     2026-11-26 09:20:53.455  Established   
"""  # noqa: W291 - birdc pads its columns

ROUTES = """BIRD 2.0.12 ready.
Table master4:
10.244.26.0/24       unicast [node_bgp_node_2 2026-11-26 09:21:20.634] * (100) [AS64602i]
\tvia 203.0.113.63 on eth0
10.244.113.0/24      unicast [node_bgp_node_1 2026-11-26 09:20:53.125] * (100) [AS64601i]
\tvia 203.0.113.62 on eth0
10.96.0.100/32       unicast [node_bgp_node_1 2026-11-26 09:20:53.125] * (100) [AS64601i]
\tvia 203.0.113.62 on eth0
10.96.0.0/16         unicast [node_bgp_node_1 2026-11-26 09:20:53.125] * (100) [AS64601i]
\tvia 203.0.113.62 on eth0
                     unicast [node_bgp_node_3 2026-11-26 09:20:53.573] (100) [AS64603 64700i]
\tvia 203.0.113.64 on eth0
10.244.5.0/24        blackhole [static1 09:10:20.000] * (200)
"""


def cluster(change=None):
    data = good_input()
    if change:
        change(data)
    return kos_model.derive(data)


def test_plan_has_one_session_per_node_with_its_own_block():
    model = cluster()
    plan = kos_bird.router_plan(model, "tor1")
    assert plan["as_number"] == 65000 and plan["router_id"] == "192.0.2.1"
    assert [p["name"] for p in plan["peers"]] == ["cp1", "cp2", "cp3", "node1", "node2"]
    for peer in plan["peers"]:
        assert peer["protocol"] == "node_" + peer["name"]
        assert peer["pod_prefixes"] == [model["nodes"][peer["name"]]["pod_block"]]
        assert peer["as_number"] == 64512
    assert plan["service_prefixes"] == ["10.96.0.0/16", "10.96.0.0/16{32,32}", "198.51.100.0/26",
                                        "198.51.100.0/26{32,32}", "198.51.100.64/26", "198.51.100.64/26{32,32}"]
    # Two budgets that do not share: pod block + Service range + 2 ranges, and 256 Service /32s;
    # the hard cap before filtering is twice their sum.
    assert {(p["pod_limit"], p["service_limit"]) for p in plan["peers"]} == {(1 + 1 + 2, 256)}
    assert {p["max_prefixes"] for p in plan["peers"]} == {2 * (1 + 1 + 2 + 256)}
    assert plan["service_host_prefixes"] == ["10.96.0.0/16{32,32}", "198.51.100.0/26{32,32}",
                                             "198.51.100.64/26{32,32}"]
    # Upstream: pod blocks at the block length and the ranges with their /32s; no default, no API VIP here.
    assert plan["upstream_prefixes"] == ["10.244.0.0/16{24,24}"] + plan["service_prefixes"]
    assert plan["upstream"] == [] and plan["routes_to_nodes"] == "pod_blocks"


def test_plan_any_block_accepts_blocks_of_the_pool_length():
    plan = kos_bird.router_plan(cluster(), "tor1", {"pod_prefix_match": "any_block", "max_local_service_routes": 10})
    assert plan["peers"][0]["pod_prefixes"] == ["10.244.0.0/16{24,24}"]
    assert plan["peers"][0]["pod_limit"] == 5 + 1 + 2 and plan["peers"][0]["service_limit"] == 10
    assert plan["peers"][0]["max_prefixes"] == 2 * (5 + 1 + 2 + 10)


def test_plan_explicit_limit_and_per_rack_as():
    def per_rack(data):
        data["cluster"]["as_mode"] = "per_rack"
    plan = kos_bird.router_plan(cluster(per_rack), "tor1", {"max_prefixes": 50})
    assert {p["name"]: p["as_number"] for p in plan["peers"]} == {
        "cp1": 64601, "cp2": 64602, "cp3": 64601, "node1": 64601, "node2": 64602}
    assert {p["max_prefixes"] for p in plan["peers"]} == {50}


def test_plan_rack_router_peers_only_with_its_racks():
    def racks(data):
        data["hosts"]["tor1"]["bgp_router_racks"] = ["rack2"]
    assert [p["name"] for p in kos_bird.router_plan(cluster(racks), "tor1")["peers"]] == ["cp2", "node2"]


def test_plan_errors_name_the_fix():
    with pytest.raises(kos_bird.PlanError, match="host spine9 is not a router of the cluster model .* bgp_routers"):
        kos_bird.router_plan(cluster(), "spine9")
    with pytest.raises(kos_bird.PlanError, match="bgp_router_pod_prefix_match is 'exact'"):
        kos_bird.router_plan(cluster(), "tor1", {"pod_prefix_match": "exact"})
    model = cluster()
    model = copy.deepcopy(model)
    model["routers"]["tor1"]["peers"].append(dict(model["routers"]["tor1"]["peers"][0], name="cp-1"))
    model["routers"]["tor1"]["peers"].append(dict(model["routers"]["tor1"]["peers"][0], name="cp_1"))
    with pytest.raises(kos_bird.PlanError, match="hosts cp-1 and cp_1 both map to the BIRD protocol name node_cp_1"):
        kos_bird.router_plan(model, "tor1")


@pytest.mark.parametrize("host,name", [("node1", "node_node1"), ("n1.example.com", "node_n1_example_com"),
                                       ("rack-2/x", "node_rack_2_x")])
def test_protocol_names_are_bird_symbols(host, name):
    assert kos_bird.protocol_name(host) == name


def test_protocol_name_avoids_keywords_and_leading_digits():
    assert kos_bird.protocol_name("ibgp", prefix="") == "ibgp_peer"
    assert kos_bird.protocol_name("1node", prefix="") == "p_1node"


def test_parse_protocols():
    parsed = kos_bird.parse_protocols(PROTOCOLS)
    assert set(parsed) == {"device1", "kos_kernel", "node_bgp_node_1", "node_bgp_node_2", "node_bgp_node_3"}
    assert parsed["node_bgp_node_1"] == {"proto": "BGP", "table": "---", "state": "up",
                                         "since": "2026-11-26 09:20:53.059", "info": "Established"}
    assert parsed["node_bgp_node_2"]["state"] == "start"
    assert parsed["node_bgp_node_2"]["info"] == "Idle BGP Error: Hold timer expired"


def test_parse_protocols_short_time_format():
    parsed = kos_bird.parse_protocols("node_a     BGP        ---        up     10:00:01.123  Established\n")
    assert parsed["node_a"]["since"] == "10:00:01.123"
    assert parsed["node_a"]["info"] == "Established"


def test_parse_routes():
    routes = kos_bird.parse_routes(ROUTES)
    assert set(routes) == {"10.244.26.0/24", "10.244.113.0/24", "10.96.0.100/32", "10.96.0.0/16", "10.244.5.0/24"}
    service = routes["10.96.0.0/16"]
    assert [r["proto"] for r in service] == ["node_bgp_node_1", "node_bgp_node_3"]
    assert service[0]["primary"] and not service[1]["primary"]
    assert service[0]["nexthops"] == [{"gateway": "203.0.113.62", "interface": "eth0"}]
    assert service[1]["as_path"] == [64603, 64700] and service[1]["origin"] == "i"
    assert service[0]["since"] == "2026-11-26 09:20:53.125" and service[0]["preference"] == 100
    assert routes["10.244.5.0/24"][0]["type"] == "blackhole" and routes["10.244.5.0/24"][0]["nexthops"] == []


def _plan():
    """A plan shaped like the molecule scenario's (three nodes, one router)."""
    return {"service_cidr": "10.96.0.0/16", "peers": [
        {"name": "bgp-node-1", "protocol": "node_bgp_node_1", "ip": "203.0.113.62", "as_number": 64601,
         "pod_block": "10.244.113.0/24"},
        {"name": "bgp-node-2", "protocol": "node_bgp_node_2", "ip": "203.0.113.63", "as_number": 64602,
         "pod_block": "10.244.26.0/24"},
        {"name": "bgp-node-3", "protocol": "node_bgp_node_3", "ip": "203.0.113.64", "as_number": 64603,
         "pod_block": "10.244.241.0/24"},
    ]}


def test_report_names_what_is_missing():
    report = kos_bird.bgp_report(_plan(), kos_bird.parse_protocols(PROTOCOLS), kos_bird.parse_routes(ROUTES))
    assert not report["ok"]
    assert report["established"] == 2 and report["expected"] == 3
    assert report["missing"] == [
        "session node_bgp_node_2 to node bgp-node-2 (203.0.113.63, AS 64602) is not Established: "
        "start Idle BGP Error: Hold timer expired",
        "pod block 10.244.241.0/24 of node bgp-node-3 is not in the routing table from node_bgp_node_3",
    ]
    assert report["service_announced_by"] == ["node_bgp_node_1", "node_bgp_node_3"]
    assert report["ecmp"] == {"10.96.0.0/16": 2} and report["unexpected"] == []


def test_report_healthy():
    protocols = kos_bird.parse_protocols(PROTOCOLS.replace(
        "start  2026-11-26 09:18:21.288  Idle          BGP Error: Hold timer expired",
        "up     2026-11-26 09:21:20.499  Established"))
    routes = kos_bird.parse_routes(ROUTES)
    for proto, block, gw in (("node_bgp_node_2", "10.96.0.0/16", "203.0.113.63"),
                             ("node_bgp_node_3", "10.244.241.0/24", "203.0.113.64")):
        routes.setdefault(block, []).append({"proto": proto, "nexthops": [{"gateway": gw, "interface": "eth0"}]})
    report = kos_bird.bgp_report(_plan(), protocols, routes)
    assert report["ok"], report["missing"]
    assert report["missing"] == []


def test_report_absent_session_service_missing_and_block_from_the_wrong_node():
    plan = _plan()
    protocols = {"node_bgp_node_1": {"state": "up", "info": "Established", "proto": "BGP", "table": "---",
                                     "since": ""}}
    routes = {"10.244.113.0/24": [{"proto": "node_bgp_node_3", "nexthops": []}]}
    missing = kos_bird.bgp_report(plan, protocols, routes)["missing"]
    assert "session node_bgp_node_2 to node bgp-node-2 (203.0.113.63, AS 64602) is not configured on this router" \
        in missing
    assert "pod block 10.244.113.0/24 of node bgp-node-1 is not in the routing table from node_bgp_node_1 " \
        "(learned only from node_bgp_node_3)" in missing
    assert "Service range 10.96.0.0/16 is not in the routing table (no node announces it)" in missing


def test_report_service_not_announced_by_an_established_node():
    protocols = kos_bird.parse_protocols(PROTOCOLS.replace(
        "start  2026-11-26 09:18:21.288  Idle          BGP Error: Hold timer expired",
        "up     2026-11-26 09:21:20.499  Established"))
    missing = kos_bird.bgp_report(_plan(), protocols, kos_bird.parse_routes(ROUTES))["missing"]
    assert "Service range 10.96.0.0/16 is not announced by node_bgp_node_2 " \
        "(ECMP set: node_bgp_node_1, node_bgp_node_3)" in missing


def test_plan_upstream_peers_get_their_own_protocols_and_limit():
    from ansible_collections.kos.platform.tests.unit.routing.test_kos_routing import datacentre

    plan = kos_bird.router_plan(kos_model.derive(datacentre()), "tor2a", {"upstream_max_prefixes": 500})
    assert [p["name"] for p in plan["peers"]] == ["node2", "node3"]
    assert plan["upstream"] == [{"name": "spine1", "protocol": "up_spine1", "ip": "192.0.2.250", "as_number": 65100,
                                 "max_prefixes": 500}]


def test_report_names_unexpected_routes_a_missing_upstream_and_ecmp_width_per_range():
    plan = _plan()
    plan["service_prefixes"] = ["10.96.0.0/16", "10.96.0.0/16{32,32}", "198.51.100.0/26", "198.51.100.0/26{32,32}"]
    plan["upstream"] = [{"name": "spine", "protocol": "up_spine", "ip": "198.18.140.1", "as_number": 65100}]
    protocols = kos_bird.parse_protocols(PROTOCOLS)
    routes = kos_bird.parse_routes(ROUTES)
    # What an import filter should never let through: another node's block, a default route.
    routes["10.244.26.0/24"].append({"proto": "node_bgp_node_1", "nexthops": []})
    routes["0.0.0.0/0"] = [{"proto": "node_bgp_node_3", "nexthops": []}]
    routes["198.51.100.0/26"] = [{"proto": "node_bgp_node_1", "nexthops": []}]
    report = kos_bird.bgp_report(plan, protocols, routes)
    assert report["unexpected"] == [
        "10.244.26.0/24 from node bgp-node-1 (node_bgp_node_1) was accepted but is not the node's to announce: "
        "check the import filter kos_import_node_bgp_node_1",
        "0.0.0.0/0 from node bgp-node-3 (node_bgp_node_3) was accepted but is not the node's to announce: check "
        "the import filter kos_import_node_bgp_node_3",
    ]
    assert "upstream session up_spine to spine (198.18.140.1, AS 65100) is not Established: absent" in report["missing"]
    assert "range 198.51.100.0/26 is not announced by node_bgp_node_3 (ECMP set: node_bgp_node_1)" in report["missing"]
    assert report["ecmp"] == {"10.96.0.0/16": 2, "198.51.100.0/26": 1}
    assert not report["ok"]
