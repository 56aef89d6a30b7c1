"""The data-centre routing model (kos_routing): who peers with whom, and preflight's refusal of
models where a node or router has no session or a node has no route to another node's pods.
Each invalid model asserts the exact message, through kos_model.validate() as preflight runs it."""

import copy

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_model, kos_routing


def datacentre():
    """Two racks, two routers per rack, each with the spine as upstream; no mesh (the defaults)."""
    spine = [{"name": "spine1", "ip": "192.0.2.250", "as_number": 65100}]
    return {
        "cluster": {
            "name": "kos-demo", "domain": "cluster.local", "kubernetes_version": "1.37.1",
            "node_cidr": "192.0.2.0/24", "pod_cidr": "10.244.0.0/16", "pod_block_prefix": 24,
            "service_cidr": "10.96.0.0/16", "external_ip_cidrs": [], "loadbalancer_ip_cidrs": [],
            "as_number": 64512, "as_mode": "per_rack", "rack_as_numbers": {"rack1": 64601, "rack2": 64602},
        },
        "groups": {
            "etcd": ["cp1"], "kube_control_plane": ["cp1"], "kube_node": ["node1", "node2", "node3"],
            "bgp_routers": ["tor1a", "tor1b", "tor2a", "tor2b"],
        },
        "hosts": {
            "cp1": {"node_ip": "192.0.2.11", "node_rack": "rack1"},
            "node1": {"node_ip": "192.0.2.21", "node_rack": "rack1"},
            "node2": {"node_ip": "192.0.2.22", "node_rack": "rack2"},
            "node3": {"node_ip": "192.0.2.23", "node_rack": "rack2"},
            "tor1a": {"node_ip": "192.0.2.2", "bgp_router_as_number": 65001, "bgp_router_racks": ["rack1"],
                      "bgp_router_upstream_peers": spine},
            "tor1b": {"node_ip": "192.0.2.3", "bgp_router_as_number": 65001, "bgp_router_racks": ["rack1"],
                      "bgp_router_upstream_peers": spine},
            "tor2a": {"node_ip": "192.0.2.4", "bgp_router_as_number": 65002, "bgp_router_racks": ["rack2"],
                      "bgp_router_upstream_peers": spine},
            "tor2b": {"node_ip": "192.0.2.5", "bgp_router_as_number": 65002, "bgp_router_racks": ["rack2"],
                      "bgp_router_upstream_peers": spine},
        },
    }


def changed(*changes):
    data = datacentre()
    for change in changes:
        change(data)
    return data


def cluster(key, value):
    return lambda d: d["cluster"].__setitem__(key, value)


def hostvar(name, key, value):
    return lambda d: d["hosts"][name].__setitem__(key, value)


def drop(name, key):
    return lambda d: d["hosts"][name].pop(key)


def passwords(facts):
    return lambda d: d.__setitem__("bgp_passwords", facts)


def test_the_datacentre_model_is_valid_and_is_the_default():
    assert kos_model.validate(datacentre()) == []
    model = kos_model.derive(datacentre())
    assert model["bgp"]["node_to_node_mesh"] is False
    assert model["bgp"]["routes_from_routers"] == "pod_blocks"
    # Each node peers with the two routers of its rack, and only with them.
    assert [p["name"] for p in model["routers"]["tor1a"]["peers"]] == ["cp1", "node1"]
    assert [p["name"] for p in model["routers"]["tor2b"]["peers"]] == ["node2", "node3"]
    assert sorted(p["router"] for p in model["bgp"]["peerings"] if p["node"] == "node2") == ["tor2a", "tor2b"]
    assert model["routers"]["tor1a"]["upstream"] == [{"name": "spine1", "ip": "192.0.2.250", "as_number": 65100}]
    # Rack mates share an AS and receive each other's blocks through the routers: allow it once.
    assert model["bgp"]["allow_local_as"] == 1


def test_per_node_as_needs_no_local_as_allowance():
    data = changed(cluster("as_mode", "per_node"),
                   *[hostvar(n, "node_as_number", 64700 + i) for i, n in enumerate(["cp1", "node1", "node2", "node3"])])
    assert kos_model.derive(data)["bgp"]["allow_local_as"] == 0


INVALID = [
    ("router outside the node network", [hostvar("tor1a", "node_ip", "198.51.100.2")],
     ["router tor1a has the address 198.51.100.2, outside cluster_node_cidr 192.0.2.0/24: the nodes reach their "
      "routers on the node network (single-hop eBGP); give the router its address on that network in node_ip, "
      "or widen cluster_node_cidr"]),
    ("external peer with a node's address",
     [cluster("external_bgp_peers", [{"name": "core1", "ip": "192.0.2.22", "as_number": 65200}])],
     ["router core1 has the address 192.0.2.22, which is the node_ip of Kubernetes host node2: a node cannot peer "
      "with itself; give the router's own address"]),
    ("two routers, one address", [hostvar("tor1b", "node_ip", "192.0.2.2")],
     ["hosts tor1a and tor1b share the address 192.0.2.2: give each host its own node_ip"]),
    ("external peer with a managed router's address",
     [cluster("external_bgp_peers", [{"name": "core1", "ip": "192.0.2.5", "as_number": 65200}])],
     ["routers tor2b and core1 share the address 192.0.2.5: give each router its own address"]),
    ("rack typo on a router leaves it without peers", [hostvar("tor2b", "bgp_router_racks", ["rakc2"])],
     ["bgp_router_racks of tor2b names rack 'rakc2', where no Kubernetes host is (node_rack gives rack1, rack2): "
      "fix the rack name"]),
    ("rack typo on both routers of a rack leaves nodes without peers",
     [hostvar("tor2a", "bgp_router_racks", ["rack3"]), hostvar("tor2b", "bgp_router_racks", ["rack3"])],
     ["bgp_router_racks of tor2a names rack 'rack3', where no Kubernetes host is (node_rack gives rack1, rack2): "
      "fix the rack name",
      "bgp_router_racks of tor2b names rack 'rack3', where no Kubernetes host is (node_rack gives rack1, rack2): "
      "fix the rack name",
      "host node2 (node_rack 'rack2') would have no BGP session: no router serves that rack (bgp_router_racks: "
      "rack1, rack3) and neither the mesh nor route reflectors are on; fix node_rack or add the rack to its "
      "routers' bgp_router_racks",
      "host node3 (node_rack 'rack2') would have no BGP session: no router serves that rack (bgp_router_racks: "
      "rack1, rack3) and neither the mesh nor route reflectors are on; fix node_rack or add the rack to its "
      "routers' bgp_router_racks"]),
    ("rack typo on a node", [hostvar("node3", "node_rack", "rack-2"), cluster("as_mode", "global")],
     ["host node3 (node_rack 'rack-2') would have no BGP session: no router serves that rack (bgp_router_racks: "
      "rack1, rack2) and neither the mesh nor route reflectors are on; fix node_rack or add the rack to its "
      "routers' bgp_router_racks"]),
    ("node without a rack", [drop("node1", "node_rack"), cluster("as_mode", "global")],
     ["host node1 has no node_rack, and every router serves only its racks (bgp_router_racks: rack1, rack2), so "
      "the node would have no BGP session: set node_rack"]),
    ("mesh off, no reflectors, routers send nothing", [cluster("routes_from_routers", "none")],
     ["cluster_node_to_node_mesh is off, cluster_route_reflectors is empty and cluster_routes_from_routers is "
      "none: no node would have a route to another node's pod block; set cluster_routes_from_routers to "
      "pod_blocks (the data-centre model) or default_route, list route reflectors, or turn the mesh on"]),
    ("rack routers without a spine", [drop("tor2a", "bgp_router_upstream_peers")],
     ["router tor2a has no upstream peer and serves only racks rack2, so it learns no route to the pod blocks of "
      "cp1, node1: nodes of its racks would have no route to them; set bgp_router_upstream_peers of tor2a (the "
      "spine that joins the racks) or let it serve every rack"]),
    ("default route from a router that knows half the blocks",
     [cluster("routes_from_routers", "default_route"), drop("tor1b", "bgp_router_upstream_peers")],
     ["router tor1b has no upstream peer and serves only racks rack1, so it learns no route to the pod blocks of "
      "node2, node3: nodes of its racks would have no route to them; set bgp_router_upstream_peers of tor1b (the "
      "spine that joins the racks) or let it serve every rack"]),
    ("unknown routes_from_routers", [cluster("routes_from_routers", "everything")],
     ["cluster_routes_from_routers is 'everything': choose pod_blocks (the routers send each node every other "
      "node's pod block), default_route (a default route) or none (the nodes learn routes from the mesh or route "
      "reflectors)"]),
    ("reflector that is no Kubernetes host", [cluster("route_reflectors", ["tor1a"])],
     ["cluster_route_reflectors names tor1a, not Kubernetes hosts of the inventory: list hosts of "
      "kube_control_plane or kube_node"]),
    ("reflectors with the mesh on", [cluster("route_reflectors", ["cp1"]), cluster("node_to_node_mesh", True)],
     ["cluster_route_reflectors is set but cluster_node_to_node_mesh is true: route reflectors replace the full "
      "mesh; set cluster_node_to_node_mesh to false"]),
    ("reflectors not a list", [cluster("route_reflectors", {"cp1": True})],
     ["cluster_route_reflectors is {'cp1': True}, not a list: give a list of Kubernetes hosts, or []"]),
    ("spine without address", [hostvar("tor1a", "bgp_router_upstream_peers", [{"name": "spine1", "as_number": 65100}])],
     ["bgp_router_upstream_peers[0] of tor1a (spine1) has ip None, not an IP address: give the spine's address"]),
    ("spine with a reserved AS",
     [hostvar("tor1a", "bgp_router_upstream_peers", [{"name": "spine1", "ip": "192.0.2.250", "as_number": 23456}])],
     ["bgp_router_upstream_peers[0] of tor1a (spine1): as_number is 23456, a reserved AS number (0, 23456, 65535 "
      "and 4294967295 are reserved): give the spine's AS"]),
    ("upstream peers not a list", [hostvar("tor1a", "bgp_router_upstream_peers", "spine1")],
     ["bgp_router_upstream_peers of tor1a is 'spine1', not a list: give [{name, ip, as_number}] or []"]),
    ("router AS equal to a rack's AS", [hostvar("tor1a", "bgp_router_as_number", 64602)],
     ["router tor1a has AS 64602, the same as Kubernetes nodes: the routers peer over eBGP, so give "
      "bgp_router_as_number a different AS"]),
    ("external peer named like a managed router",
     [cluster("external_bgp_peers", [{"name": "tor1a", "ip": "192.0.2.9", "as_number": 65200}])],
     ["router name tor1a is used twice (bgp_routers and cluster_external_bgp_peers): give each router its own "
      "name"]),
    ("external peer with a bad AS",
     [cluster("external_bgp_peers", [{"name": "core1", "ip": "192.0.2.9", "as_number": 0}])],
     ["AS number of router core1 is 0, a reserved AS number (0, 23456, 65535 and 4294967295 are reserved): set "
      "cluster_external_bgp_peers[0].as_number to a valid AS"]),
    ("TCP-MD5 password over 80 bytes", [passwords({"tor1a": {"router": 81, "nodes": 81, "same": True}})],
     ["bgp_router_password of tor1a is 81 bytes long; a TCP-MD5 key holds at most 80 bytes (Linux "
      "TCP_MD5SIG_MAXKEYLEN), so the session would never come up: choose a shorter one"]),
    ("password on the routers' side only", [passwords({"tor2a": {"router": 12, "nodes": 0, "same": False}})],
     ["router tor2a has a TCP-MD5 password (bgp_router_password) but calico_bgp_passwords[tor2a] clears it on "
      "the nodes' side: the session would never come up; remove tor2a from calico_bgp_passwords (the nodes then "
      "use bgp_router_password)"]),
    ("password on the nodes' side only", [passwords({"tor2a": {"router": 0, "nodes": 12, "same": False}})],
     ["calico_bgp_passwords[tor2a] sets a TCP-MD5 password on the nodes' side only: router tor2a has no "
      "bgp_router_password, so the session would never come up; set bgp_router_password of tor2a and remove "
      "tor2a from calico_bgp_passwords"]),
    ("different passwords on the two sides", [passwords({"tor2a": {"router": 12, "nodes": 12, "same": False}})],
     ["calico_bgp_passwords[tor2a] differs from bgp_router_password of tor2a: both ends of a session need the "
      "same TCP-MD5 password; remove tor2a from calico_bgp_passwords"]),
    ("over-long password of an unmanaged router",
     [cluster("external_bgp_peers", [{"name": "core1", "ip": "192.0.2.9", "as_number": 65200}]),
      passwords({"core1": {"router": 0, "nodes": 90, "same": False}})],
     ["calico_bgp_passwords[core1] is 90 bytes long; a TCP-MD5 key holds at most 80 bytes (Linux "
      "TCP_MD5SIG_MAXKEYLEN), so the session would never come up: choose a shorter one"]),
]


@pytest.mark.parametrize("changes, expected", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_routing_is_refused_with_every_problem_named(changes, expected):
    assert kos_model.validate(changed(*changes)) == expected


def test_every_problem_is_reported_together():
    data = changed(hostvar("tor1a", "node_ip", "198.51.100.2"), hostvar("tor2b", "bgp_router_racks", ["rakc2"]),
                   passwords({"tor1b": {"router": 100, "nodes": 100, "same": True}}))
    found = kos_model.validate(data)
    assert len(found) == 3, found
    assert [f.split(" ")[0] + " " + f.split(" ")[1] for f in found] == [
        "router tor1a", "bgp_router_racks of", "bgp_router_password of"]


def test_mesh_or_reflectors_give_routes_without_router_routes():
    mesh = changed(cluster("routes_from_routers", "none"), cluster("node_to_node_mesh", True))
    assert kos_model.validate(mesh) == []
    reflectors = changed(cluster("routes_from_routers", "none"), cluster("route_reflectors", ["cp1", "node2"]))
    assert kos_model.validate(reflectors) == []
    assert kos_model.derive(reflectors)["bgp"]["route_reflectors"] == ["cp1", "node2"]


def test_routers_serving_every_rack_need_no_spine():
    data = datacentre()
    for name in data["groups"]["bgp_routers"]:
        data["hosts"][name].pop("bgp_router_racks")
        data["hosts"][name].pop("bgp_router_upstream_peers")
    assert kos_model.validate(data) == []


def test_a_single_node_needs_no_route_to_others():
    data = copy.deepcopy(datacentre())
    data["groups"].update({"kube_node": [], "bgp_routers": ["tor1a"]})
    data["hosts"]["tor1a"].pop("bgp_router_upstream_peers")
    data["cluster"]["routes_from_routers"] = "none"
    assert kos_routing.errors(data, kos_model._cluster(data)) == []
