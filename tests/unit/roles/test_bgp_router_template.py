"""bird.conf as the bgp_router role renders it: structure, and BIRD's own parser (`bird -p`)."""

import shutil
import subprocess

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input
from ansible_collections.kos.platform.tests.unit.roles.render import render

VARIANTS = {
    "defaults": {},
    "everything_on": {"bgp_router_bfd": True, "bgp_router_password": "s3cret", "bgp_router_export_default_route": True,
                      "bgp_router_max_prefix_action": "block"},
    "everything_off": {"bgp_router_ecmp": False, "bgp_router_graceful_restart": False,
                       "bgp_router_keep_filtered": False},
}


def rendered(variables, options=None):
    plan = kos_bird.router_plan(kos_model.derive(good_input()), "tor1", options)
    return render("bgp_router", "bird.conf.j2", dict(variables, __bgp_router_plan=plan, inventory_hostname="tor1"))


def test_one_filtered_session_per_node():
    text = rendered({})
    assert text.count("protocol bgp node_") == 5
    assert "protocol bgp node_cp1 from kos_node {\n  neighbor 192.0.2.11 as 64512;" in text
    assert "if net ~ KOS_SERVICE_PREFIXES then accept;\n  reject;" in text
    assert "define KOS_SERVICE_PREFIXES = [ 10.96.0.0/16, 10.96.0.0/16{32,32}," in text
    assert "merge paths on limit 16;" in text and "graceful restart on;" in text
    assert "import limit 260 action restart;" in text
    assert "password" not in text and "kos_default" not in text and "bfd" not in text


def test_options_change_the_configuration():
    on = rendered(VARIANTS["everything_on"])
    assert 'password "s3cret";' in on and "bfd on;" in on and "protocol bfd kos_bfd" in on
    assert 'if proto = "kos_default" then accept;' in on and "route 0.0.0.0/0 blackhole;" in on
    off = rendered(VARIANTS["everything_off"])
    assert "merge paths" not in off and "graceful restart off;" in off and "keep filtered" not in off


def test_any_block_filter():
    text = rendered({}, {"pod_prefix_match": "any_block"})
    assert "if net ~ [ 10.244.0.0/16{24,24} ] then accept;" in text


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_bird_accepts_the_configuration(variant, tmp_path):
    if not shutil.which("bird"):
        pytest.skip("BIRD is not installed here (apt-get install bird2); the molecule scenario checks it with bird -p")
    config = tmp_path / "bird.conf"
    config.write_text(rendered(VARIANTS[variant]))
    done = subprocess.run(["bird", "-p", "-c", str(config)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_bird_rejects_a_broken_configuration(tmp_path):
    if not shutil.which("bird"):
        pytest.skip("BIRD is not installed here (apt-get install bird2)")
    config = tmp_path / "bird.conf"
    config.write_text(rendered({}).replace("define KOS_SERVICE_PREFIXES = [", "define KOS_SERVICE_PREFIXES = "))
    done = subprocess.run(["bird", "-p", "-c", str(config)], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "syntax error" in done.stderr
