"""bird.conf as the bgp_router role renders it for the data-centre model: structure, and BIRD's own
parser (`bird -p`, BIRD 2.0.12 from Debian bookworm's bird2)."""

import shutil
import subprocess

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input
from ansible_collections.kos.platform.tests.unit.routing.test_kos_routing import datacentre

VARIANTS = {
    "defaults": {},
    "everything_on": {"bgp_router_upstream_bfd": True, "bgp_router_password": "s3cret",
                      "bgp_router_upstream_password": "up", "bgp_router_max_prefix_action": "block",
                      "bgp_router_upstream_default_route": True},
    "everything_off": {"bgp_router_ecmp": False, "bgp_router_graceful_restart": False,
                       "bgp_router_keep_filtered": False},
}
MODES = ("pod_blocks", "default_route", "none")
# Where bird.conf includes other roles' sessions from (/etc/bird/kos.d on a router); bird -p needs it.
INCLUDE_DIR = "/tmp/kos-bgp-router-template-test.d"


@pytest.fixture(autouse=True)
def include_dir():
    import os

    os.makedirs(INCLUDE_DIR, exist_ok=True)


def rendered(variables, options=None, routes="pod_blocks", router="tor1a"):
    from ansible_collections.kos.platform.tests.unit.roles.render import render

    data = datacentre()
    data["cluster"]["routes_from_routers"] = routes
    if routes == "none":
        data["cluster"]["route_reflectors"] = ["cp1"]
    plan = kos_bird.router_plan(kos_model.derive(data), router, options)
    return render("bgp_router", "bird.conf.j2", dict(variables, __bgp_router_plan=plan, inventory_hostname=router,
                                                     __bgp_router_include_dir=INCLUDE_DIR))


def bird_check(text, tmp_path):
    if not shutil.which("bird"):
        pytest.fail("BIRD is not installed here: apt-get install bird2 (CI installs it in .ci/run)")
    config = tmp_path / "bird.conf"
    config.write_text(text)
    return subprocess.run(["bird", "-p", "-c", str(config)], capture_output=True, text=True, check=False)


def test_one_session_per_node_of_the_rack_each_with_its_own_table_and_two_limits():
    text = rendered({})
    assert text.count("protocol bgp node_") == 2  # cp1 and node1: the nodes of rack1
    assert "protocol bgp node_cp1 from kos_node {\n  neighbor 192.0.2.11 as 64601;" in text
    assert "ipv4 table t_node_cp1;" in text and "    table t_node_cp1;\n" in text
    # The pod block and the range aggregates: 1 + 1 (Service range) = 2; the Service /32s: 256.
    assert ('protocol pipe node_cp1_pods {\n  table master4;\n  peer table t_node_cp1;\n'
            '  import where proto = "node_cp1" && !(net ~ KOS_SERVICE_HOSTS);\n'
            '  import limit 2 action block;\n  export filter kos_export_to_nodes;\n}') in text
    services = text[text.index("protocol pipe node_cp1_services {"):]
    services = services[:services.index("\n}")]
    assert '  import where proto = "node_cp1" && net ~ KOS_SERVICE_HOSTS;\n' in services
    assert '  import limit 256 action restart;\n  export none;' in services
    # The hard cap before filtering is twice the two budgets: 2 * (2 + 256).
    assert "receive limit 516 action restart;" in text
    assert "define KOS_SERVICE_HOSTS = [ 10.96.0.0/16{32,32} ];" in text
    assert "merge paths on limit 16;" in text and "graceful restart on;" in text
    assert "password" not in text and "kos_default" not in text and "bfd" not in text


def test_pod_blocks_mode_gives_nodes_every_pod_block_and_nothing_else():
    text = rendered({})
    assert ("filter kos_export_to_nodes {\n  if net ~ KOS_POD_BLOCKS && source = RTS_BGP then accept;\n"
            "  reject;\n}") in text
    assert "define KOS_POD_BLOCKS = [ 10.244.0.0/16{24,24} ];" in text


def test_default_route_mode_gives_nodes_only_the_routers_own_default():
    text = rendered({}, routes="default_route")
    assert "protocol static kos_default {\n  ipv4;\n  route 0.0.0.0/0 blackhole;\n}" in text
    assert ('filter kos_export_to_nodes {\n  if net = 0.0.0.0/0 && proto = "kos_default" then accept;\n'
            '  reject;\n}') in text
    # The static default never reaches the kernel (export where source = RTS_BGP) nor the spine.
    assert "export where source = RTS_BGP;" in text


def test_none_mode_gives_nodes_nothing():
    text = rendered({}, routes="none")
    assert "filter kos_export_to_nodes {\n  reject;\n}" in text


def test_upstream_session_exports_only_the_clusters_own_routes():
    text = rendered({})
    assert "protocol bgp up_spine1 {\n  local as 65001;\n  neighbor 192.0.2.250 as 65100;" in text
    assert "receive limit 10000 action restart;\n    export filter kos_export_upstream;" in text
    assert ("filter kos_export_upstream {\n  if net = 0.0.0.0/0 then reject;\n  if source != RTS_BGP then reject;\n"
            '  if !(proto ~ "node_*" || proto ~ "kos_api_*") then reject;\n'
            "  if net ~ KOS_UPSTREAM_PREFIXES then accept;\n  reject;\n}") in text
    assert "define KOS_UPSTREAM_PREFIXES = [ 10.244.0.0/16{24,24}, 10.96.0.0/16, 10.96.0.0/16{32,32} ];" in text
    assert "filter kos_import_upstream {\n  if net = 0.0.0.0/0 then reject;\n  accept;\n}" in text
    assert 'include "%s/*.conf";' % INCLUDE_DIR in text


def test_bfd_only_toward_the_spine():
    # Calico v3.29.1's BGPPeer and BGPConfiguration CRDs have no BFD field
    # (shared/upstream/calico/v3.29.1/crd), so node sessions never get `bfd on`.
    text = rendered(VARIANTS["everything_on"])
    assert text.count("bfd on;") == 1
    assert text.index("bfd on;") > text.index("protocol bgp up_spine1")
    assert 'password "s3cret";' in text and 'password "up";' in text
    assert "filter kos_import_upstream {\n  accept;\n}" in text


def test_the_api_vip_goes_upstream_when_the_model_has_one():
    data = datacentre()
    model = kos_model.derive(data)
    model["api"]["vip"] = "192.0.2.200"
    plan = kos_bird.router_plan(model, "tor1a")
    assert plan["upstream_prefixes"][-1] == "192.0.2.200/32"


def test_options_change_the_configuration():
    off = rendered(VARIANTS["everything_off"])
    assert "merge paths" not in off and "graceful restart off;" in off and "keep filtered" not in off


def test_any_block_filter():
    text = rendered({}, {"pod_prefix_match": "any_block"})
    assert "if net ~ [ 10.244.0.0/16{24,24} ] then accept;" in text


def test_a_router_serving_every_node_without_upstream():
    # The older single-router layout still renders (good_input: one router, every node, mesh on).
    from ansible_collections.kos.platform.tests.unit.roles.render import render

    plan = kos_bird.router_plan(kos_model.derive(good_input()), "tor1")
    text = render("bgp_router", "bird.conf.j2", {"__bgp_router_plan": plan, "inventory_hostname": "tor1",
                                                 "__bgp_router_include_dir": INCLUDE_DIR})
    assert text.count("protocol bgp node_") == 5 and "protocol bgp up_" not in text


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("routes", MODES)
def test_bird_accepts_the_configuration(variant, routes, tmp_path):
    done = bird_check(rendered(VARIANTS[variant], routes=routes), tmp_path)
    assert done.returncode == 0, done.stderr


def test_bird_rejects_a_broken_configuration(tmp_path):
    done = bird_check(rendered({}).replace("define KOS_SERVICE_PREFIXES = [", "define KOS_SERVICE_PREFIXES = "),
                      tmp_path)
    assert done.returncode != 0 and "syntax error" in done.stderr
