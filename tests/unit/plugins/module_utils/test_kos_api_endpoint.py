"""The API endpoint of the cluster model (plugins/module_utils/kos_api_endpoint.py), through kos_model."""

import copy

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_api_endpoint, kos_model
from tests.unit.plugins.module_utils.test_kos_model import good_input


def with_cluster(**values):
    data = copy.deepcopy(good_input())
    data["cluster"].update(values)
    return data


def errors_of(**values):
    return [e for e in kos_model.validate(with_cluster(**values)) if "api" in e]


def test_vip_mode_is_chosen_by_the_vip_and_becomes_the_endpoint():
    api = kos_model.derive(with_cluster(api_vip="198.51.100.200"))["api"]
    assert api["mode"] == "bgp_vip"
    assert api["vip"] == "198.51.100.200"
    assert api["endpoint"] == "198.51.100.200" and api["endpoint_port"] == 6443
    assert api["control_plane_endpoint"] == "198.51.100.200:6443"
    assert api["url"] == api["external_url"] == "https://198.51.100.200:6443"
    assert [s["name"] for s in api["servers"]] == ["cp1", "cp2", "cp3"]
    assert api["health_path"] == "/readyz"


def test_vip_is_announced_by_every_control_plane_to_its_routers():
    bgp = kos_model.derive(with_cluster(api_vip="198.51.100.200"))["api"]["bgp"]
    assert bgp["prefix"] == "198.51.100.200/32"
    assert bgp["port"] == 1179
    assert [(s["control_plane"], s["router"]) for s in bgp["sessions"]] == [("cp1", "tor1"), ("cp2", "tor1"),
                                                                             ("cp3", "tor1")]
    assert bgp["sessions"][0]["control_plane_ip"] == "192.0.2.11"
    assert bgp["sessions"][0]["router_as_number"] == 65000


def test_vip_is_in_every_control_plane_certificate_only():
    model = kos_model.derive(with_cluster(api_vip="198.51.100.200"))
    for cp in ("cp1", "cp2", "cp3"):
        assert "198.51.100.200" in model["sans"][cp]["ip"]
    assert "198.51.100.200" not in model["sans"]["node1"]["ip"]
    assert model["sans"]["cp1"]["dns"][-1] == "localhost"


def test_external_name_joins_the_certificates_in_vip_mode():
    model = kos_model.derive(with_cluster(api_vip="198.51.100.200", api_endpoint="api.kos.example.com"))
    assert model["api"]["external_url"] == "https://api.kos.example.com:6443"
    assert "api.kos.example.com" in model["sans"]["cp2"]["dns"]


def test_without_vip_or_endpoint_every_node_uses_its_local_proxy():
    api = kos_model.derive(good_input())["api"]
    assert api["mode"] == "local_proxy"
    assert api["control_plane_endpoint"] == "127.0.0.1:6444"
    assert api["port"] == 6443
    assert [(s["ip"], s["port"]) for s in api["servers"]] == [("192.0.2.11", 6443), ("192.0.2.12", 6443),
                                                              ("192.0.2.13", 6443)]
    assert api["bgp"] is None


def test_endpoint_alone_means_a_load_balancer():
    api = kos_model.derive(with_cluster(api_endpoint="k8s-api.example.com"))["api"]
    assert api["mode"] == "load_balancer"
    assert api["control_plane_endpoint"] == "k8s-api.example.com:6443"


@pytest.mark.parametrize("vip, variable", [
    ("192.0.2.50", "cluster_node_cidr"),
    ("10.244.3.3", "cluster_pod_cidr"),
    ("10.96.0.50", "cluster_service_cidr"),
    ("198.51.100.5", "cluster_external_ip_cidrs[0]"),
    ("198.51.100.70", "cluster_loadbalancer_ip_cidrs[0]"),
])
def test_vip_inside_a_cluster_range_is_refused(vip, variable):
    errors = errors_of(api_vip=vip)
    assert len(errors) == 1
    assert errors[0].startswith("cluster_api_vip %s is inside %s" % (vip, variable))


def test_vip_problems_name_the_variable_and_the_fix():
    assert errors_of(api_endpoint_mode="bgp_vip") == [
        "cluster_api_endpoint_mode is bgp_vip but cluster_api_vip is empty: give a virtual IP outside every "
        "cluster range, e.g. 198.51.100.200"]
    assert errors_of(api_vip="198.51.100.200/32") == [
        "cluster_api_vip is '198.51.100.200/32', not an IP address: give one address (no prefix), "
        "e.g. 198.51.100.200"]
    assert errors_of(api_vip="2001:db8::1")[0].startswith("cluster_api_vip 2001:db8::1 is IPv6 but cluster_node_cidr")


def test_vip_needs_a_router():
    data = with_cluster(api_vip="198.51.100.200")
    data["groups"]["bgp_routers"] = []
    del data["hosts"]["tor1"]
    assert "there is no BGP router to announce the VIP to" in " ".join(kos_model.validate(data))


def test_vip_may_not_be_a_host_address_outside_the_node_range():
    data = with_cluster(api_vip="198.51.100.200")
    data["hosts"]["tor1"]["node_ip"] = "198.51.100.200"
    assert any("is the address of host tor1" in e for e in kos_model.validate(data))


def test_vip_speaker_may_not_take_calicos_port():
    assert errors_of(api_vip="198.51.100.200", api_vip_bgp_port=179)[0].startswith(
        "cluster_api_vip_bgp_port is 179, the port calico-node's BIRD holds")


def test_every_endpoint_problem_is_reported_at_once():
    errors = errors_of(api_endpoint_mode="load_balancer", api_local_proxy_port=70000, api_vip="198.51.100.200")
    assert len(errors) == 3
    assert errors[0].startswith("cluster_api_local_proxy_port is 70000, not a TCP port")
    assert errors[1].startswith("cluster_api_vip is set but cluster_api_endpoint_mode is load_balancer")
    assert errors[2].startswith("cluster_api_endpoint_mode is load_balancer but cluster_api_endpoint is empty")


def test_local_proxy_may_not_take_the_api_servers_port():
    assert errors_of(api_local_proxy_port=6443)[0].startswith(
        "cluster_api_local_proxy_port is 6443, the API server's own port")


def test_unknown_mode_and_bad_endpoint():
    assert errors_of(api_endpoint_mode="keepalived") == [
        "cluster_api_endpoint_mode is 'keepalived': choose one of bgp_vip, local_proxy, load_balancer "
        "(or leave it empty)"]
    assert errors_of(api_endpoint="api server")[0].startswith(
        "cluster_api_endpoint is 'api server', neither an IP address nor a DNS name")
    assert errors_of(api_endpoint="10.96.0.1")[0].startswith("cluster_api_endpoint 10.96.0.1 is inside "
                                                              "cluster_service_cidr")


def test_mode_follows_the_input():
    assert kos_api_endpoint.mode({}) == "local_proxy"
    assert kos_api_endpoint.mode({"api_vip": "198.51.100.200"}) == "bgp_vip"
    assert kos_api_endpoint.mode({"api_endpoint": "lb.example.com"}) == "load_balancer"
    assert kos_api_endpoint.mode({"api_endpoint_mode": "local_proxy", "api_endpoint": "x.example.com"}) == "local_proxy"
