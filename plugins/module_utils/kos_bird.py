# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""BIRD 2 on the external routers: the peering plan as data, and the parsing of `birdc` output.

Pure functions over plain data, unit-tested directly; plugins/filter/bird.py wraps them.

- ``router_plan(kos_cluster, router, options)``: what one router's bird.conf says (its BGP
  sessions, the prefixes each session may import, limits), built from the cluster model.
- ``parse_protocols(text)`` / ``parse_routes(text)``: `birdc show protocols` / `birdc show route`.
- ``bgp_report(plan, protocols, routes)``: which expected sessions are not Established and which
  expected prefixes are missing from the routing table, in words an operator can act on.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - reported by the filter plugin
    HAS_NETADDR = False

POD_PREFIX_MATCH = ("own_block", "any_block")
MAX_PREFIX_ACTIONS = ("warn", "block", "restart", "disable")
SYMBOL = re.compile(r"[^A-Za-z0-9_]")
# BIRD keywords that a sanitised host name could collide with as a protocol name.
BIRD_KEYWORDS = frozenset(("ibgp", "ebgp", "bgp", "static", "kernel", "device", "direct", "bfd", "filter",
                           "function", "protocol", "template", "table", "define", "import", "export",
                           "accept", "reject", "net", "proto", "source", "from", "as", "neighbor", "local"))

OPTION_DEFAULTS = {
    "pod_prefix_match": "own_block",
    "max_local_service_routes": 256,
    "max_prefixes": 0,
    "protocol_prefix": "node_",
    "upstream_max_prefixes": 10000,
}
UPSTREAM_PREFIX = "up_"


class PlanError(Exception):
    """The model cannot be turned into a router plan (names what to change)."""


def protocol_name(host, prefix="node_"):
    """A BIRD symbol for a host's BGP session: letters, digits and '_', starting with a letter."""
    name = prefix + SYMBOL.sub("_", str(host))
    if not name[0].isalpha():
        name = "p_" + name
    if name.lower() in BIRD_KEYWORDS:
        name = name + "_peer"
    return name


def _exact(cidr):
    net = netaddr.IPNetwork(cidr)
    return "%s/%d" % (net.network, net.prefixlen)


def _with_host_routes(cidr):
    """The range itself and the single addresses in it (Services with externalTrafficPolicy Local)."""
    net = netaddr.IPNetwork(cidr)
    host_len = 32 if net.version == 4 else 128
    items = [_exact(cidr)]
    if net.prefixlen < host_len:
        items.append("%s{%d,%d}" % (_exact(cidr), host_len, host_len))
    return items


def service_prefixes(kos_cluster):
    """Prefix-set items for what every node may announce: Service ClusterIP range, external and
    load-balancer ranges, each exactly or as a single address inside it."""
    networks = kos_cluster["networks"]
    items = _with_host_routes(networks["service"])
    for cidr in list(networks.get("external") or []) + list(networks.get("loadbalancer") or []):
        items += _with_host_routes(cidr)
    return items


def pod_prefixes(kos_cluster, peer, match):
    """Prefix-set items for the pod routes a node may announce."""
    networks = kos_cluster["networks"]
    if match == "own_block":
        return [_exact(peer["pod_block"])]
    length = int(networks["pod_block_prefix"])
    return ["%s{%d,%d}" % (_exact(networks["pod"]), length, length)]


def _host_route(address):
    ip = netaddr.IPAddress(address)
    return "%s/%d" % (ip, 32 if ip.version == 4 else 128)


def router_plan(kos_cluster, router, options=None):
    """The data a router's bird.conf is rendered from.

    Per node session, two limits that do not share a budget: ``pod_limit`` for the node's pod
    block(s) and the Service/external/load-balancer range aggregates, ``service_limit`` for the /32s
    of Services with externalTrafficPolicy Local; routes over either are blocked, so a node that
    announces too many /32s loses the extra /32s, never its pod block. ``max_prefixes`` is the hard
    cap on what a session may send at all (before filtering), twice the two budgets unless set.
    """
    opts = dict(OPTION_DEFAULTS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    if opts["pod_prefix_match"] not in POD_PREFIX_MATCH:
        raise PlanError("bgp_router_pod_prefix_match is %r: choose one of %s"
                        % (opts["pod_prefix_match"], ", ".join(POD_PREFIX_MATCH)))
    routers = kos_cluster.get("routers") or {}
    if router not in routers:
        raise PlanError("host %s is not a router of the cluster model (kos_cluster.routers has %s): put it in "
                        "the bgp_routers group" % (router, ", ".join(sorted(routers)) or "none"))
    me = routers[router]
    if me.get("as_number") is None:
        raise PlanError("router %s has no AS number: set bgp_router_as_number" % router)
    services = service_prefixes(kos_cluster)
    networks = kos_cluster["networks"]
    extra = 1 + len(networks.get("external") or []) + len(networks.get("loadbalancer") or [])
    peers = []
    seen = {}
    for peer in me.get("peers") or []:
        name = protocol_name(peer["name"], opts["protocol_prefix"])
        if name in seen:
            raise PlanError("hosts %s and %s both map to the BIRD protocol name %s: rename one of them"
                            % (seen[name], peer["name"], name))
        seen[name] = peer["name"]
        pods = pod_prefixes(kos_cluster, peer, opts["pod_prefix_match"])
        pod_count = 1 if opts["pod_prefix_match"] == "own_block" else len(kos_cluster.get("nodes") or {}) or 1
        pod_limit = pod_count + extra
        service_limit = int(opts["max_local_service_routes"])
        limit = int(opts["max_prefixes"]) if opts["max_prefixes"] else 2 * (pod_limit + service_limit)
        peers.append({
            "name": peer["name"],
            "protocol": name,
            "ip": peer["ip"],
            "as_number": peer["as_number"],
            "pod_block": peer["pod_block"],
            "pod_prefixes": pods,
            "import_prefixes": pods + services,
            "max_prefixes": limit,
            "pod_limit": pod_limit,
            "service_limit": service_limit,
            "table": "t_" + name,
        })
    upstream = []
    for peer in me.get("upstream") or []:
        name = protocol_name(peer["name"], UPSTREAM_PREFIX)
        if name in seen:
            raise PlanError("upstream peer %s and host %s both map to the BIRD protocol name %s: rename one of them"
                            % (peer["name"], seen[name], name))
        seen[name] = peer["name"]
        upstream.append({"name": peer["name"], "protocol": name, "ip": peer["ip"], "as_number": peer["as_number"],
                         "max_prefixes": int(opts["upstream_max_prefixes"])})
    bgp = kos_cluster.get("bgp") or {}
    api = kos_cluster.get("api") or {}
    api_prefixes = [_host_route(api["vip"])] if api.get("vip") else []
    block_len = int(networks["pod_block_prefix"])
    pod_blocks = "%s{%d,%d}" % (_exact(networks["pod"]), block_len, block_len)
    return {
        "router": router,
        "router_id": me["ip"],
        "ip": me["ip"],
        "as_number": me["as_number"],
        "peers": peers,
        "upstream": upstream,
        "protocol_prefix": opts["protocol_prefix"],
        # What the nodes get from this router (cluster_routes_from_routers).
        "routes_to_nodes": bgp.get("routes_from_routers", "none"),
        "pod_blocks": pod_blocks,
        # Service /32s (externalTrafficPolicy Local): the second limit of each node session.
        "service_host_prefixes": [i for i in services if "{" in i],
        # What goes upstream: only routes our nodes (or the API VIP speakers) announced, inside these.
        "upstream_prefixes": [pod_blocks] + services + api_prefixes,
        "api_prefixes": api_prefixes,
        "service_prefixes": services,
        "service_cidr": _exact(networks["service"]),
        "pod_cidr": _exact(networks["pod"]),
    }


# ---------------------------------------------------------------------------------------------
# Parsing birdc output

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?$")
_NET = re.compile(r"^[0-9A-Fa-f:.]+/\d+$")
_ROUTE_HEAD = re.compile(r"^(?P<type>\S+)\s+\[(?P<proto>\S+)(?:\s+(?P<since>[^\]]*?))?\]\s*(?P<rest>.*)$")
_VIA = re.compile(r"^via\s+(?P<gw>\S+)\s+on\s+(?P<iface>\S+)(?:\s+weight\s+(?P<weight>\d+))?")
_DEV = re.compile(r"^dev\s+(?P<iface>\S+)")
_ASPATH = re.compile(r"\[(?:AS)?(?P<path>[\d ]*)(?P<origin>[ie?])\]\s*$")


def _strip_banner(text):
    lines = []
    for line in (text or "").splitlines():
        if line.startswith("BIRD ") and line.rstrip().endswith("ready."):
            continue
        if not line.strip() or line.strip() == "Access restricted":
            continue
        lines.append(line)
    return lines


def parse_protocols(text):
    """Parse `birdc show protocols`: {name: {proto, table, state, since, info}}.

    `since` keeps the whole timestamp (one token, or date and time with `timeformat protocol
    iso long`); `info` is the rest (e.g. "Established", "Active  Socket: Connection refused").
    """
    result = {}
    for line in _strip_banner(text):
        tokens = line.split()
        if tokens[:2] == ["Name", "Proto"] or len(tokens) < 4:
            continue
        name, proto, table, state = tokens[:4]
        rest = tokens[4:]
        since = ""
        if rest:
            if _DATE.match(rest[0]) and len(rest) > 1 and _TIME.match(rest[1]):
                since, rest = rest[0] + " " + rest[1], rest[2:]
            else:
                since, rest = rest[0], rest[1:]
        result[name] = {"proto": proto, "table": table, "state": state, "since": since, "info": " ".join(rest)}
    return result


def parse_routes(text):
    """Parse `birdc show route` (not `all`): {prefix: [{proto, primary, preference, as_path,
    origin, type, since, nexthops: [{gateway, interface}]}]}."""
    routes = {}
    current = None
    last = None
    for line in _strip_banner(text):
        if line.startswith("Table ") and line.rstrip().endswith(":"):
            continue
        stripped = line.strip()
        via = _VIA.match(stripped) or _DEV.match(stripped)
        if via and line[0] in " \t" and last is not None:
            last["nexthops"].append({"gateway": via.groupdict().get("gw") or "", "interface": via.group("iface")})
            continue
        if not line[0].isspace():
            first, _sep, stripped = line.partition(" ")
            if not _NET.match(first):
                continue
            current = first
            routes.setdefault(current, [])
            stripped = stripped.strip()
        if current is None:
            continue
        head = _ROUTE_HEAD.match(stripped)
        if not head:
            continue
        rest = head.group("rest")
        route = {"type": head.group("type"), "proto": head.group("proto"), "since": (head.group("since") or "").strip(),
                 "primary": rest.startswith("*"), "preference": None, "as_path": [], "origin": "", "nexthops": []}
        pref = re.search(r"\((\d+)(?:/[^)]*)?\)", rest)
        if pref:
            route["preference"] = int(pref.group(1))
        aspath = _ASPATH.search(rest)
        if aspath:
            route["as_path"] = [int(x) for x in aspath.group("path").split()]
            route["origin"] = aspath.group("origin")
        # "via X on Y" may share the line with the route in some formats.
        inline = re.search(r"\bvia\s+(\S+)\s+on\s+(\S+)", rest)
        if inline:
            route["nexthops"].append({"gateway": inline.group(1), "interface": inline.group(2)})
        routes[current].append(route)
        last = route
    return routes


def _allowed(items, prefix):
    """Whether prefix matches a BIRD prefix-set item list (exact "a/n" or "a/n{l,h}")."""
    net = netaddr.IPNetwork(prefix)
    for item in items:
        base, _sep, bounds = item.partition("{")
        outer = netaddr.IPNetwork(base)
        if not bounds:
            if net == outer:
                return True
            continue
        low, high = (int(x) for x in bounds.rstrip("}").split(","))
        if net.version == outer.version and net in outer and low <= net.prefixlen <= high:
            return True
    return False


def bgp_report(plan, protocols, routes):
    """Compare a router plan with what BIRD reports.

    Returns {"ok": bool, "sessions": {protocol: state text}, "missing": [sentence, ...],
    "unexpected": [sentence, ...], "established": n, "expected": n, "ecmp": {range: width}}.
    A session counts when its state is "up" and its info starts with "Established" (node and
    upstream sessions alike). A node's pod block counts when a route for it learned from that node's
    session is in the table; each Service, external and load-balancer range counts when every
    Established node announces it (its ECMP width is the number that do). A route in the table
    from a node's session outside what that node may announce is unexpected (the import filter
    should have rejected it).
    """
    missing = []
    sessions = {}
    established = []
    for peer in plan["peers"]:
        proto = protocols.get(peer["protocol"])
        if proto is None:
            sessions[peer["protocol"]] = "absent"
            missing.append("session %s to node %s (%s, AS %s) is not configured on this router"
                           % (peer["protocol"], peer["name"], peer["ip"], peer["as_number"]))
            continue
        state = ("%s %s" % (proto["state"], proto["info"])).strip()
        sessions[peer["protocol"]] = state
        if proto["state"] == "up" and proto["info"].startswith("Established"):
            established.append(peer)
        else:
            missing.append("session %s to node %s (%s, AS %s) is not Established: %s"
                           % (peer["protocol"], peer["name"], peer["ip"], peer["as_number"], state))
    for up in plan.get("upstream") or []:
        proto = protocols.get(up["protocol"])
        state = ("%s %s" % (proto["state"], proto["info"])).strip() if proto else "absent"
        sessions[up["protocol"]] = state
        if not proto or not (proto["state"] == "up" and proto["info"].startswith("Established")):
            missing.append("upstream session %s to %s (%s, AS %s) is not Established: %s"
                           % (up["protocol"], up["name"], up["ip"], up["as_number"], state))
    for peer in plan["peers"]:
        block = _exact(peer["pod_block"])
        alternatives = routes.get(block) or []
        if not any(r["proto"] == peer["protocol"] for r in alternatives):
            learned = sorted({r["proto"] for r in alternatives})
            missing.append("pod block %s of node %s is not in the routing table from %s%s"
                           % (block, peer["name"], peer["protocol"],
                              " (learned only from %s)" % ", ".join(learned) if learned else ""))
    services = plan.get("service_prefixes") or _with_host_routes(plan["service_cidr"])
    ranges = [plan["service_cidr"]] + [i for i in services[1:] if "{" not in i]
    ecmp = {}
    announcing = []
    for index, cidr in enumerate(ranges if plan["peers"] else []):
        by = sorted({r["proto"] for r in routes.get(cidr) or []} & {p["protocol"] for p in plan["peers"]})
        ecmp[cidr] = len(by)
        what = "Service range" if index == 0 else "range"
        if index == 0:
            announcing = by
        if not by:
            missing.append("%s %s is not in the routing table (no node announces it)" % (what, cidr))
            continue
        silent = [p["protocol"] for p in established if p["protocol"] not in by]
        if silent:
            missing.append("%s %s is not announced by %s (ECMP set: %s)" % (what, cidr, ", ".join(silent),
                                                                            ", ".join(by)))
    unexpected = []
    for peer in plan["peers"]:
        for prefix, alternatives in sorted(routes.items()):
            if any(r["proto"] == peer["protocol"] for r in alternatives) and \
                    not _allowed(peer.get("import_prefixes") or [_exact(peer["pod_block"])] + services, prefix):
                unexpected.append("%s from node %s (%s) was accepted but is not the node's to announce: check "
                                  "the import filter kos_import_%s"
                                  % (prefix, peer["name"], peer["protocol"], peer["protocol"]))
    return {"ok": not missing and not unexpected, "missing": missing + unexpected, "unexpected": unexpected,
            "sessions": sessions, "established": len(established), "expected": len(plan["peers"]),
            "upstream_expected": len(plan.get("upstream") or []), "ecmp": ecmp,
            "service_announced_by": announcing}
