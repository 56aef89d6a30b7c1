# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Routing of the cluster model: who peers with whom over BGP, and whether every node can reach
every other node's pods. Called by kos_model.validate() (``errors``) and kos_model.derive()
(``plan``); pure functions over the model input, unit-tested directly.

The default is the data-centre model: no node-to-node mesh; each node peers with the routers of
its rack (``bgp_router_racks``; two per rack for redundancy); the routers give the nodes the
routes they need (``cluster_routes_from_routers``: every pod block, or a default route) and
carry the cluster's ranges to the rest of the network through their upstream peers
(``bgp_router_upstream_peers``, the spine). Route reflectors (``cluster_route_reflectors``) and
the full mesh stay options.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - reported by kos_model
    HAS_NETADDR = False

AS_MODES = ("global", "per_rack", "per_node")
AS_RESERVED = (0, 23456, 65535, 4294967295)
AS_MAX = 4294967295
ROUTES_FROM_ROUTERS = ("pod_blocks", "default_route", "none")
# Linux TCP_MD5SIG_MAXKEYLEN (include/uapi/linux/tcp.h); RFC 2385 keys longer than it are refused
# by setsockopt, so the session would never come up.
TCP_MD5_MAX_BYTES = 80
DEFAULTS = {"routes_from_routers": "pod_blocks", "route_reflectors": []}
K8S_GROUPS = ("kube_control_plane", "kube_node")


def _ip(value):
    if not isinstance(value, str):
        return None
    try:
        return netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def _net(value):
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def as_problem(value):
    """Why value is not a usable AS number, or None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "is %r, not a whole number" % (value,)
    if value in AS_RESERVED:
        return "is %d, a reserved AS number (0, 23456, 65535 and 4294967295 are reserved)" % value
    if value <= 0 or value > AS_MAX:
        return "is %d, outside 1-4294967295" % value
    return None


def _groups(model_input):
    groups = model_input.get("groups") or {}
    return {name: list(groups.get(name) or []) for name in
            ("etcd", "kube_control_plane", "kube_node", "bgp_routers", "image_builders")}


def _k8s_hosts(model_input):
    groups = _groups(model_input)
    seen = []
    for name in groups["kube_control_plane"] + groups["kube_node"]:
        if name not in seen:
            seen.append(name)
    return seen


def _host_ip(hosts, name):
    host = hosts.get(name) or {}
    return host.get("node_ip") or host.get("ansible_host")


def settings(cluster):
    """The routing settings of a cluster dict (cluster_* variables without the prefix)."""
    result = dict(DEFAULTS)
    result.update({k: cluster[k] for k in DEFAULTS if cluster.get(k) is not None})
    return result


def external_peers(cluster):
    peers = cluster.get("external_bgp_peers")
    return peers if isinstance(peers, list) else []


def routers(model_input, cluster):
    """Managed routers (group bgp_routers) and unmanaged ones (cluster_external_bgp_peers)."""
    hosts = model_input.get("hosts") or {}
    result = []
    for name in _groups(model_input)["bgp_routers"]:
        host = hosts.get(name) or {}
        upstream = host.get("bgp_router_upstream_peers") or []
        result.append({"name": name, "ip": _host_ip(hosts, name), "as_number": host.get("bgp_router_as_number"),
                       "racks": _racks(host.get("bgp_router_racks")), "managed": True,
                       # Malformed (reported by errors()): counts as given, so no follow-on error.
                       "upstream": upstream if isinstance(upstream, list) else [{"malformed": upstream}]})
    for peer in external_peers(cluster):
        peer = peer if isinstance(peer, dict) else {}
        result.append({"name": peer.get("name"), "ip": peer.get("ip"), "as_number": peer.get("as_number"),
                       "racks": _racks(peer.get("racks")), "managed": False,
                       # An unmanaged router is someone else's: assume it is part of the fabric.
                       "upstream": [{"name": "fabric"}]})
    return result


def _racks(value):
    if isinstance(value, str):
        return [value]
    return [str(r) for r in value] if isinstance(value, list) else []


def node_as_numbers(model_input, cluster):
    hosts = model_input.get("hosts") or {}
    mode = cluster.get("as_mode")
    racks = cluster.get("rack_as_numbers") if isinstance(cluster.get("rack_as_numbers"), dict) else {}
    result = {}
    for name in _k8s_hosts(model_input):
        host = hosts.get(name) or {}
        if mode == "per_rack":
            result[name] = racks.get(host.get("node_rack"))
        elif mode == "per_node":
            result[name] = host.get("node_as_number")
        else:
            result[name] = cluster.get("as_number")
    return result


def _node_racks(model_input):
    hosts = model_input.get("hosts") or {}
    return {name: str((hosts.get(name) or {}).get("node_rack") or "") for name in _k8s_hosts(model_input)}


def _serves(router, rack):
    return not router["racks"] or rack in router["racks"]


# ---------------------------------------------------------------------------------------------
# Validation


def _check_as(model_input, cluster, errors):
    hosts = model_input.get("hosts") or {}
    mode = cluster.get("as_mode")
    problem = as_problem(cluster.get("as_number"))
    if problem:
        errors.append("cluster_as_number %s: give a private AS number such as 64512 (64512-65534 or "
                      "4200000000-4294967294)" % problem)
    if mode not in AS_MODES:
        errors.append("cluster_as_mode is %r: choose one of %s" % (mode, ", ".join(AS_MODES)))
        return False
    racks = cluster.get("rack_as_numbers")
    if not isinstance(racks, dict):
        errors.append("cluster_rack_as_numbers is %r, not a mapping: give {rack: AS number}" % (racks,))
        racks = {}
    for rack, number in sorted(racks.items(), key=lambda kv: str(kv[0])):
        problem = as_problem(number)
        if problem:
            errors.append("cluster_rack_as_numbers[%s] %s: give a private AS number" % (rack, problem))
    for name in _k8s_hosts(model_input):
        host = hosts.get(name) or {}
        if mode == "per_rack":
            rack = host.get("node_rack")
            if rack in (None, ""):
                errors.append("host %s has no node_rack, but cluster_as_mode is per_rack: set node_rack" % name)
            elif rack not in racks:
                errors.append("node_rack of %s is %r, which has no AS in cluster_rack_as_numbers: add it there"
                              % (name, rack))
        elif mode == "per_node":
            number = host.get("node_as_number")
            if number is None:
                errors.append("host %s has no node_as_number, but cluster_as_mode is per_node: set it" % name)
            else:
                problem = as_problem(number)
                if problem:
                    errors.append("node_as_number of %s %s: give a private AS number" % (name, problem))
    return True


def _check_routers(model_input, cluster, peers, errors):
    """Each router's AS and address, against the nodes' (both ends of every session)."""
    hosts = model_input.get("hosts") or {}
    node_as = set(node_as_numbers(model_input, cluster).values())
    node_net = _net(cluster.get("node_cidr"))
    node_ips = {}
    for name in _k8s_hosts(model_input):
        addr = _ip(_host_ip(hosts, name))
        if addr is not None:
            node_ips[str(addr)] = name
    seen_names = {}
    seen_ips = {}
    for index, peer in enumerate(peers):
        name = peer["name"]
        var = "bgp_router_as_number" if peer["managed"] else "cluster_external_bgp_peers[%d].as_number" % (
            index - len(_groups(model_input)["bgp_routers"]))
        if name in seen_names and name:
            errors.append("router name %s is used twice (bgp_routers and cluster_external_bgp_peers): give each "
                          "router its own name" % name)
        seen_names[name] = True
        number = peer["as_number"]
        if number is None:
            errors.append("router %s has no AS number: set bgp_router_as_number (its AS, distinct from the "
                          "cluster's)" % name if peer["managed"] else
                          "router %s has no AS number: set %s" % (name, var))
        else:
            problem = as_problem(number)
            if problem:
                errors.append("AS number of router %s %s: set %s to a valid AS" % (name, problem, var))
            elif number in node_as:
                errors.append("router %s has AS %d, the same as Kubernetes nodes: the routers peer over eBGP, so "
                              "give %s a different AS" % (name, number, var))
        addr = _ip(peer["ip"] or "")
        if addr is None:
            errors.append("router %s has no valid address (%r): set its node_ip/ansible_host or ip"
                          % (name, peer["ip"]))
            continue
        if str(addr) in node_ips:
            errors.append("router %s has the address %s, which is the node_ip of Kubernetes host %s: a node "
                          "cannot peer with itself; give the router's own address"
                          % (name, addr, node_ips[str(addr)]))
        elif str(addr) in seen_ips and not (peer["managed"] and seen_ips[str(addr)][1]):
            # Two managed routers sharing one address: kos_model's address check reports it.
            errors.append("routers %s and %s share the address %s: give each router its own address"
                          % (seen_ips[str(addr)][0], name, addr))
        seen_ips.setdefault(str(addr), (name, peer["managed"]))
        if peer["managed"] and node_net is not None and addr.version == node_net.version and addr not in node_net:
            errors.append("router %s has the address %s, outside cluster_node_cidr %s: the nodes reach their "
                          "routers on the node network (single-hop eBGP); give the router its address on that "
                          "network in node_ip, or widen cluster_node_cidr" % (name, addr, node_net.cidr))
        if peer["managed"]:
            _check_upstream(name, (hosts.get(name) or {}).get("bgp_router_upstream_peers"), node_ips, errors)


def _check_upstream(router, raw, node_ips, errors):
    if raw in (None, ""):
        return
    if not isinstance(raw, list):
        errors.append("bgp_router_upstream_peers of %s is %r, not a list: give [{name, ip, as_number}] or []"
                      % (router, raw))
        return
    for index, peer in enumerate(raw):
        var = "bgp_router_upstream_peers[%d] of %s" % (index, router)
        if not isinstance(peer, dict) or not peer.get("name"):
            errors.append("%s has no name: give {name, ip, as_number}" % var)
            continue
        if _ip(peer.get("ip")) is None:
            errors.append("%s (%s) has ip %r, not an IP address: give the spine's address"
                          % (var, peer["name"], peer.get("ip")))
        elif peer["ip"] in node_ips:
            errors.append("%s (%s) has the address %s of Kubernetes host %s: give the spine's address"
                          % (var, peer["name"], peer["ip"], node_ips[peer["ip"]]))
        problem = as_problem(peer.get("as_number"))
        if problem:
            errors.append("%s (%s): as_number %s: give the spine's AS" % (var, peer["name"], problem))


def _check_external_list(cluster, errors):
    raw = cluster.get("external_bgp_peers")
    if not isinstance(raw, list):
        errors.append("cluster_external_bgp_peers is %r, not a list: give [{name, ip, as_number}] or []" % (raw,))
        return
    for index, peer in enumerate(raw):
        if not isinstance(peer, dict) or not peer.get("name"):
            errors.append("cluster_external_bgp_peers[%d] has no name: give {name, ip, as_number}" % index)


def _check_settings(model_input, cluster, opts, errors):
    mode = opts["routes_from_routers"]
    if mode not in ROUTES_FROM_ROUTERS:
        errors.append("cluster_routes_from_routers is %r: choose pod_blocks (the routers send each node every "
                      "other node's pod block), default_route (a default route) or none (the nodes learn routes "
                      "from the mesh or route reflectors)" % (mode,))
    reflectors = opts["route_reflectors"]
    if not isinstance(reflectors, list):
        errors.append("cluster_route_reflectors is %r, not a list: give a list of Kubernetes hosts, or []"
                      % (reflectors,))
        return False
    k8s = _k8s_hosts(model_input)
    unknown = [str(r) for r in reflectors if r not in k8s]
    if unknown:
        errors.append("cluster_route_reflectors names %s, not Kubernetes hosts of the inventory: list hosts of "
                      "kube_control_plane or kube_node" % ", ".join(sorted(unknown)))
    if reflectors and cluster.get("node_to_node_mesh"):
        errors.append("cluster_route_reflectors is set but cluster_node_to_node_mesh is true: route reflectors "
                      "replace the full mesh; set cluster_node_to_node_mesh to false")
    return mode in ROUTES_FROM_ROUTERS


def _check_sessions(model_input, cluster, opts, peers, errors):
    """Every router has a session, every node has one, every node has a route to every pod block."""
    k8s = _k8s_hosts(model_input)
    racks = _node_racks(model_input)
    known_racks = sorted({r for r in racks.values() if r})
    mesh = bool(cluster.get("node_to_node_mesh"))
    reflectors = [r for r in opts["route_reflectors"] if r in k8s]
    if not peers and not mesh and not reflectors:
        errors.append("there is no BGP router and cluster_node_to_node_mesh is off: nodes would learn no "
                      "routes; add hosts to bgp_routers, set cluster_external_bgp_peers, or turn the mesh on")
        return
    for peer in peers:
        if not peer["name"]:
            continue
        var = "bgp_router_racks of %s" % peer["name"] if peer["managed"] else \
            "racks of %s in cluster_external_bgp_peers" % peer["name"]
        typos = [r for r in peer["racks"] if r not in known_racks]
        for rack in typos:
            errors.append("%s names rack %r, where no Kubernetes host is (node_rack gives %s): fix the rack name"
                          % (var, rack, ", ".join(known_racks) or "no rack at all"))
        if k8s and not typos and not any(_serves(peer, racks[n]) for n in k8s):
            errors.append("router %s would have no BGP session: no Kubernetes host is in its racks (%s); fix %s"
                          % (peer["name"], ", ".join(peer["racks"]), var))
    sessions = {n: [p for p in peers if p["name"] and _serves(p, racks[n])] for n in k8s}

    def rack_list():
        return ", ".join(sorted({r for p in peers for r in p["racks"]})) or "none"

    for name in k8s:
        # A node alone in a cluster without routers needs no session: there is no other pod block.
        if sessions[name] or (mesh and (len(k8s) > 1 or not peers)) or reflectors:
            continue
        if not racks[name]:
            errors.append("host %s has no node_rack, and every router serves only its racks (bgp_router_racks: "
                          "%s), so the node would have no BGP session: set node_rack" % (name, rack_list()))
        else:
            errors.append("host %s (node_rack %r) would have no BGP session: no router serves that rack "
                          "(bgp_router_racks: %s) and neither the mesh nor route reflectors are on; fix node_rack "
                          "or add the rack to its routers' bgp_router_racks" % (name, racks[name], rack_list()))
    if mesh or reflectors or len(k8s) < 2:
        return
    mode = opts["routes_from_routers"]
    if mode == "none":
        errors.append("cluster_node_to_node_mesh is off, cluster_route_reflectors is empty and "
                      "cluster_routes_from_routers is none: no node would have a route to another node's pod "
                      "block; set cluster_routes_from_routers to pod_blocks (the data-centre model) or "
                      "default_route, list route reflectors, or turn the mesh on")
        return
    # The routers send routes: each router of a node must know every other node's pod block, either
    # from its own sessions or from the fabric through its upstream peers.
    for peer in peers:
        if not peer["name"] or peer["upstream"]:
            continue
        served = [n for n in k8s if _serves(peer, racks[n])]
        if not served:
            continue
        unknown = [n for n in k8s if n not in served]
        if unknown:
            errors.append("router %s has no upstream peer and serves only racks %s, so it learns no route to the "
                          "pod blocks of %s: nodes of its racks would have no route to them; set "
                          "bgp_router_upstream_peers of %s (the spine that joins the racks) or let it serve "
                          "every rack" % (peer["name"], ", ".join(peer["racks"]), ", ".join(unknown), peer["name"]))


def _check_passwords(model_input, peers, errors):
    """model_input["bgp_passwords"]: {router: {"router": bytes, "nodes": bytes, "same": bool}} (lengths only,
    collected by the bird_password_facts filter)."""
    facts = model_input.get("bgp_passwords") or {}
    if not isinstance(facts, dict):
        return
    managed = {p["name"] for p in peers if p["managed"]}
    for name in sorted(facts):
        fact = facts[name] or {}
        router_len, node_len = int(fact.get("router") or 0), int(fact.get("nodes") or 0)
        for side, length, var in (("router", router_len, "bgp_router_password of %s" % name),
                                  ("nodes", node_len, "calico_bgp_passwords[%s]" % name)):
            if length > TCP_MD5_MAX_BYTES and (side == "router" or not fact.get("same")):
                errors.append("%s is %d bytes long; a TCP-MD5 key holds at most %d bytes (Linux "
                              "TCP_MD5SIG_MAXKEYLEN), so the session would never come up: choose a shorter one"
                              % (var, length, TCP_MD5_MAX_BYTES))
        if name not in managed:
            continue
        if router_len and not node_len:
            errors.append("router %s has a TCP-MD5 password (bgp_router_password) but calico_bgp_passwords[%s] "
                          "clears it on the nodes' side: the session would never come up; remove %s from "
                          "calico_bgp_passwords (the nodes then use bgp_router_password)" % (name, name, name))
        elif node_len and not router_len:
            errors.append("calico_bgp_passwords[%s] sets a TCP-MD5 password on the nodes' side only: router %s "
                          "has no bgp_router_password, so the session would never come up; set bgp_router_password "
                          "of %s and remove %s from calico_bgp_passwords" % (name, name, name, name))
        elif router_len and not fact.get("same"):
            errors.append("calico_bgp_passwords[%s] differs from bgp_router_password of %s: both ends of a "
                          "session need the same TCP-MD5 password; remove %s from calico_bgp_passwords"
                          % (name, name, name))


def errors(model_input, cluster):
    """Every routing problem of a model input (cluster: the cluster_* variables, defaults applied)."""
    found = []
    if not _check_as(model_input, cluster, found):
        return found
    opts = settings(cluster)
    peers = routers(model_input, cluster)
    _check_routers(model_input, cluster, peers, found)
    _check_external_list(cluster, found)
    if _check_settings(model_input, cluster, opts, found):
        _check_sessions(model_input, cluster, opts, peers, found)
    _check_passwords(model_input, peers, found)
    return found


# ---------------------------------------------------------------------------------------------
# Derivation


def plan(model_input, cluster, nodes):
    """The routers and the bgp section of kos_cluster, from a valid model input.

    nodes: kos_cluster.nodes (ip, rack, as_number, pod_block per Kubernetes host).
    """
    opts = settings(cluster)
    mesh = bool(cluster.get("node_to_node_mesh"))
    peerings = []
    result = {}
    for router in routers(model_input, cluster):
        peers = []
        for name, node in nodes.items():
            if not _serves(router, node["rack"]):
                continue
            peers.append({"name": name, "ip": node["ip"], "as_number": node["as_number"],
                          "pod_block": node["pod_block"], "rack": node["rack"]})
            peerings.append({"node": name, "node_ip": node["ip"], "node_as_number": node["as_number"],
                             "router": router["name"], "router_ip": router["ip"],
                             "router_as_number": router["as_number"]})
        upstream = [{"name": str(u["name"]), "ip": str(u["ip"]), "as_number": u["as_number"]}
                    for u in router["upstream"] if router["managed"]]
        result[router["name"]] = {"ip": router["ip"], "as_number": router["as_number"], "managed": router["managed"],
                                  "racks": router["racks"], "peers": peers, "upstream": upstream}
    node_as = [n["as_number"] for n in nodes.values()]
    # Routes the routers pass from one node to another carry the sender's AS; nodes sharing an AS
    # (global or per-rack) would drop them as a loop unless they allow their own AS once.
    shared_as = len(set(node_as)) < len(node_as)
    return {
        "routers": result,
        "bgp": {
            "cluster_as_number": cluster.get("as_number"),
            "mode": cluster.get("as_mode"),
            "node_to_node_mesh": mesh,
            "rack_as_numbers": dict(cluster.get("rack_as_numbers") or {}),
            "routes_from_routers": opts["routes_from_routers"],
            "route_reflectors": [r for r in opts["route_reflectors"] if r in nodes],
            "allow_local_as": 1 if shared_as and opts["routes_from_routers"] == "pod_blocks" and result else 0,
            "peerings": peerings,
        },
    }


# The model's shared readers of the input, defined once here and used by kos_model too (which
# imports this module; the other way round would be an import cycle).
read_ip = _ip
read_groups = _groups
k8s_hosts = _k8s_hosts
host_ip = _host_ip
