# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The kos.platform cluster model: validation and derivation.

One inventory describes the cluster (``cluster_*`` variables, groups, a few host variables).
``validate(model_input)`` lists every problem with the variable to change and how;
``derive(model_input)`` turns a valid input into the ``kos_cluster`` fact that every role reads.

Both are pure functions over plain data (no Ansible objects), so they are unit-tested directly
and the filter plugins in plugins/filter/cluster.py are thin wrappers.

Input shape::

    {
      "cluster": {"name": ..., "pod_cidr": ..., ...},          # the cluster_* variables, prefix dropped
      "groups": {"etcd": [...], "kube_control_plane": [...], ...},
      "hosts": {"node1": {"node_ip": ..., "node_rack": ..., "os_family": ...}, ...},
    }
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.kos.platform.plugins.module_utils import (
    kos_api_endpoint,
    kos_model_input,
    kos_routing,
    kos_versions,
)

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - reported by the filter plugin
    HAS_NETADDR = False

K8S_GROUPS = ("kube_control_plane", "kube_node")
REQUIRED_GROUPS = ("etcd", "kube_control_plane")
AS_MODES = ("global", "per_rack", "per_node")
SUPPORTED_OS_FAMILIES = ("Debian", "RedHat")
# RFC 6996 private ranges; RFC 7300 reserves 65535 and 4294967295; 23456 is AS_TRANS (RFC 6793).
AS_RESERVED = (0, 23456, 65535, 4294967295)
AS_MAX = 4294967295
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
K8S_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")

DEFAULTS = {
    "domain": "cluster.local",
    "pod_block_prefix": 24,
    "external_ip_cidrs": [],
    "loadbalancer_ip_cidrs": [],
    "as_mode": "global",
    "rack_as_numbers": {},
    "node_to_node_mesh": False,  # the data-centre model: nodes peer with their racks' routers (kos_routing)
    "external_bgp_peers": [],
    "artifact_mirror": "",
    "api_endpoint": "",
    "api_port": 6443,
    "authorization_mode": "RBAC",
    "keystone_auth": False,
}
AUTHORIZATION_MODES = ("RBAC", "ABAC", "Webhook")
# Where the tenancy layer writes what the API server reads (same paths on every control plane).
AUTH_DIR = "/etc/kubernetes/keystone"


class ModelError(Exception):
    """Raised by derive() on input that validate() rejects."""


def _net(value):
    """Return an IPNetwork for a CIDR in its network form, or None when malformed."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


_ip = kos_routing.read_ip


def _is_as_number(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= AS_MAX and value not in AS_RESERVED


_as_problem = kos_routing.as_problem


BOOLEAN_KEYS = ("node_to_node_mesh", "keystone_auth")
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def _boolean(value):
    """True/False for a boolean or a boolean word ("false" from -e must not become True); None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    return None


def _cluster(model_input):
    cluster = dict(DEFAULTS)
    cluster.update({k: v for k, v in (model_input.get("cluster") or {}).items() if v is not None})
    for key in BOOLEAN_KEYS:
        parsed = _boolean(cluster.get(key))
        if parsed is not None:
            cluster[key] = parsed
    return cluster


def _check_booleans(model_input, errors):
    raw = model_input.get("cluster") or {}
    for key in BOOLEAN_KEYS:
        if key in raw and raw[key] is not None and _boolean(raw[key]) is None:
            errors.append("cluster_%s is %r, not a boolean: write true or false" % (key, raw[key]))


_groups = kos_routing.read_groups


# Kubernetes hosts: control plane first, then nodes, each once, in inventory order. These
# helpers live once, in kos_routing (kos_model imports it; importing back would be a cycle).
k8s_hosts = kos_routing.k8s_hosts


host_ip = kos_routing.host_ip


def _networks(cluster, errors):
    """Parse the cluster CIDRs, reporting malformed ones. Returns {variable: IPNetwork}."""
    nets = {}
    singles = ("node_cidr", "pod_cidr", "service_cidr")
    for key in singles:
        raw = cluster.get(key)
        var = "cluster_" + key
        if raw in (None, ""):
            # Only ever missing without a default: the pod and service ranges get one unless the
            # model has BGP routers (kos_model_input.normalize), the node network never does.
            errors.append("%s is not set: give the %s network in CIDR form, e.g. %s (%s)" % (
                var, key.split("_", 1)[0],
                {"node_cidr": "192.0.2.0/24", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16"}[key],
                "there is no default: it is the site's own network" if key == "node_cidr" else
                "there is no default while the model has BGP routers: the range is announced to them"))
            continue
        net = _net(raw)
        if net is None:
            errors.append("%s is %r, not a CIDR: write it as ADDRESS/PREFIX, e.g. 10.244.0.0/16" % (var, raw))
            continue
        if net.ip != net.network:
            errors.append("%s is %s, which has host bits set: use the network address %s" % (var, raw, net.cidr))
            continue
        nets[var] = net
    for key in ("external_ip_cidrs", "loadbalancer_ip_cidrs"):
        raw = cluster.get(key)
        var = "cluster_" + key
        if not isinstance(raw, list):
            errors.append("%s is %r, not a list: give a list of CIDRs such as [198.51.100.0/26], or [] for none"
                          % (var, raw))
            continue
        for index, item in enumerate(raw):
            net = _net(item)
            if net is None:
                errors.append("%s[%d] is %r, not a CIDR: write it as ADDRESS/PREFIX, e.g. 198.51.100.0/26"
                              % (var, index, item))
            elif net.ip != net.network:
                errors.append("%s[%d] is %s, which has host bits set: use the network address %s"
                              % (var, index, item, net.cidr))
            else:
                nets["%s[%d]" % (var, index)] = net
    return nets


def _check_overlaps(nets, errors):
    names = list(nets)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = nets[first], nets[second]
            if a.version != b.version:
                continue
            if a.first <= b.last and b.first <= a.last:
                errors.append("%s (%s) overlaps %s (%s): every cluster range must be disjoint; "
                              "move one of them" % (first, a.cidr, second, b.cidr))


def _check_families(nets, errors):
    pod, service = nets.get("cluster_pod_cidr"), nets.get("cluster_service_cidr")
    if pod is not None and service is not None and pod.version != service.version:
        errors.append("cluster_pod_cidr (%s) is IPv%d but cluster_service_cidr (%s) is IPv%d: "
                      "use one address family for both" % (pod.cidr, pod.version, service.cidr, service.version))


def _check_pod_blocks(cluster, nets, model_input, errors):
    pod = nets.get("cluster_pod_cidr")
    prefix = cluster.get("pod_block_prefix")
    if not isinstance(prefix, int) or isinstance(prefix, bool):
        errors.append("cluster_pod_block_prefix is %r, not a whole number: give a prefix length such as 24"
                      % (prefix,))
        return
    if pod is None:
        return
    max_len = 32 if pod.version == 4 else 128
    if prefix < pod.prefixlen or prefix > max_len - 2:
        errors.append("cluster_pod_block_prefix is %d, but a node's block must lie inside cluster_pod_cidr "
                      "(/%d) and hold pods: choose a value from %d to %d"
                      % (prefix, pod.prefixlen, pod.prefixlen, max_len - 2))
        return
    capacity = 2 ** (prefix - pod.prefixlen)
    hosts = k8s_hosts(model_input)
    if len(hosts) > capacity:
        errors.append("cluster_pod_cidr %s holds %d blocks of /%d but the cluster has %d Kubernetes hosts: "
                      "widen cluster_pod_cidr or lengthen cluster_pod_block_prefix"
                      % (pod.cidr, capacity, prefix, len(hosts)))
    host_vars = model_input.get("hosts") or {}
    pinned = {}
    for name in hosts:
        block = (host_vars.get(name) or {}).get("node_pod_block")
        if not block:
            continue
        net = _net(block)
        if net is None or net.prefixlen != prefix or net not in pod or net.ip != net.network:
            errors.append("node_pod_block of %s is %r: it must be a /%d network inside cluster_pod_cidr %s"
                          % (name, block, prefix, pod.cidr))
        elif str(net.cidr) in pinned:
            errors.append("node_pod_block %s is pinned on both %s and %s: give each host its own block"
                          % (net.cidr, pinned[str(net.cidr)], name))
        else:
            pinned[str(net.cidr)] = name


def _check_service_size(nets, errors):
    service = nets.get("cluster_service_cidr")
    if service is not None and service.size < 16:
        errors.append("cluster_service_cidr %s has %d addresses; the API service uses the first and DNS the "
                      "tenth: give at least a /%d" % (service.cidr, service.size, 28 if service.version == 4 else 124))


def _check_groups(model_input, errors):
    groups = _groups(model_input)
    for name in REQUIRED_GROUPS:
        if not groups[name]:
            errors.append("group %s is empty: put at least one host in it in the inventory" % name)
    etcd = len(groups["etcd"])
    if etcd and etcd % 2 == 0:
        errors.append("group etcd has %d members: etcd needs an odd count (1, 3, 5) for a quorum that "
                      "survives failures; add or remove one host" % etcd)
    k8s = set(k8s_hosts(model_input))
    for router in groups["bgp_routers"]:
        if router in k8s:
            errors.append("host %s is in bgp_routers and in the Kubernetes groups: the external routers "
                          "stand outside the cluster; remove it from one of them" % router)
    hosts = model_input.get("hosts") or {}
    for name in sorted(set(sum(groups.values(), []))):
        if name not in hosts:
            errors.append("host %s is in a group but has no host entry: define it in the inventory" % name)


def _check_names(model_input, cluster, errors):
    name = cluster.get("name")
    if name not in (None, "") and (not isinstance(name, str) or not DNS_LABEL.match(name)):
        errors.append("cluster_name is %r: use a DNS label (lower-case letters, digits and '-', at most 63, "
                      "e.g. kos-demo)" % (name,))
    domain = cluster.get("domain")
    if not isinstance(domain, str) or not DNS_SUBDOMAIN.match(domain):
        errors.append("cluster_domain is %r: use a DNS domain such as cluster.local" % (domain,))
    version = cluster.get("kubernetes_version")
    if not isinstance(version, str) or not K8S_VERSION.match(version):
        errors.append("cluster_kubernetes_version is %r: give a release such as 1.31.4" % (version,))
    hosts = model_input.get("hosts") or {}
    seen = {}
    for host in k8s_hosts(model_input):
        node_name = str((hosts.get(host) or {}).get("node_name") or host)
        if not DNS_SUBDOMAIN.match(node_name):
            errors.append("host %s would be Kubernetes node %r, not a DNS name: rename the host or set "
                          "node_name (lower-case letters, digits, '-' and '.')" % (host, node_name))
        key = node_name.lower()
        if key in seen:
            errors.append("hosts %s and %s both become Kubernetes node %r: node names must be unique; set "
                          "node_name on one of them" % (seen[key], host, key))
        seen[key] = host


def _check_addresses(model_input, nets, errors):
    hosts = model_input.get("hosts") or {}
    groups = _groups(model_input)
    node_net = nets.get("cluster_node_cidr")
    owners = {}
    members = []
    for name in k8s_hosts(model_input) + groups["etcd"] + groups["bgp_routers"]:
        if name not in members:
            members.append(name)
    for name in members:
        if name not in hosts:
            continue
        raw = host_ip(hosts, name)
        if raw in (None, "") and model_input.get("require_addresses") is False:
            continue  # provisioning: the cloud gives the address
        if raw in (None, ""):
            errors.append("host %s has no address: set node_ip (or ansible_host) to its address in "
                          "cluster_node_cidr" % name)
            continue
        addr = _ip(raw)
        if addr is None:
            errors.append("node_ip of %s is %r, not an IP address: give its address in cluster_node_cidr"
                          % (name, raw))
            continue
        if node_net is not None and addr not in node_net and name not in groups["bgp_routers"]:
            errors.append("node_ip of %s is %s, outside cluster_node_cidr %s: fix the address or widen "
                          "cluster_node_cidr" % (name, addr, node_net.cidr))
        for var, net in nets.items():
            if var != "cluster_node_cidr" and addr in net:
                errors.append("node_ip of %s is %s, inside %s (%s): host addresses must lie outside the pod, "
                              "service and external ranges" % (name, addr, var, net.cidr))
        if str(addr) in owners:
            errors.append("hosts %s and %s share the address %s: give each host its own node_ip"
                          % (owners[str(addr)], name, addr))
        else:
            owners[str(addr)] = name


def _routers(model_input, cluster):
    """Managed routers (group bgp_routers) and unmanaged ones (cluster_external_bgp_peers)."""
    return kos_routing.routers(model_input, cluster)


def _node_as_numbers(model_input, cluster):
    return kos_routing.node_as_numbers(model_input, cluster)


def _check_auth(cluster, errors):
    mode = cluster.get("authorization_mode")
    if mode not in AUTHORIZATION_MODES:
        errors.append("cluster_authorization_mode is %r: choose one of %s" % (mode, ", ".join(AUTHORIZATION_MODES)))
    if mode == "Webhook" and not cluster.get("keystone_auth"):
        errors.append("cluster_authorization_mode is Webhook but cluster_keystone_auth is off: the webhook "
                      "authorizer is k8s-keystone-auth; turn cluster_keystone_auth on or choose RBAC or ABAC")


def _check_os(model_input, errors):
    hosts = model_input.get("hosts") or {}
    for name in sorted(hosts):
        family = (hosts.get(name) or {}).get("os_family")
        if family and family not in SUPPORTED_OS_FAMILIES:
            errors.append("host %s runs the %s OS family, which kos.platform does not support: use %s"
                          % (name, family, " or ".join(SUPPORTED_OS_FAMILIES)))


def validate(model_input):
    """Return the list of problems in the model input, each naming the variable and the fix."""
    if not HAS_NETADDR:
        return ["the Python library netaddr is missing on the controller: pip install netaddr"]
    if not isinstance(model_input, dict):
        return ["the cluster model input is %r, not a mapping" % (type(model_input).__name__,)]
    model_input = kos_model_input.normalize(model_input)  # -e strings read as the types YAML gives
    errors = kos_model_input.fatal(model_input)
    if errors:
        return errors
    cluster = _cluster(model_input)
    _check_booleans(model_input, errors)
    _check_names(model_input, cluster, errors)
    _check_groups(model_input, errors)
    nets = _networks(cluster, errors)
    _check_families(nets, errors)
    _check_overlaps(nets, errors)
    _check_service_size(nets, errors)
    _check_pod_blocks(cluster, nets, model_input, errors)
    _check_addresses(model_input, nets, errors)
    errors.extend(kos_routing.errors(model_input, cluster))
    _check_auth(cluster, errors)
    _check_os(model_input, errors)
    if K8S_VERSION.match(str(cluster.get("kubernetes_version"))):  # malformed: _check_names says so
        errors.extend(kos_versions.errors(cluster["kubernetes_version"]))
    kos_api_endpoint.check(cluster, nets, {n: host_ip(model_input.get("hosts") or {}, n) for n in
                                           (model_input.get("hosts") or {})},
                           bool(_routers(model_input, cluster)), errors)
    errors.extend(kos_model_input.image_builder_address_errors(model_input, nets, host_ip, _ip))
    kos_model_input.merge_errors(errors, kos_model_input.errors(model_input))
    return errors


def overlapping(cidrs, others):
    """The entries of cidrs that overlap any of others (CIDRs or addresses; other words are ignored)."""
    parsed = []
    for other in others:
        try:
            parsed.append(netaddr.IPNetwork(other))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            continue
    result = []
    for cidr in cidrs:
        net = netaddr.IPNetwork(cidr)
        if any(o.version == net.version and o.first <= net.last and net.first <= o.last for o in parsed):
            result.append(cidr)
    return result


def allocate_pod_blocks(pod_cidr, prefix, names, pinned=None):
    """Give each name a /prefix block of pod_cidr, stable under adding and removing hosts.

    A host's first choice is a hash of its name; pinned blocks (node_pod_block) are honoured first,
    collisions probe forward. Hosts are placed in name order, so the result does not depend on
    inventory order; an existing host moves only if a pin takes its block or its name collides.
    """
    pod = netaddr.IPNetwork(pod_cidr)
    count = 2 ** (prefix - pod.prefixlen)
    if len(names) > count:
        raise ModelError("%d hosts do not fit in %d blocks" % (len(names), count))
    block_size = 2 ** ((32 if pod.version == 4 else 128) - prefix)
    pinned = dict(pinned or {})
    taken = {}
    for name, block in pinned.items():
        index = (netaddr.IPNetwork(block).first - pod.first) // block_size
        taken[index] = name
    result = {name: str(netaddr.IPNetwork(block).cidr) for name, block in pinned.items()}
    for name in sorted(n for n in names if n not in pinned):
        index = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % count
        while index in taken:
            index = (index + 1) % count
        taken[index] = name
        network = netaddr.IPNetwork((pod.first + index * block_size, prefix), version=pod.version)
        result[name] = str(network.cidr)
    return result


def _sans(name, host, cluster, is_control_plane, service_ips):
    dns = [name]
    short = name.split(".")[0]
    if short != name:
        dns.append(short)
    ips = [host["ip"], "127.0.0.1"]
    if is_control_plane:
        dns += ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.%s" % cluster["domain"]]
        ips.append(service_ips["kubernetes"])
        endpoint = cluster.get("api_endpoint")
        if endpoint:
            (ips if _ip(endpoint) is not None else dns).append(endpoint)
    dns.append("localhost")

    def unique(items):
        return [x for i, x in enumerate(items) if x and x not in items[:i]]

    return {"dns": unique(dns), "ip": unique(ips)}


def derive(model_input):
    """Derive kos_cluster from a valid model input (raises ModelError on invalid input)."""
    errors = validate(model_input)
    if errors:
        raise ModelError("; ".join(errors))
    model_input = kos_model_input.normalize(model_input)
    cluster = _cluster(model_input)
    groups = _groups(model_input)
    hosts = model_input.get("hosts") or {}
    service = netaddr.IPNetwork(cluster["service_cidr"])
    service_ips = {"kubernetes": str(service[1]), "dns": str(service[10])}
    k8s = k8s_hosts(model_input)
    pinned = {n: (hosts.get(n) or {}).get("node_pod_block") for n in k8s if (hosts.get(n) or {}).get("node_pod_block")}
    blocks = allocate_pod_blocks(cluster["pod_cidr"], cluster["pod_block_prefix"], k8s, pinned)
    as_numbers = _node_as_numbers(model_input, cluster)

    nodes = {}
    for name in k8s:
        host = hosts.get(name) or {}
        nodes[name] = {
            "node_name": str(host.get("node_name") or name).lower(),
            "ip": str(netaddr.IPAddress(host_ip(hosts, name))),
            "rack": host.get("node_rack") or "",
            "as_number": as_numbers[name],
            "pod_block": blocks[name],
            "groups": [g for g in K8S_GROUPS + ("etcd",) if name in groups[g]],
        }

    routing = kos_routing.plan(model_input, cluster, nodes)
    routers = routing["routers"]

    etcd_members = []
    for name in groups["etcd"]:
        ip = str(netaddr.IPAddress(host_ip(hosts, name)))
        etcd_members.append({"name": name, "ip": ip, "peer_url": "https://%s:2380" % ip,
                             "client_url": "https://%s:2379" % ip})

    sans = {}
    for name in sorted(set(k8s + groups["etcd"])):
        ip = str(netaddr.IPAddress(host_ip(hosts, name)))
        sans[name] = _sans(name, {"ip": ip}, cluster, name in groups["kube_control_plane"], service_ips)

    api = kos_api_endpoint.derive(cluster, [{"name": n, "ip": nodes[n]["ip"], "as_number": nodes[n]["as_number"]}
                                            for n in groups["kube_control_plane"]], routers)
    for name in groups["kube_control_plane"]:
        api_ips, api_dns = kos_api_endpoint.sans(api)
        sans[name]["ip"] += [a for a in api_ips if a not in sans[name]["ip"]]
        sans[name]["dns"][-1:-1] = [d for d in api_dns if d not in sans[name]["dns"]]
    return {
        "name": cluster["name"],
        "domain": cluster["domain"],
        "kubernetes_version": cluster["kubernetes_version"].lstrip("v"),
        "versions": kos_versions.for_kubernetes(cluster["kubernetes_version"]),
        "artifact_mirror": (cluster.get("artifact_mirror") or "").rstrip("/"),
        "api": api,
        "networks": {
            "node": cluster["node_cidr"],
            "pod": cluster["pod_cidr"],
            "pod_block_prefix": cluster["pod_block_prefix"],
            "service": cluster["service_cidr"],
            "external": list(cluster["external_ip_cidrs"]),
            "loadbalancer": list(cluster["loadbalancer_ip_cidrs"]),
        },
        "service_ips": service_ips,
        "nodes": nodes,
        "routers": routers,
        "bgp": routing["bgp"],
        "etcd": {
            "members": etcd_members,
            "initial_cluster": ",".join("%s=%s" % (m["name"], m["peer_url"]) for m in etcd_members),
            "client_urls": ",".join(m["client_url"] for m in etcd_members),
        },
        "sans": sans,
        "groups": {name: list(members) for name, members in groups.items()},
        "auth": _auth(cluster),
    }


def _auth(cluster):
    """API server authentication/authorization: Node always first, then the model's mode."""
    mode = cluster["authorization_mode"]
    keystone = bool(cluster["keystone_auth"])
    # RBAC stays on in every mode: it holds cluster-admin and the system: bindings that the
    # controller manager, scheduler and service accounts need; ABAC and the webhook add tenants.
    modes = {"RBAC": ["Node", "RBAC"], "ABAC": ["Node", "RBAC", "ABAC"], "Webhook": ["Node", "Webhook", "RBAC"]}[mode]
    return {
        "keystone": keystone,
        "authorization_mode": mode,
        "authorization_modes": modes,
        "dir": AUTH_DIR,
        "webhook_authn_config": AUTH_DIR + "/webhook-authn.kubeconfig" if keystone else "",
        "webhook_authz_config": AUTH_DIR + "/webhook-authz.kubeconfig" if mode == "Webhook" else "",
        "abac_policy_file": AUTH_DIR + "/abac-policy.jsonl" if mode == "ABAC" else "",
        "keystone_auth_port": 8443,
    }
