"""Live data-centre routing: two racks with two top-of-rack routers each (this role's BIRD), a spine
stand-in above them and a client beyond it; the nodes run the Calico, kube-proxy and CoreDNS
stand-ins (calico_standin.yml). Everything is generated from the scenario's cluster model, and every
claim is proved with real traffic from the client."""

import json
import re
import time

import netaddr
import pytest
import yaml
from conftest import (
    DNS_IP,
    HOLD_TIME,
    LOCAL_IP,
    LOCAL_NODE,
    MODEL,
    NODES,
    PLANS,
    POD_IPS,
    ROUTERS,
    SCENARIO,
    SPINE,
    TOP,
    WEB_IP,
    all_established,
    birdc,
    client,
    established,
    host,
    http_many,
    kernel_routes,
    playbook,
    protocols,
    router_sessions,
    wait_for,
    watch,
)

from ansible_collections.kos.platform.plugins.module_utils import kos_bird

with open(SCENARIO + "/molecule.yml", encoding="utf-8") as _handle:
    _HOST_VARS = yaml.safe_load(_handle)["provisioner"]["inventory"]["host_vars"]
FABRIC_IP = {r: _HOST_VARS[r]["standin_fabric_ip"] for r in ROUTERS}
RACK_ROUTERS = {node: sorted(r for r in ROUTERS if node in [p["name"] for p in PLANS[r]["peers"]]) for node in NODES}
SHARED_RANGES = [MODEL["networks"]["service"]] + MODEL["networks"]["external"] + MODEL["networks"]["loadbalancer"]
DOMAIN = MODEL["domain"]


def fabric_hops(routers):
    return sorted(FABRIC_IP[r] for r in routers)


def node_ip(name):
    return MODEL["nodes"][name]["ip"] if name in MODEL["nodes"] else MODEL["routers"][name]["ip"]


def test_every_session_is_established_and_each_node_has_two_routers():
    for router in ROUTERS:
        state = protocols(router)
        for name in router_sessions(router):
            assert state[name]["state"] == "up" and state[name]["info"].startswith("Established"), (router, state)
    assert all(len(routers) == 2 for routers in RACK_ROUTERS.values()), RACK_ROUTERS
    # No node-to-node mesh: a node's only sessions are its rack's two routers.
    for node in NODES:
        sessions = [n for n, p in protocols(node).items() if p["proto"] == "BGP"]
        assert sorted(sessions) == sorted(r.replace("-", "_") for r in RACK_ROUTERS[node]), sessions


def test_spine_routes_each_range_over_the_right_routers():
    routes = kernel_routes(SPINE)
    for node in NODES:
        assert routes.get(MODEL["nodes"][node]["pod_block"]) == fabric_hops(RACK_ROUTERS[node]), routes
    for cidr in SHARED_RANGES:
        assert routes.get(cidr) == fabric_hops(ROUTERS), "%s: %s" % (cidr, routes.get(cidr))
    assert routes.get(LOCAL_IP + "/32") == fabric_hops(RACK_ROUTERS[LOCAL_NODE]), routes


def test_nodes_get_a_default_route_from_both_routers_of_their_rack():
    for node in NODES:
        assert kernel_routes(node).get("0.0.0.0/0") == sorted(node_ip(r) for r in RACK_ROUTERS[node]), node


def test_routers_hash_ecmp_on_layer_4():
    for router in ROUTERS:
        assert host(router).check_output("sysctl -n net.ipv4.fib_multipath_hash_policy").strip() == "1"
        assert host(router).check_output("sysctl -n net.ipv4.ip_forward").strip() == "1"


def test_a_pod_address_on_each_node_answers_the_client():
    names = list(NODES)
    assert client(*[("http", POD_IPS[node], 8080) for node in names]) == names


def test_the_service_clusterip_answers_and_spreads_connections_over_nodes():
    # Each connection is a new source port: layer-4 hashing on the spine and the routers spreads them.
    answers = http_many(WEB_IP, 32)
    assert all(not a.startswith("error") for a in answers), answers
    assert set(answers) <= set(NODES)
    assert len(set(answers)) >= 2, "every connection reached %s: no L4 ECMP" % set(answers)


def test_the_dns_clusterip_answers_udp_and_tcp():
    name = "web.default.svc." + DOMAIN
    udp, tcp = client(("dns_udp", DNS_IP, name), ("dns_tcp", DNS_IP, name))
    assert udp == {"rcode": 0, "answers": 1, "address": WEB_IP}, udp
    assert tcp == {"rcode": 0, "answers": 1, "address": WEB_IP}, tcp


def test_a_local_service_reaches_only_its_endpoint_node():
    assert set(http_many(LOCAL_IP, 8)) == {LOCAL_NODE}


ROGUE_NODE = "bgp-node-3"
VICTIM = "bgp-node-1"


def _rogue_prefixes():
    own = netaddr.IPNetwork(MODEL["nodes"][ROGUE_NODE]["pod_block"])
    service = netaddr.IPNetwork(MODEL["networks"]["service"])
    return {
        "0.0.0.0/0": "default route",
        "198.19.250.0/24": "foreign prefix",
        MODEL["nodes"][VICTIM]["pod_block"]: "another node's pod block",
        "%s/%d" % (own.network, own.prefixlen + 2): "too specific inside its own block",
        "%s/32" % own[5]: "pod /32 (too specific)",
        "%s/24" % service[512]: "too specific inside the Service range",
    }


def _announce(node, prefixes):
    routes = "".join("  route %s blackhole;\n" % prefix for prefix in prefixes)
    host(node).check_output("printf '%%s' %s > /etc/bird/kos-rogue.conf && birdc configure",
                            "protocol static rogue {\n  ipv4;\n%s}\n" % routes)


def _withdraw(node):
    host(node).check_output("echo '# filled by the rogue-node test' > /etc/bird/kos-rogue.conf && birdc configure")


def _table(router, node):
    return [p for p in PLANS[router]["peers"] if p["name"] == node][0]


@pytest.fixture()
def rogue_node():
    _announce(ROGUE_NODE, _rogue_prefixes())
    try:
        yield
    finally:
        _withdraw(ROGUE_NODE)


def test_rogue_announcements_never_reach_the_clients_router(rogue_node):
    expected = _rogue_prefixes()
    for router in RACK_ROUTERS[ROGUE_NODE]:
        peer = _table(router, ROGUE_NODE)

        def filtered(router=router, peer=peer):
            got = kos_bird.parse_routes(birdc(router, "show", "route", "filtered", "table", peer["table"]))
            return got if set(expected) <= set(got) else None
        # The router received every rogue route (kept as filtered): the rejection is the filter's doing.
        assert wait_for(filtered, 30), "%s did not receive every rogue route" % router
    time.sleep(2)  # a propagation round to the spine, had anything passed
    spine_table = kos_bird.parse_routes(birdc(SPINE, "show", "route"))
    for prefix, what in expected.items():
        if prefix == MODEL["nodes"][VICTIM]["pod_block"]:
            # Still only through the victim's own rack.
            assert kernel_routes(SPINE).get(prefix) == fabric_hops(RACK_ROUTERS[VICTIM]), what
        else:
            assert prefix not in spine_table, "%s (%s) reached the spine: %s" % (prefix, what, spine_table[prefix])
    assert all_established()


def test_service_host_routes_over_their_limit_never_touch_the_pod_block():
    limit = PLANS[ROUTERS[0]]["peers"][0]["service_limit"]
    service = netaddr.IPNetwork(MODEL["networks"]["service"])
    flood = ["%s/32" % service[200 + i] for i in range(limit * 2)]
    block = MODEL["nodes"][ROGUE_NODE]["pod_block"]
    _announce(ROGUE_NODE, flood)
    try:
        for router in RACK_ROUTERS[ROGUE_NODE]:
            peer = _table(router, ROGUE_NODE)

            def received(router=router, peer=peer):
                got = kos_bird.parse_routes(birdc(router, "show", "route", "table", peer["table"]))
                return set(flood) <= set(got)
            assert wait_for(received, 30), "%s did not receive the flood" % router
            for _attempt in range(5):
                main = kos_bird.parse_routes(birdc(router, "show", "route", "table", "master4", "protocol",
                                                   peer["protocol"]))
                taken = [p for p in flood if p in main]
                assert len(taken) <= limit, "the /32 limit (%d) did not hold on %s: %s" % (limit, router, taken)
                # The pod block and the session are untouched.
                assert block in main, main
                assert established(router, [peer["protocol"]])
                time.sleep(0.5)
        assert client(("http", POD_IPS[ROGUE_NODE], 8080)) == [ROGUE_NODE]
    finally:
        _withdraw(ROGUE_NODE)
    # Once the flood is gone, the node's /32s fit again and are taken back.
    _announce(ROGUE_NODE, flood[:limit])
    try:
        for router in RACK_ROUTERS[ROGUE_NODE]:
            def back(router=router):
                main = kos_bird.parse_routes(birdc(router, "show", "route", "table", "master4"))
                return all(p in main for p in flood[:limit])
            assert wait_for(back, 30), router
    finally:
        _withdraw(ROGUE_NODE)


def _links(name):
    links = json.loads(host(name).check_output("ip -j link show"))
    return [link["ifname"] for link in links if link["ifname"].startswith("eth")]


@pytest.fixture()
def cut_off():
    """Take a host off its networks (links down: it falls silent, as a dead host does), then restore it."""
    cut = []

    def cut_host(name):
        default = host(name).check_output("ip -4 route show default").strip()
        links = _links(name)
        for link in links:
            host(name).check_output("ip link set %s down", link)
        cut.append((name, links, default))
        return time.monotonic()
    yield cut_host
    for name, links, default in cut:
        for link in links:
            host(name).check_output("ip link set %s up", link)
        if default and "proto bird" not in default:
            host(name).run("ip route replace %s", default)
    assert wait_for(all_established, 60), {r: protocols(r) for r in ROUTERS}


FAILING_NODE = "bgp-node-2"


def test_a_stopped_node_is_withdrawn_within_the_hold_time_and_the_service_keeps_answering(cut_off):
    block = MODEL["nodes"][FAILING_NODE]["pod_block"]
    started = cut_off(FAILING_NODE)
    gone, unmet = watch(lambda: block not in kernel_routes(SPINE), HOLD_TIME + 30)
    assert gone, kernel_routes(SPINE)
    # Upper bound: the routers' hold timer, then one update to the spine (2 s for both daemons' scheduling).
    # Measured to the start of the last poll that still saw the route (see conftest.watch): the cut ended at
    # `started`, so a poll begun later than the bound that still saw the route proves it late.
    late = 0.0 if unmet is None else unmet - started
    assert late <= HOLD_TIME + 2.0, "still announced %.1f s after the cut, hold time %d s" % (late, HOLD_TIME)
    answers = http_many(WEB_IP, 24)
    assert all(not a.startswith("error") for a in answers), answers
    assert set(answers) <= set(NODES) - {FAILING_NODE} and len(set(answers)) >= 2, answers
    others = [n for n in NODES if n != FAILING_NODE]
    assert client(*[("http", POD_IPS[n], 8080) for n in others]) == others
    # verify_bgp.yml on the failing node's routers names what is missing.
    rc, output = playbook(TOP + "/playbooks/verify_bgp.yml", "--limit", ",".join(RACK_ROUTERS[FAILING_NODE]))
    assert rc != 0
    protocol = _table(RACK_ROUTERS[FAILING_NODE][0], FAILING_NODE)["protocol"]
    assert "session %s to node %s" % (protocol, FAILING_NODE) in output, output
    assert "pod block %s of node %s is not in the routing table" % (block, FAILING_NODE) in output, output


FAILING_ROUTER = "bgp-tor1a"


def test_every_address_still_answers_after_a_router_of_a_rack_stops(cut_off):
    survivor = [r for r in ROUTERS if r != FAILING_ROUTER and MODEL["routers"][r]["racks"] ==
                MODEL["routers"][FAILING_ROUTER]["racks"]][0]
    rack_nodes = [p["name"] for p in PLANS[FAILING_ROUTER]["peers"]]
    cut_off(FAILING_ROUTER)

    def rerouted():
        spine = kernel_routes(SPINE)
        return all(spine.get(MODEL["nodes"][n]["pod_block"]) == [FABRIC_IP[survivor]] for n in rack_nodes) and \
            all(kernel_routes(n).get("0.0.0.0/0") == [node_ip(survivor)] for n in rack_nodes)
    assert wait_for(rerouted, HOLD_TIME + 30, interval=0.2), (kernel_routes(SPINE), kernel_routes(rack_nodes[0]))
    assert client(*[("http", POD_IPS[n], 8080) for n in NODES]) == NODES
    answers = http_many(WEB_IP, 16)
    assert all(not a.startswith("error") for a in answers), answers
    name = "web.default.svc." + DOMAIN
    assert [r["address"] for r in client(("dns_udp", DNS_IP, name), ("dns_tcp", DNS_IP, name))] == [WEB_IP] * 2
    assert set(http_many(LOCAL_IP, 4)) == {LOCAL_NODE}


def test_verify_play_reports_a_healthy_fabric():
    rc, output = playbook(TOP + "/playbooks/verify_bgp.yml")
    assert rc == 0, output
    for router in ROUTERS:
        count = len(PLANS[router]["peers"])
        assert "%d/%d sessions Established" % (count, count) in output, output


ROUTER = ROUTERS[0]


def _since():
    state = protocols(ROUTER)
    return {p: state[p]["since"] for p in router_sessions(ROUTER)}


def _changed(output, name):
    match = re.search(r"^%s\s*:\s*ok=\d+\s+changed=(\d+)" % re.escape(name), output, re.M)
    assert match, output
    return int(match.group(1))


def test_reconverging_without_change_does_not_flap_sessions():
    before = _since()
    rc, output = playbook(SCENARIO + "/converge.yml", "--limit", "all")
    assert rc == 0, output
    assert _changed(output, ROUTER) == 0, output
    assert _since() == before


def test_a_configuration_change_reloads_without_flapping_sessions():
    before = _since()
    try:
        rc, output = playbook(SCENARIO + "/converge.yml", "-e", "bgp_router_ecmp_limit=8")
        assert rc == 0, output
        assert _changed(output, ROUTER) >= 1, output
        assert "RUNNING HANDLER [kos.platform.bgp_router : Reconfigure BIRD]" in output, output
        assert "merge paths on limit 8" in host(ROUTER).check_output("cat /etc/bird/bird.conf")
    finally:
        rc, output = playbook(SCENARIO + "/converge.yml")
        assert rc == 0, output
    assert _since() == before
    assert all_established()
