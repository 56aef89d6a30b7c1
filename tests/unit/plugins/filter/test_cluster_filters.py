"""The filter plugins wrap the model and turn its errors into Ansible errors."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import cluster
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input


def test_filters_are_registered():
    assert set(cluster.FilterModule().filters()) == {"cluster_host_vars", "cluster_errors", "cluster_model",
                                                     "pod_blocks", "cidr_overlaps"}


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
        "a": {"node_ip": "192.0.2.5", "os_family": "Debian"}, "b": {"ansible_host": "192.0.2.6"}}


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
