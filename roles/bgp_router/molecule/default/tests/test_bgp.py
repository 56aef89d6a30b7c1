"""Live BGP on lab hosts: the bgp_router role's BIRD against three nodes running the Calico
stand-in (calico_standin.yml), all generated from the scenario's cluster model."""

import re
import time

import netaddr
import pytest
from conftest import (
    HOLD_TIME,
    MODEL,
    PLAN,
    ROUTER,
    SCENARIO,
    TOP,
    all_established,
    birdc,
    host,
    kernel_routes,
    playbook,
    protocols,
    wait_for,
)

from ansible_collections.kos.platform.plugins.module_utils import kos_bird

NODES = {peer["name"]: peer for peer in PLAN["peers"]}
NODE_IPS = sorted(peer["ip"] for peer in PLAN["peers"])
SERVICE = MODEL["networks"]["service"]
SHARED_RANGES = [SERVICE] + MODEL["networks"]["external"] + MODEL["networks"]["loadbalancer"]


LOCAL_SERVICE = "%s/32" % netaddr.IPNetwork(SERVICE)[100]
LOCAL_SERVICE_NODE = MODEL["groups"]["kube_control_plane"][0]


def test_every_session_is_established():
    state = protocols()
    assert len(PLAN["peers"]) == 3
    for peer in PLAN["peers"]:
        assert state[peer["protocol"]]["state"] == "up", state[peer["protocol"]]
        assert state[peer["protocol"]]["info"].startswith("Established"), state[peer["protocol"]]


def test_sessions_use_the_model_as_numbers():
    # CLOS: each rack's nodes have their own AS; the router peers with each in its AS.
    assert sorted(p["as_number"] for p in PLAN["peers"]) == [64601, 64602, 64603]
    for peer in PLAN["peers"]:
        detail = birdc(ROUTER, "show", "protocols", "all", peer["protocol"])
        assert re.search(r"Neighbor AS:\s+%d\b" % peer["as_number"], detail), detail
        assert re.search(r"Neighbor address:\s+%s\b" % re.escape(peer["ip"]), detail), detail


def test_each_pod_block_is_routed_via_its_node():
    routes = kernel_routes()
    for peer in PLAN["peers"]:
        assert routes.get(peer["pod_block"]) == [peer["ip"]], routes


def test_service_and_external_ranges_are_ecmp_over_all_nodes():
    routes = kernel_routes()
    for cidr in SHARED_RANGES:
        assert routes.get(cidr) == NODE_IPS, "%s: %s" % (cidr, routes.get(cidr))


def test_local_service_address_is_routed_to_its_endpoint_node():
    assert kernel_routes().get(LOCAL_SERVICE) == [NODES[LOCAL_SERVICE_NODE]["ip"]]


def test_router_reaches_an_address_inside_each_pod_block():
    for peer in PLAN["peers"]:
        pod_ip = str(netaddr.IPNetwork(peer["pod_block"])[1])
        result = host(ROUTER).run("ping -c 2 -W 1 %s", pod_ip)
        assert result.rc == 0, "ping %s (node %s): %s" % (pod_ip, peer["name"], result.stdout + result.stderr)


def test_verify_play_reports_a_healthy_fabric():
    rc, output = playbook(TOP + "/playbooks/verify_bgp.yml")
    assert rc == 0, output
    assert "3/3 sessions Established" in output, output


ROGUE_NODE = "bgp-node-3"
VICTIM = NODES["bgp-node-1"]


def _rogue_prefixes():
    own = netaddr.IPNetwork(NODES[ROGUE_NODE]["pod_block"])
    return {
        "0.0.0.0/0": "default route",
        "172.31.99.0/24": "foreign /24",
        VICTIM["pod_block"]: "another node's pod block",
        "%s/%d" % (own.network, own.prefixlen + 2): "too specific inside its own block",
        "%s/32" % own[5]: "pod /32 (too specific)",
        "%s/24" % netaddr.IPNetwork(SERVICE)[512]: "too specific inside the Service range",
    }


@pytest.fixture()
def rogue_node():
    node = host(ROGUE_NODE)
    routes = "".join("  route %s blackhole;\n" % prefix for prefix in _rogue_prefixes())
    node.check_output("printf '%%s' %s > /etc/bird/kos-rogue.conf && birdc configure",
                      "protocol static rogue {\n  ipv4;\n%s}\n" % routes)
    try:
        yield
    finally:
        node.check_output("echo '# filled by the rogue-node test' > /etc/bird/kos-rogue.conf && birdc configure")
        wait_for(lambda: not _filtered(), 15)


def _filtered():
    text = birdc(ROUTER, "show", "route", "filtered", "protocol", NODES[ROGUE_NODE]["protocol"])
    return kos_bird.parse_routes(text)


def test_rogue_announcements_are_rejected(rogue_node):
    expected = _rogue_prefixes()
    # The router received every rogue route (kept as filtered), so the rejection is the filter's doing.
    filtered = wait_for(lambda: (lambda f: f if set(expected) <= set(f) else None)(_filtered()), 15)
    assert filtered, "the router did not receive all rogue routes within 15 s: %s" % _filtered()
    routes = kernel_routes()
    for prefix, what in expected.items():
        if prefix == VICTIM["pod_block"]:
            assert routes.get(prefix) == [VICTIM["ip"]], "%s (%s): %s" % (prefix, what, routes)
        else:
            assert prefix not in routes, "%s (%s) was accepted: %s" % (prefix, what, routes.get(prefix))
    default = host(ROUTER).check_output("ip -4 route show default")
    assert NODES[ROGUE_NODE]["ip"] not in default, default
    # The legitimate routes of the rogue node stay.
    assert routes.get(NODES[ROGUE_NODE]["pod_block"]) == [NODES[ROGUE_NODE]["ip"]]
    assert all_established()


FAILING_NODE = "bgp-node-2"


@pytest.fixture()
def frozen_speaker():
    """Freeze (SIGSTOP) one node's BGP speaker: it stops talking without closing its sessions, so
    only the router's hold timer can notice. Thawed afterwards, pass or fail."""
    node = host(FAILING_NODE)
    pid = node.check_output("systemctl show -p MainPID --value bird").strip()
    assert pid and pid != "0"
    node.check_output("kill -STOP %s", pid)
    try:
        yield time.monotonic()
    finally:
        node.check_output("kill -CONT %s", pid)


def test_frozen_node_is_withdrawn_within_the_hold_time(frozen_speaker):
    started = frozen_speaker
    peer = NODES[FAILING_NODE]
    survivors = sorted(ip for ip in NODE_IPS if ip != peer["ip"])

    def withdrawn():
        routes = kernel_routes()
        return peer["pod_block"] not in routes and all(routes.get(c) == survivors for c in SHARED_RANGES)

    assert wait_for(withdrawn, HOLD_TIME + 5, interval=0.1), kernel_routes()
    # An upper bound: the end of the read that saw the routes gone. One second of slack on top of the
    # hold time covers a polling round (docker exec) and the kernel update.
    elapsed = time.monotonic() - started
    assert elapsed <= HOLD_TIME + 1.0, "withdrawn after %.1f s, hold time %d s" % (elapsed, HOLD_TIME)
    assert "Hold timer expired" in protocols()[peer["protocol"]]["info"]
    rc, output = playbook(TOP + "/playbooks/verify_bgp.yml")
    assert rc != 0
    assert "session %s to node %s" % (peer["protocol"], FAILING_NODE) in output, output
    assert "pod block %s of node %s is not in the routing table" % (peer["pod_block"], FAILING_NODE) in output


def test_thawed_node_comes_back():
    def back():
        routes = kernel_routes()
        return all_established() and all(routes.get(c) == NODE_IPS for c in SHARED_RANGES)

    assert wait_for(back, 30), (protocols(), kernel_routes())


def _since():
    state = protocols()
    return {p["protocol"]: state[p["protocol"]]["since"] for p in PLAN["peers"]}


def _changed(output, name):
    match = re.search(r"^%s\s*:\s*ok=\d+\s+changed=(\d+)" % re.escape(name), output, re.M)
    assert match, output
    return int(match.group(1))


def test_reconverging_without_change_does_not_flap_sessions():
    before = _since()
    rc, output = playbook(SCENARIO + "/converge.yml")
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
