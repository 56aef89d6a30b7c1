"""Every invalid model of the matrix (cases.py) stops in kos_model.validate with its exact message.

The same cases run through ``ansible-playbook site.yml`` in test_site_matrix.py; here they run
through the model directly, built the way roles/preflight/tasks/main.yml builds its input.
"""

import os

import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_model, kos_model_input

from .cases import CASES, TOP, model_input


def test_the_base_model_is_valid():
    base = model_input({})
    assert kos_model.validate(base) == []
    assert sorted(kos_model.derive(base)["nodes"]) == ["cp1", "cp2", "cp3", "node1", "node2"]


def test_the_matrix_holds_at_least_120_distinct_invalid_models():
    assert len(CASES) >= 120
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert len({repr(sorted((k, repr(v)) for k, v in c.items() if k not in ("id", "message"))) for c in CASES}) \
        == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_invalid_model_is_reported_exactly(case):
    errors = kos_model.validate(model_input(case))
    assert case["message"] in errors, "\n".join(errors)


def test_command_line_strings_are_read_as_the_types_yaml_gives():
    case = {"cli": ["cluster_as_number=64513", "cluster_api_port=6443", "cluster_pod_block_prefix=25",
                    "cluster_node_to_node_mesh=false", "cluster_external_ip_cidrs=198.51.100.0/26",
                    "cluster_loadbalancer_ip_cidrs=[198.51.100.64/26, 198.51.100.128/26]"]}
    data = model_input(case)
    assert kos_model.validate(data) == []
    model = kos_model.derive(data)
    assert model["nodes"]["cp1"]["as_number"] == 64513
    assert model["networks"]["pod_block_prefix"] == 25
    assert model["networks"]["external"] == ["198.51.100.0/26"]
    assert model["networks"]["loadbalancer"] == ["198.51.100.64/26", "198.51.100.128/26"]
    # a string where a list is expected is one item, never its characters
    racks = kos_model_input.normalize({"hosts": {"tor1": {"bgp_router_racks": "rack1"}}})["hosts"]["tor1"]
    assert racks["bgp_router_racks"] == ["rack1"]


def test_provisioning_accepts_hosts_whose_address_the_cloud_will_give():
    data = model_input({"hosts": {"node2": {"node_ip": None}}})
    assert "host node2 has no address: set node_ip (or ansible_host) to its address in cluster_node_cidr" in \
        kos_model.validate(data)
    data["require_addresses"] = False
    assert kos_model.validate(data) == []


def test_argument_specs_document_the_types_preflight_reads():
    with open(os.path.join(TOP, "roles", "preflight", "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(TOP, "roles", "preflight", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    for key in kos_model_input.INT_KEYS:
        assert options["cluster_" + key]["type"] == "int", key
    for key in kos_model_input.LIST_KEYS:
        assert options["cluster_" + key]["type"] == "list", key
    for key in kos_model_input.DICT_KEYS:
        assert options["cluster_" + key]["type"] == "dict", key
    for key in kos_model.BOOLEAN_KEYS:
        assert options["cluster_" + key]["type"] == "bool", key
    # required and printed defaults have no default anywhere; every other option's default is the role's
    for key in list(kos_model_input.REQUIRED) + list(kos_model_input.PRINTED_DEFAULTS):
        assert "default" not in options["cluster_" + key] and "cluster_" + key not in defaults, key
    for name, spec in options.items():
        if "default" in spec:
            assert defaults[name] == spec["default"], name
