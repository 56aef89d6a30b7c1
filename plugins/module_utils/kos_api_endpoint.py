# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Kubernetes API endpoint of the cluster model: validation and derivation.

No single control-plane address: kubelets, kubeadm and clients reach the API servers through one
of three endpoints (``cluster_api_endpoint_mode``):

``bgp_vip``
    A virtual IP (``cluster_api_vip``) that every control plane whose API server answers
    ``/readyz`` announces as a /32 to the BGP routers; the routers spread it with ECMP and drop a
    control plane the moment it withdraws. Needs routers (group bgp_routers or
    cluster_external_bgp_peers).
``local_proxy``
    A TCP proxy on every Kubernetes host listening on 127.0.0.1:``cluster_api_local_proxy_port``
    and balancing over every control plane (sites without BGP). Clients off the nodes use
    ``cluster_api_endpoint`` (for example a DNS name listing every control plane).
``load_balancer``
    An external load balancer (an OpenStack Octavia listener, a hardware balancer) whose address
    or DNS name is ``cluster_api_endpoint``.

Left empty, the mode follows the input: a VIP means bgp_vip, an endpoint means load_balancer,
neither means local_proxy. kos_model.validate()/derive() call ``check`` and ``derive`` here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import netaddr
except ImportError:  # pragma: no cover - kos_model reports the missing library
    netaddr = None

MODES = ("bgp_vip", "local_proxy", "load_balancer")
DEFAULTS = {
    "api_endpoint_mode": "",
    "api_vip": "",
    "api_local_proxy_port": 6444,
    "api_vip_bgp_port": 1179,
}
# The API server's readiness endpoint (kube-apiserver serves /readyz since 1.16; /healthz is deprecated).
HEALTH_PATH = "/readyz"
# RFC 4271: BGP listens on TCP 179. calico-node's BIRD holds it on every node (hostNetwork), so the
# VIP speaker on a control plane and its peers on the routers use their own port.
BGP_PORT = 179
HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$")


def _settings(cluster):
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in cluster.items() if k in DEFAULTS and v is not None})
    merged["api_endpoint"] = cluster.get("api_endpoint") or ""
    merged["api_port"] = cluster.get("api_port")
    return merged


def mode(cluster):
    """The endpoint mode: the one given, else bgp_vip with a VIP, load_balancer with an endpoint, local_proxy."""
    settings = _settings(cluster)
    if settings["api_endpoint_mode"]:
        return settings["api_endpoint_mode"]
    if settings["api_vip"]:
        return "bgp_vip"
    if settings["api_endpoint"]:
        return "load_balancer"
    return "local_proxy"


def _address(value):
    if not isinstance(value, str) or not value:
        return None
    try:
        return netaddr.IPAddress(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def _port_problem(value):
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        return "is %r, not a TCP port (1-65535)" % (value,)
    return None


def check(cluster, nets, host_addresses, has_routers, errors):
    """Append every problem of the API endpoint settings to errors.

    cluster: the cluster_* input (prefix dropped); nets: {variable: IPNetwork} of the parsed
    cluster ranges; host_addresses: {host: address string}; has_routers: whether any BGP router
    (managed or not) exists.
    """
    settings = _settings(cluster)
    chosen = mode(cluster)
    if chosen not in MODES:
        errors.append("cluster_api_endpoint_mode is %r: choose one of %s (or leave it empty)"
                      % (chosen, ", ".join(MODES)))
        return
    for key in ("api_local_proxy_port", "api_vip_bgp_port"):
        problem = _port_problem(settings[key])
        if problem:
            errors.append("cluster_%s %s: give a free TCP port" % (key, problem))
    if settings["api_vip_bgp_port"] == BGP_PORT and chosen == "bgp_vip":
        errors.append("cluster_api_vip_bgp_port is 179, the port calico-node's BIRD holds on every node: "
                      "give the VIP speaker its own port, e.g. 1179")
    if chosen == "local_proxy" and settings["api_local_proxy_port"] == settings["api_port"]:
        errors.append("cluster_api_local_proxy_port is %r, the API server's own port (cluster_api_port): the "
                      "proxy listens next to the API server on control planes; choose another, e.g. 6444"
                      % (settings["api_local_proxy_port"],))
    if chosen == "bgp_vip":
        _check_vip(settings, nets, host_addresses, has_routers, errors)
    elif settings["api_vip"]:
        errors.append("cluster_api_vip is set but cluster_api_endpoint_mode is %s: a VIP is only announced in "
                      "bgp_vip mode; set the mode to bgp_vip or remove cluster_api_vip" % chosen)
    if chosen == "load_balancer" and not settings["api_endpoint"]:
        errors.append("cluster_api_endpoint_mode is load_balancer but cluster_api_endpoint is empty: give the "
                      "load balancer's address or DNS name (e.g. an Octavia listener's VIP)")
    if settings["api_endpoint"]:
        _check_endpoint(settings, nets, host_addresses, errors)


def _check_vip(settings, nets, host_addresses, has_routers, errors):
    raw = settings["api_vip"]
    if not raw:
        errors.append("cluster_api_endpoint_mode is bgp_vip but cluster_api_vip is empty: give a virtual IP "
                      "outside every cluster range, e.g. 198.51.100.200")
        return
    vip = _address(raw)
    if vip is None:
        errors.append("cluster_api_vip is %r, not an IP address: give one address (no prefix), e.g. 198.51.100.200"
                      % (raw,))
        return
    node = nets.get("cluster_node_cidr")
    if node is not None and vip.version != node.version:
        errors.append("cluster_api_vip %s is IPv%d but cluster_node_cidr is IPv%d: the control planes announce "
                      "it over their IPv%d sessions; use an IPv%d address"
                      % (vip, vip.version, node.version, node.version, node.version))
    for var in sorted(nets):
        net = nets[var]
        if net.version == vip.version and vip in net:
            errors.append("cluster_api_vip %s is inside %s (%s): the VIP is announced as a /32 of its own and "
                          "must lie outside the node, pod, service, external and load-balancer ranges; choose "
                          "an address outside them" % (vip, var, net.cidr))
    for host, address in sorted(host_addresses.items()):
        if address == str(vip):
            errors.append("cluster_api_vip %s is the address of host %s: choose an address no host holds"
                          % (vip, host))
    if not has_routers:
        errors.append("cluster_api_endpoint_mode is bgp_vip but there is no BGP router to announce the VIP to: "
                      "add hosts to bgp_routers or cluster_external_bgp_peers, or use local_proxy")


def _check_endpoint(settings, nets, host_addresses, errors):
    raw = settings["api_endpoint"]
    address = _address(raw)
    if address is None:
        if not isinstance(raw, str) or not HOSTNAME.match(raw):
            errors.append("cluster_api_endpoint is %r, neither an IP address nor a DNS name: give the address "
                          "or name clients reach the API at (no scheme, no port)" % (raw,))
        return
    for var in ("cluster_pod_cidr", "cluster_service_cidr"):
        net = nets.get(var)
        if net is not None and net.version == address.version and address in net:
            errors.append("cluster_api_endpoint %s is inside %s (%s): the API must be reachable from outside "
                          "the cluster's virtual ranges; give the load balancer's address" % (address, var, net.cidr))


def derive(cluster, control_planes, routers):
    """kos_cluster.api from a valid cluster input.

    control_planes: [{"name", "ip", "as_number"}] in inventory order; routers: kos_cluster.routers.
    """
    settings = _settings(cluster)
    chosen = mode(cluster)
    server_port = settings["api_port"]
    vip = str(netaddr.IPAddress(settings["api_vip"])) if chosen == "bgp_vip" else ""
    if chosen == "bgp_vip":
        endpoint, endpoint_port = vip, server_port
        external = settings["api_endpoint"] or vip
    elif chosen == "load_balancer":
        endpoint, endpoint_port = settings["api_endpoint"], server_port
        external = settings["api_endpoint"]
    else:
        endpoint, endpoint_port = "127.0.0.1", settings["api_local_proxy_port"]
        # Off the nodes there is no proxy: a DNS name over every control plane, else the first one.
        external = settings["api_endpoint"] or (control_planes[0]["ip"] if control_planes else "")
    servers = [{"name": cp["name"], "ip": cp["ip"], "port": server_port} for cp in control_planes]
    result = {
        "mode": chosen,
        "vip": vip,
        "endpoint": endpoint,
        "endpoint_port": endpoint_port,
        "port": server_port,
        "control_plane_endpoint": "%s:%d" % (_bracket(endpoint), endpoint_port),
        "url": "https://%s:%d" % (_bracket(endpoint), endpoint_port),
        "external_url": "https://%s:%d" % (_bracket(external), server_port) if external else "",
        "health_path": HEALTH_PATH,
        "servers": servers,
        "local_proxy_port": settings["api_local_proxy_port"] if chosen == "local_proxy" else None,
        "bgp": _bgp_plan(vip, settings["api_vip_bgp_port"], control_planes, routers) if vip else None,
    }
    return result


def _bracket(host):
    return "[%s]" % host if ":" in host else host


def _bgp_plan(vip, port, control_planes, routers):
    """Who announces the VIP to whom: every control plane to each router that peers with it."""
    prefix = "%s/%d" % (vip, 32 if netaddr.IPAddress(vip).version == 4 else 128)
    sessions = []
    for cp in control_planes:
        for router_name in sorted(routers):
            router = routers[router_name]
            if not any(peer["name"] == cp["name"] for peer in router["peers"]):
                continue
            sessions.append({"control_plane": cp["name"], "control_plane_ip": cp["ip"],
                             "control_plane_as_number": cp["as_number"], "router": router_name,
                             "router_ip": router["ip"], "router_as_number": router["as_number"],
                             "router_managed": router["managed"]})
    return {"prefix": prefix, "port": port, "sessions": sessions}


def sans(api):
    """Addresses and names every API server certificate carries for the endpoint: (ips, dns)."""
    ips, dns = [], []
    for value in (api["vip"], api["endpoint"], _host_of(api["external_url"])):
        if not value:
            continue
        (ips if _address(value) is not None else dns).append(value)
    return ips, dns


def _host_of(url):
    if not url:
        return ""
    host = url.split("://", 1)[1].rsplit(":", 1)[0]
    return host.strip("[]")
