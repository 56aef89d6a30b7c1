"""The Calico filter plugins wrap kos_calico and turn its errors into Ansible errors."""

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import calico
from ansible_collections.kos.platform.plugins.module_utils import kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_calico import TOP, UPSTREAM
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input

SCHEMA_DIR = os.path.join(TOP, "roles", "calico", "files", "schemas")


def test_filters_are_registered():
    assert set(calico.FilterModule().filters()) == {"calico_resources", "calico_resource_errors",
                                                    "calico_core_errors", "calico_manifest"}


def test_resources_validate_through_the_filters():
    result = calico.calico_resources(kos_model.derive(good_input()), {"passwords": {"tor1": "x"}})
    assert calico.calico_resource_errors(result["calico"], SCHEMA_DIR) == []
    assert calico.calico_core_errors(result["core"] + result["nodes"], "1.31.4") == []


def test_filter_errors():
    with pytest.raises(AnsibleFilterError, match="calico_resources: calico_ippool_mode is 'x'"):
        calico.calico_resources(kos_model.derive(good_input()), {"ippool_mode": "x"})
    with pytest.raises(AnsibleFilterError, match="kos_cluster lacks 'networks'; run the preflight role first"):
        calico.calico_resources({"bgp": {"node_to_node_mesh": False}})
    with pytest.raises(AnsibleFilterError, match="no JSON schema in /nonexistent"):
        calico.calico_resource_errors([], "/nonexistent")
    with pytest.raises(AnsibleFilterError, match="calico_manifest: the Calico manifest has no calico-node"):
        calico.calico_manifest([], "192.0.2.0/24")


def test_manifest_filter():
    docs = calico.calico_manifest(UPSTREAM, "192.0.2.0/24")
    assert docs[1]["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/calico/node:v3.29.1"
