"""Live: the Kubernetes API VIP rides on the data-centre routers (issue: routing item 6).

The control planes (bgp-node-1 in rack1, bgp-node-3 in rack2) run the api_endpoint role in bgp_vip
mode: a BIRD of its own on port 1179 announces the VIP /32 to their rack's two routers while the
local /readyz answers. kube-apiserver cannot run here, so /readyz is served by the role's API SERVER
STAND-IN (api_endpoint_readyz_standin: a TLS server on 6443, test CA from prepare.yml). Every claim is
checked from the client beyond the spine, with real HTTPS connections to the VIP.
"""

import time

import yaml
from conftest import (
    GROUPS,
    MODEL,
    PLANS,
    ROUTERS,
    SCENARIO,
    SPINE,
    birdc,
    client,
    host,
    kernel_routes,
    wait_for,
    watch,
)

with open(SCENARIO + "/molecule.yml", encoding="utf-8") as _handle:
    _VARS = yaml.safe_load(_handle)["provisioner"]["inventory"]
FABRIC_IP = {r: _VARS["host_vars"][r]["standin_fabric_ip"] for r in ROUTERS}
API = MODEL["api"]
VIP = API["vip"]
PREFIX = API["bgp"]["prefix"]
PORT = API["port"]
CONTROL_PLANES = GROUPS["kube_control_plane"]
# Each control plane's rack routers, from the model's VIP sessions.
CP_ROUTERS = {cp: sorted(s["router"] for s in API["bgp"]["sessions"] if s["control_plane"] == cp)
              for cp in CONTROL_PLANES}
STANDIN = "kos-apiserver-readyz-standin.service"
# The health check withdraws after `fall` failed checks `interval` seconds apart (each at most
# `timeout` s); then one BGP update to the router and one to the spine.
_ALL = _VARS["group_vars"]["all"]
CHECK_BOUND = _ALL["api_endpoint_health_interval"] * 2 + _ALL["api_endpoint_health_timeout"] * 2
VICTIM = CONTROL_PLANES[-1]


def spine_vip_hops():
    return kernel_routes(SPINE).get(PREFIX, [])


def fabric_hops(routers):
    return sorted(FABRIC_IP[r] for r in routers)


def vip_session(cp):
    return "kos_api_" + cp.replace("-", "_")


def router_vip_protocols(router):
    """The VIP sessions whose route for the VIP is in the router's main table."""
    # birdc exits 1 with "Network not found" when no route for the prefix is left.
    out = host(router).run("birdc -r show route %s", PREFIX).stdout
    return sorted({word[1:] for word in out.split() if word.startswith("[kos_api_")})


def readyz(count):
    return client(*[("https", VIP, PORT, "/readyz")] * count)


def every_cp_announces():
    return spine_vip_hops() == fabric_hops(ROUTERS) and all(
        router_vip_protocols(r) == [vip_session(cp) for cp in CONTROL_PLANES if r in CP_ROUTERS[cp]]
        for r in ROUTERS)


def test_the_model_puts_the_vip_on_every_rack_with_a_control_plane():
    assert len(CONTROL_PLANES) >= 2 and all(len(routers) == 2 for routers in CP_ROUTERS.values()), CP_ROUTERS
    for router in ROUTERS:
        # The router may pass the VIP upstream (its export filter's prefix list), nothing else of the API.
        assert PLANS[router]["api_prefixes"] == [PREFIX], PLANS[router]


def test_the_vip_answers_the_client_and_every_control_plane_announces_it():
    assert wait_for(every_cp_announces, 60), (spine_vip_hops(), {r: router_vip_protocols(r) for r in ROUTERS})
    # ECMP at the spine over both racks' routers, each router's route from its rack's control plane.
    for router in ROUTERS:
        kernel = kernel_routes(router).get(PREFIX)
        assert kernel == sorted(MODEL["nodes"][cp]["ip"] for cp in CONTROL_PLANES if router in CP_ROUTERS[cp]), \
            (router, kernel)
    answers = readyz(8)
    assert answers == ["200 ok"] * 8, answers


def test_a_failed_health_check_withdraws_the_vip_and_it_keeps_answering():
    assert wait_for(every_cp_announces, 60), spine_vip_hops()
    survivors = [cp for cp in CONTROL_PLANES if cp != VICTIM]
    survivor_routers = sorted(r for cp in survivors for r in CP_ROUTERS[cp])
    try:
        host(VICTIM).check_output("systemctl stop %s", STANDIN)
        started = time.monotonic()  # the stand-in was stopped by now
        withdrawn, unmet = watch(lambda: spine_vip_hops() == fabric_hops(survivor_routers), CHECK_BOUND + 30)
        assert withdrawn, spine_vip_hops()
        # Upper bound: the failed checks, then the updates to the router and the spine (3 s for the daemons'
        # scheduling). Measured to the start of the last poll that still saw the VIP (see conftest.watch).
        late = 0.0 if unmet is None else unmet - started
        assert late <= CHECK_BOUND + 3.0, "still announced %.1f s after the stop, check bound %d s" % (
            late, CHECK_BOUND)
        for router in CP_ROUTERS[VICTIM]:
            assert router_vip_protocols(router) == [], router
            # Only the announcement goes: the VIP session itself stays up.
            state = birdc(router, "show", "protocols", vip_session(VICTIM))
            assert "Established" in state, state
        answers = readyz(8)
        assert answers == ["200 ok"] * 8, answers
        log = host(VICTIM).check_output("journalctl -t kos-api-vip --no-pager -n 20")
        assert "withdrawing %s" % PREFIX in log, log
    finally:
        host(VICTIM).check_output("systemctl start %s", STANDIN)
    # Recovered: announced again from both racks.
    assert wait_for(every_cp_announces, 60), (spine_vip_hops(), {r: router_vip_protocols(r) for r in ROUTERS})
    assert readyz(4) == ["200 ok"] * 4
