"""Live: the API VIP is announced by every healthy control plane, withdrawn from an unhealthy one.

Hosts: api-router-1 (BIRD via bgp_router, plus this role's VIP sessions), api-cp-1/2 (the Calico
stand-in's BIRD on TCP 179, this role's VIP speaker on 1179, and an API SERVER STAND-IN serving
/readyz over TLS; see prepare.yml). Every wait is bounded.
"""

import json
import os
import time

import testinfra
import yaml

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(SCENARIO, "molecule.yml"), encoding="utf-8") as handle:
    _SCENARIO = yaml.safe_load(handle)
_VARS = _SCENARIO["provisioner"]["inventory"]["group_vars"]["all"]
_HOSTS = _SCENARIO["provisioner"]["inventory"]["host_vars"]
VIP = _VARS["cluster_api_vip"]
ROUTER = "api-router-1"
CONTROL_PLANES = ["api-cp-1", "api-cp-2"]
CP_IPS = {name: _HOSTS[name]["node_ip"] for name in CONTROL_PLANES}
READY_FLAG = "/var/lib/kos-apiserver-standin/ready"
# Withdrawal: fall checks at the check interval, then BGP UPDATE; a generous bound, never a timing claim.
BOUND = 30


def host(name):
    return testinfra.get_host("docker://" + name)


def wait_for(check, timeout=BOUND, interval=0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def vip_next_hops():
    """Next hops of the VIP /32 in the router's kernel table (the route BIRD installed)."""
    routes = json.loads(host(ROUTER).check_output("ip -4 -j route show %s/32 proto bird" % VIP) or "[]")
    if not routes:
        return []
    route = routes[0]
    return sorted(hop["gateway"] for hop in route.get("nexthops", [])) or [route.get("gateway")]


def set_ready(name, ready):
    command = "touch %s" if ready else "rm -f %s"
    host(name).check_output(command % READY_FLAG)


def all_ips():
    return sorted(CP_IPS.values())


def test_vip_is_ecmp_over_every_healthy_control_plane():
    assert wait_for(lambda: vip_next_hops() == all_ips()), "VIP %s next hops: %s" % (VIP, vip_next_hops())


def test_vip_speaker_runs_next_to_the_bird_on_179():
    for name in CONTROL_PLANES:
        listening = host(name).check_output("ss -Htln")
        assert "%s:179 " % CP_IPS[name] in listening or "0.0.0.0:179 " in listening  # the calico-node stand-in
        assert "%s:1179 " % CP_IPS[name] in listening  # the VIP speaker, on the node address only
    sessions = host(ROUTER).check_output("birdc -r show protocols")
    for name in CONTROL_PLANES:
        line = [ln for ln in sessions.splitlines() if ln.startswith("kos_api_" + name.replace("-", "_"))]
        assert line and "Established" in line[0], sessions
    # Calico's own session to the same node address (port 179) is up at the same time.
    for name in CONTROL_PLANES:
        peers = host(name).check_output("birdc -r show protocols")
        assert "calico_standin_1" in peers and "Established" in peers.split("calico_standin_1", 1)[1].splitlines()[0]


def test_router_reaches_the_api_through_the_vip():
    # -k: the router does not hold the test CA; the control planes' own check verifies it.
    out = host(ROUTER).run("curl --silent --fail --max-time 5 -k https://%s:6443/readyz", VIP)
    assert out.rc == 0 and out.stdout == "ok", out.stderr


def test_unhealthy_control_plane_is_withdrawn_then_returns():
    victim, survivor = CONTROL_PLANES
    try:
        set_ready(victim, False)
        assert wait_for(lambda: vip_next_hops() == [CP_IPS[survivor]]), vip_next_hops()
        # The session itself stays up: only the announcement goes.
        sessions = host(ROUTER).check_output("birdc -r show protocols")
        assert "Established" in [ln for ln in sessions.splitlines() if ln.startswith("kos_api_api_cp_1")][0]
        log = host(victim).check_output("journalctl -t kos-api-vip --no-pager -n 20")
        assert "withdrawing %s/32" % VIP in log
    finally:
        set_ready(victim, True)
    assert wait_for(lambda: vip_next_hops() == all_ips()), vip_next_hops()


def test_stopped_health_check_withdraws_the_vip():
    victim = CONTROL_PLANES[1]
    try:
        host(victim).check_output("systemctl stop kos-api-vip-check.service")
        assert wait_for(lambda: vip_next_hops() == [CP_IPS[CONTROL_PLANES[0]]]), vip_next_hops()
    finally:
        host(victim).check_output("systemctl start kos-api-vip-check.service")
    assert wait_for(lambda: vip_next_hops() == all_ips()), vip_next_hops()


def test_every_control_plane_down_leaves_no_route():
    try:
        for name in CONTROL_PLANES:
            set_ready(name, False)
        assert wait_for(lambda: vip_next_hops() == []), vip_next_hops()
    finally:
        for name in CONTROL_PLANES:
            set_ready(name, True)
    assert wait_for(lambda: vip_next_hops() == all_ips()), vip_next_hops()


def test_router_accepts_nothing_but_the_vip_from_the_speaker():
    config = host(ROUTER).check_output("cat /etc/bird/kos.d/kos-api-vip.conf")
    assert "if net = %s/32 then accept;" % VIP in config
    assert config.count("protocol bgp kos_api_") == 2
