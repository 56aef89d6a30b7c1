"""The BIRD filter plugins wrap kos_bird and turn its errors into Ansible errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import bird
from ansible_collections.kos.platform.plugins.module_utils import kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_bird import PROTOCOLS, ROUTES
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input


def test_filters_are_registered():
    assert set(bird.FilterModule().filters()) == {"bird_router_plan", "bird_protocols", "bird_routes",
                                                  "bird_bgp_report", "bird_password_facts"}


def test_router_plan_filter():
    plan = bird.bird_router_plan(kos_model.derive(good_input()), "tor1", {"pod_prefix_match": "own_block"})
    assert len(plan["peers"]) == 5


def test_router_plan_filter_errors():
    with pytest.raises(AnsibleFilterError, match="bird_router_plan: host x is not a router"):
        bird.bird_router_plan(kos_model.derive(good_input()), "x")
    with pytest.raises(AnsibleFilterError, match="kos_cluster lacks 'networks'; run the preflight role first"):
        bird.bird_router_plan({"routers": {"tor1": {"as_number": 65000, "ip": "192.0.2.1", "peers": []}}}, "tor1")


def test_parsers_and_report():
    assert bird.bird_protocols(PROTOCOLS)["node_bgp_node_3"]["info"] == "Established"
    assert len(bird.bird_routes(ROUTES)["10.96.0.0/16"]) == 2
    plan = {"service_cidr": "10.96.0.0/16", "peers": []}
    assert bird.bird_bgp_report(plan, PROTOCOLS, ROUTES)["ok"] is True


def test_password_facts_give_lengths_never_values():
    hostvars = {"tor1": {"bgp_router_password": "s3cret"}, "tor2": {"bgp_router_password": "x" * 81},
                "tor3": {}, "tor4": {"bgp_router_password": "abc"}}
    facts = bird.bird_password_facts(hostvars, ["tor1", "tor2", "tor3", "tor4"],
                                     {"tor3": "only-nodes", "tor4": "", "core1": "ext"})
    assert facts == {
        "tor1": {"router": 6, "nodes": 6, "same": True},        # nodes use bgp_router_password
        "tor2": {"router": 81, "nodes": 81, "same": True},
        "tor3": {"router": 0, "nodes": 10, "same": False},      # nodes' end only
        "tor4": {"router": 3, "nodes": 0, "same": False},       # cleared on the nodes' end
        "core1": {"router": 0, "nodes": 3, "same": False},      # unmanaged router
    }
    assert "s3cret" not in repr(facts)
    # Multi-byte characters count in bytes, as the kernel does.
    assert bird.bird_password_facts({"r": {"bgp_router_password": "é" * 41}}, ["r"])["r"]["router"] == 82
