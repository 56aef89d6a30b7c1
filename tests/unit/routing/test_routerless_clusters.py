"""Clusters without routers (an all-in-one host, an etcd-only lab, a molecule scenario): with
Calico's node-to-node mesh they are valid, even with a single Kubernetes host, which has no other
pod block to reach and so needs no BGP session; without the mesh they have no routes at all."""

from ansible_collections.kos.platform.plugins.module_utils import kos_model


def routerless(k8s_hosts, mesh):
    hosts = {name: {"node_ip": "192.0.2.%d" % (11 + i)} for i, name in enumerate(k8s_hosts)}
    return {
        "cluster": {
            "name": "kos-aio", "domain": "cluster.local", "kubernetes_version": "1.37.1",
            "node_cidr": "192.0.2.0/24", "pod_cidr": "10.244.0.0/16", "pod_block_prefix": 24,
            "service_cidr": "10.96.0.0/16", "as_number": 64512, "node_to_node_mesh": mesh,
        },
        "groups": {"etcd": k8s_hosts[:1], "kube_control_plane": k8s_hosts[:1], "kube_node": k8s_hosts[1:],
                   "bgp_routers": []},
        "hosts": hosts,
    }


def test_a_single_host_with_the_mesh_and_no_router_is_valid():
    assert kos_model.validate(routerless(["aio"], True)) == []


def test_several_hosts_with_the_mesh_and_no_router_are_valid():
    assert kos_model.validate(routerless(["cp1", "node1", "node2"], True)) == []


def test_no_router_and_no_mesh_is_refused_once_with_the_fix():
    errors = kos_model.validate(routerless(["cp1", "node1"], False))
    assert errors == ["there is no BGP router and cluster_node_to_node_mesh is off: nodes would learn no routes; "
                      "add hosts to bgp_routers, set cluster_external_bgp_peers, or turn the mesh on"]
