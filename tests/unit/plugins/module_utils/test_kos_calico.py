"""kos_calico: Calico resources from the cluster model, their validation, the manifest patch."""

import glob
import json
import os

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_calico, kos_model
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCHEMAS = {}
for _path in glob.glob(os.path.join(TOP, "roles", "calico", "files", "schemas", "*.json")):
    with open(_path, encoding="utf-8") as _handle:
        SCHEMAS[os.path.splitext(os.path.basename(_path))[0]] = json.load(_handle)


def model(change=None):
    data = good_input()
    if change:
        change(data)
    return kos_model.derive(data)


def kinds(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_per_node_pools_hold_the_model_blocks():
    cluster = model()
    calico = kos_calico.resources(cluster)["calico"]
    pools = kinds(calico, "IPPool")
    assert {p["spec"]["cidr"] for p in pools} == {n["pod_block"] for n in cluster["nodes"].values()}
    cp1 = [p for p in pools if p["metadata"]["name"] == "kos-pods-cp1"][0]["spec"]
    assert cp1 == {"cidr": cluster["nodes"]["cp1"]["pod_block"], "blockSize": 24, "ipipMode": "Never",
                   "vxlanMode": "Never", "natOutgoing": False, "disabled": False,
                   "nodeSelector": "kubernetes.io/hostname == 'cp1'"}
    assert kos_calico.schema_errors(calico, SCHEMAS) == []


def test_shared_pool():
    pools = kinds(kos_calico.resources(model(), {"ippool_mode": "shared", "nat_outgoing": True})["calico"], "IPPool")
    assert [p["spec"]["cidr"] for p in pools] == ["10.244.0.0/16"]
    assert pools[0]["spec"]["nodeSelector"] == "all()" and pools[0]["spec"]["natOutgoing"] is True


def test_bgp_configuration_advertises_service_ranges():
    config = kinds(kos_calico.resources(model())["calico"], "BGPConfiguration")[0]
    assert config["metadata"] == {"name": "default"}
    assert config["spec"] == {"logSeverityScreen": "Info", "nodeToNodeMeshEnabled": True, "asNumber": 64512,
                              "serviceClusterIPs": [{"cidr": "10.96.0.0/16"}],
                              "serviceExternalIPs": [{"cidr": "198.51.100.0/26"}],
                              "serviceLoadBalancerIPs": [{"cidr": "198.51.100.64/26"}]}
    quiet = kinds(kos_calico.resources(model(), {"advertise_external_ips": False, "advertise_loadbalancer_ips": False,
                                                  "advertise_cluster_ips": False})["calico"], "BGPConfiguration")[0]
    assert set(quiet["spec"]) == {"logSeverityScreen", "nodeToNodeMeshEnabled", "asNumber"}


def test_global_peer_without_password_and_no_core_objects():
    result = kos_calico.resources(model())
    assert kinds(result["calico"], "BGPPeer") == [{"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer",
                                                  "metadata": {"name": "kos-router-tor1"},
                                                  "spec": {"peerIP": "192.0.2.1", "asNumber": 65000,
                                                           # graceful restart as long as the router keeps routes
                                                           "maxRestartTime": "120s",
                                                           # one AS for all nodes: rack mates' blocks via the router
                                                           "numAllowedLocalASNumbers": 1}}]
    assert result["core"] == []


def test_rack_peers_with_passwords_from_a_secret():
    def clos(data):
        data["cluster"]["as_mode"] = "per_rack"
        data["cluster"]["node_to_node_mesh"] = False
        data["groups"]["bgp_routers"] = ["tor1", "tor2"]
        data["hosts"]["tor1"]["bgp_router_racks"] = ["rack1"]
        data["hosts"]["tor2"] = {"node_ip": "192.0.2.2", "bgp_router_as_number": 65001, "bgp_router_racks": ["rack2"]}
        # The route reflector is part of the model: preflight needs it to see every node has routes.
        data["cluster"]["route_reflectors"] = ["cp1"]
    result = kos_calico.resources(model(clos), {"passwords": {"tor1": "pw1"}})
    peers = {p["metadata"]["name"]: p["spec"] for p in kinds(result["calico"], "BGPPeer")}
    assert peers["kos-router-tor1"]["nodeSelector"] == "kos.platform/rack in { 'rack1' }"
    assert peers["kos-router-tor1"]["password"] == {"secretKeyRef": {"name": "calico-bgp-passwords", "key": "tor1"}}
    assert "password" not in peers["kos-router-tor2"]
    assert peers["kos-route-reflectors"] == {"nodeSelector": "all()",
                                             "peerSelector": "kos.platform/route-reflector == 'true'"}
    assert kos_calico.schema_errors(result["calico"], SCHEMAS) == []
    secret, role, binding = result["core"]
    assert secret["stringData"] == {"tor1": "pw1"} and secret["metadata"]["namespace"] == "kube-system"
    assert role["rules"][0]["resourceNames"] == ["calico-bgp-passwords"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "calico-node", "namespace": "kube-system"}]
    nodes = {n["metadata"]["name"]: n["metadata"] for n in result["nodes"]}
    assert nodes["cp1"]["labels"] == {"kos.platform/rack": "rack1", "kos.platform/route-reflector": "true"}
    assert nodes["cp1"]["annotations"] == {"projectcalico.org/ASNumber": "64601",
                                           "projectcalico.org/RouteReflectorClusterID": "244.0.0.1"}
    assert nodes["node2"]["annotations"] == {"projectcalico.org/ASNumber": "64602"}
    assert kos_calico.core_errors(result["core"] + result["nodes"], "1.31.4") == []


def test_per_node_as_numbers_need_no_local_as_and_restart_time_follows_the_option():
    def per_node(data):
        data["cluster"]["as_mode"] = "per_node"
        for index, name in enumerate(["cp1", "cp2", "cp3", "node1", "node2"]):
            data["hosts"][name]["node_as_number"] = 64700 + index
    result = kos_calico.resources(model(per_node), {"max_restart_time": "30s"})
    spec = kinds(result["calico"], "BGPPeer")[0]["spec"]
    assert spec == {"peerIP": "192.0.2.1", "asNumber": 65000, "maxRestartTime": "30s"}


def test_option_errors_name_the_variable():
    errors = kos_calico.option_errors(model(), {"ippool_mode": "one", "route_reflectors": ["cp1", "nope"],
                                               "passwords": {"spine": "x"}})
    assert errors == [
        "calico_ippool_mode is 'one': choose per_node (one pool per node, its model pod block) or shared "
        "(one pool, Calico assigns blocks)",
        "calico_route_reflectors names nope, not Kubernetes hosts of the model: list hosts of kube_control_plane "
        "or kube_node",
        "calico_route_reflectors is set but cluster_node_to_node_mesh is true: route reflectors replace the full "
        "mesh; set cluster_node_to_node_mesh to false",
        "calico_bgp_passwords has a password for spine, which is not a router of the model (tor1)",
    ]
    with pytest.raises(kos_calico.CalicoError, match="calico_ippool_mode is 'one'"):
        kos_calico.resources(model(), {"ippool_mode": "one"})


@pytest.mark.parametrize("change,message", [
    (lambda r: r["spec"].update(ipipMode="Always"), "spec/ipipMode: 'Always' is not one of ['Never']"),
    (lambda r: r["spec"].update(vxlanMode="CrossSubnet"), "spec/vxlanMode: 'CrossSubnet' is not one of ['Never']"),
    (lambda r: r["spec"].pop("cidr"), "spec: 'cidr' is a required property"),
    (lambda r: r["spec"].update(blockSize=16), "spec/blockSize: 16 is less than the minimum of 20"),
    (lambda r: r["spec"].update(ipv4=True), "spec: Additional properties are not allowed ('ipv4' was unexpected)"),
])
def test_schema_rejects_what_routed_mode_forbids(change, message):
    pool = kinds(kos_calico.resources(model())["calico"], "IPPool")[0]
    change(pool)
    errors = kos_calico.schema_errors([pool], SCHEMAS)
    assert errors == ["IPPool/%s: %s" % (pool["metadata"]["name"], message)]


def test_schema_catches_duplicates_unknown_kinds_and_bad_peers():
    calico = kos_calico.resources(model())["calico"]
    peer = kinds(calico, "BGPPeer")[0]
    bad_peer = {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer", "metadata": {"name": "x"},
                "spec": {"peerIP": "192.0.2.9"}}
    errors = kos_calico.schema_errors([peer, peer, bad_peer, {"kind": "Felix", "metadata": {"name": "y"}}], SCHEMAS)
    assert errors[0] == "BGPPeer/kos-router-tor1: defined twice"
    assert errors[1].startswith("BGPPeer/x: spec: ")
    assert errors[2].startswith("Felix/y: no schema for kind Felix")


def test_core_errors_report_without_secret_values():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "kube-system"},
              "stringData": {"tor1": "hunter2"}, "strayField": 1}
    errors = kos_calico.core_errors([secret], "v1.31.4")
    assert errors == ["Secret/s: (top): Additional properties are not allowed ('strayField' was unexpected)"]
    assert "hunter2" not in errors[0]


UPSTREAM = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "calico-config", "namespace": "kube-system"},
     "data": {"calico_backend": "bird", "veth_mtu": "0"}},
    {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "calico-node", "namespace": "kube-system"},
     "spec": {"template": {"spec": {
         "initContainers": [{"name": "install-cni", "image": "docker.io/calico/cni:v3.29.1"}],
         "containers": [{"name": "calico-node", "image": "docker.io/calico/node:v3.29.1", "env": [
             {"name": "CALICO_IPV4POOL_IPIP", "value": "Always"},
             {"name": "CALICO_IPV4POOL_VXLAN", "value": "Never"},
             {"name": "CLUSTER_TYPE", "value": "k8s,bgp"}]}]}}}},
    None,
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "calico-kube-controllers"},
     "spec": {"template": {"spec": {"containers": [{"name": "calico-kube-controllers",
                                                    "image": "docker.io/calico/kube-controllers:v3.29.1"}]}}}},
]


def test_manifest_is_made_routed_and_mirrored():
    docs = kos_calico.patch_manifest(UPSTREAM, "192.0.2.0/24", "artifactory.example.com/docker")
    node = docs[1]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in node["containers"][0]["env"]}
    assert env["CALICO_IPV4POOL_IPIP"] == "Never" and env["CALICO_IPV4POOL_VXLAN"] == "Never"
    assert env["NO_DEFAULT_POOLS"] == "true" and env["IP_AUTODETECTION_METHOD"] == "cidr=192.0.2.0/24"
    assert env["FELIX_IPINIPENABLED"] == "false" and env["CLUSTER_TYPE"] == "k8s,bgp"
    assert len(node["containers"][0]["env"]) == len(env)
    assert node["containers"][0]["image"] == "artifactory.example.com/docker/calico/node:v3.29.1"
    assert node["initContainers"][0]["image"] == "artifactory.example.com/docker/calico/cni:v3.29.1"
    assert docs[2]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "artifactory.example.com/docker/calico/kube-controllers:v3.29.1"
    assert UPSTREAM[1]["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/calico/node:v3.29.1"


def test_manifest_without_calico_node_is_refused():
    with pytest.raises(kos_calico.CalicoError, match="no calico-node DaemonSet container"):
        kos_calico.patch_manifest([UPSTREAM[0]], "192.0.2.0/24")
