"""The filter plugins wrap the model and turn its errors into Ansible errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import cluster
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input


def test_filters_are_registered():
    assert set(cluster.FilterModule().filters()) == {"cluster_host_vars", "cluster_errors", "cluster_model",
                                                     "pod_blocks", "cidr_overlaps", "cluster_notices",
                                                     "image_preflight_errors"}


def test_cluster_errors_lists_problems():
    data = good_input()
    data["groups"]["etcd"] = ["cp1", "cp2"]
    assert cluster.cluster_errors(data) == [
        "group etcd has 2 members: etcd needs an odd count (1, 3, 5) for a quorum that survives failures; "
        "add or remove one host"]


def test_cluster_model_raises_filter_error_on_bad_input():
    data = good_input()
    data["cluster"]["pod_cidr"] = "10.96.0.0/16"
    with pytest.raises(AnsibleFilterError, match=r"invalid cluster model: cluster_pod_cidr \(10.96.0.0/16\) "
                                                 r"overlaps cluster_service_cidr"):
        cluster.cluster_model(data)


def test_cluster_host_vars_picks_only_model_keys():
    hostvars = {"a": {"node_ip": "192.0.2.5", "secret": "x", "node_rack": "", "ansible_os_family": "Debian"},
                "b": {"ansible_host": "192.0.2.6"}}
    assert cluster.cluster_host_vars(hostvars, ["a", "b"]) == {
        "a": {"node_ip": "192.0.2.5", "os_family": "Debian", "variables": ["node_ip", "node_rack"]},
        "b": {"ansible_host": "192.0.2.6"}}


def test_cluster_host_vars_keeps_the_names_of_misspelt_host_variables():
    hostvars = {"a": {"node_ip": "192.0.2.5", "node_rak": "rack1", "bgp_router_as_numbr": 65000}}
    picked = cluster.cluster_host_vars(hostvars, ["a"])
    assert picked["a"]["variables"] == ["bgp_router_as_numbr", "node_ip", "node_rak"]
    data = good_input()
    data["hosts"]["node1"]["variables"] = picked["a"]["variables"]
    assert cluster.cluster_errors(data) == [
        "bgp_router_as_numbr is not a kos.platform variable: did you mean bgp_router_as_number?",
        "node_rak is not a kos.platform variable: did you mean node_rack?"]


def test_cluster_notices_say_which_defaults_are_used():
    data = good_input()
    data["groups"]["bgp_routers"] = []
    for key in ("domain", "pod_cidr", "service_cidr"):
        del data["cluster"][key]
    assert cluster.cluster_notices(data) == [
        "using default cluster.local for cluster_domain (set cluster_domain in the inventory to choose)",
        "using default 10.244.0.0/16 for cluster_pod_cidr (set cluster_pod_cidr in the inventory to choose)",
        "using default 10.96.0.0/16 for cluster_service_cidr (set cluster_service_cidr in the inventory to choose)"]
    model = cluster.cluster_model(data)
    assert (model["domain"], model["networks"]["pod"], model["networks"]["service"]) == (
        "cluster.local", "10.244.0.0/16", "10.96.0.0/16")


def test_image_preflight_errors_report_typos_and_url_forms():
    names = ["container_image_regsitry", "container_image_registry", "packer_image_mirror_url", "groups"]
    values = {"container_image_registry": "https://", "packer_image_mirror_url": "mirror.example.com/x"}
    assert cluster.image_preflight_errors(names, values) == [
        "container_image_regsitry is not a kos.platform variable: did you mean container_image_registry?",
        "container_image_registry is 'https://', not a registry: give host[:port] or host/<repository-key>, "
        "e.g. artifactory.example.com",
        "packer_image_mirror_url is 'mirror.example.com/x', not an http(s) URL: write it with its scheme, e.g. "
        "https://artifactory.example.com/artifactory"]


def test_pod_blocks_filter():
    blocks = cluster.pod_blocks(["n1", "n2"], "10.244.0.0/16", 24)
    assert len(set(blocks.values())) == 2
    with pytest.raises(AnsibleFilterError, match="3 hosts do not fit in 2 blocks"):
        cluster.pod_blocks(["a", "b", "c"], "10.244.0.0/23", 24)


def test_cidr_overlaps_reads_route_destinations():
    routes = ["default", "192.0.2.0/24", "203.0.113.80", "172.17.0.0/16", "garbage"]
    assert cluster.cidr_overlaps(["198.18.0.0/24", "192.0.2.128/25", "203.0.113.0/24"], routes) == [
        "192.0.2.128/25", "203.0.113.0/24"]
    assert cluster.cidr_overlaps(["198.18.1.0/24"], routes) == []
