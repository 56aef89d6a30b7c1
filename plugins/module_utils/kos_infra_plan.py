# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""The provisioning plan: the desired state of a cluster's OpenStack resources.

``plan(params)`` is a pure function: from the cluster model (groups, node IPs, CIDRs) and the
provisioning options it returns the desired state (network, security groups and their rules,
server groups, and per host: port, server, etcd volume, floating IP). It sends no request and
is unit-tested; the resource kinds (``kos_infra_<kind>.py``) make the cloud match it.
"""

from __future__ import annotations

import ipaddress

# The model's groups, in the order that decides a host's primary role (flavor, image,
# server group): a control-plane host that is also an etcd member is a control-plane host.
ROLE_ORDER = ("kube_control_plane", "etcd", "kube_node", "bgp_routers", "image_builders")
SERVER_GROUP_POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
TAG_PREFIX = "kos-cluster="
ANY = None  # a rule field that is not restricted

# Security groups: which groups of hosts get which group, and the rules of each.
# A rule source is ("cidr", <name of a CIDR list in the plan>) or ("group", <security group key>).
SG_MEMBERSHIP = {
    "etcd": ("common", "etcd"),
    "kube_control_plane": ("common", "control_plane", "k8s"),
    "kube_node": ("common", "k8s"),
    "bgp_routers": ("common", "router"),
    "image_builders": ("common",),
}
SG_RULES = {
    "common": [
        ("SSH from the operator network and from inside the cluster", "tcp", 22, 22, ("cidr", "ssh_sources")),
        ("ICMP inside the node network", "icmp", ANY, ANY, ("cidr", "node_cidrs")),
    ],
    "etcd": [
        ("etcd peers: members only", "tcp", 2380, 2380, ("group", "etcd")),
        ("etcd clients: members", "tcp", 2379, 2379, ("group", "etcd")),
        ("etcd clients: API servers", "tcp", 2379, 2379, ("group", "control_plane")),
    ],
    "control_plane": [
        ("Kubernetes API from the operator network", "tcp", "api_port", "api_port", ("cidr", "api_sources")),
        ("Kubernetes API from the cluster", "tcp", "api_port", "api_port", ("group", "k8s")),
    ],
    "k8s": [
        ("kubelet from the control plane", "tcp", 10250, 10250, ("group", "control_plane")),
        ("BGP between nodes (Calico mesh)", "tcp", 179, 179, ("group", "k8s")),
        ("BGP from the routers", "tcp", 179, 179, ("group", "router")),
        ("pod traffic between nodes (routed, no overlay)", ANY, ANY, ANY, ("group", "k8s")),
        ("pod and service traffic routed by the BGP routers", ANY, ANY, ANY, ("group", "router")),
    ],
    "router": [
        ("BGP from the nodes", "tcp", 179, 179, ("group", "k8s")),
        ("traffic to pods and advertised ranges, forwarded by the routers", ANY, ANY, ANY, ("group", "k8s")),
    ],
}
SG_NAMES = {"common": "common", "etcd": "etcd", "control_plane": "control-plane", "k8s": "k8s", "router": "bgp-router"}


class PlanError(ValueError):
    """The input cannot describe a cluster (raised before any request).

    ``problems`` lists every problem of the input, each naming its variable; the message joins them.
    """

    def __init__(self, message, problems=None):
        super().__init__(message)
        self.problems = list(problems) if problems else [message]


class _Problems:
    """Collects the problems of one plan, so that a run reports every one of them at once."""

    def __init__(self):
        self.found = []

    def check(self, func, *args, default=None, **kwargs):
        """func(*args, **kwargs), or ``default`` with its PlanError noted."""
        try:
            return func(*args, **kwargs)
        except PlanError as exc:
            for message in exc.problems:
                self.add(message)
            return default

    def add(self, message):
        if message not in self.found:  # one problem of a group is met once per host of it
            self.found.append(message)

    def raise_any(self):
        if self.found:
            raise PlanError("; ".join(self.found), self.found)


def cluster_tag(name):
    return TAG_PREFIX + name


def _var(params, option, key=None):
    """The name of the variable an operator sets, for messages: openstack_infra_images['etcd']."""
    name = (params.get("var_prefix") or "") + option
    return "%s[%r]" % (name, key) if key is not None else name


def _per_group(params, option, role):
    """A per-group setting (flavors, images): the host's primary group, else `default`."""
    table = params.get(option) or {}
    if role in table:
        return table[role], _var(params, option, role)
    if "default" in table:
        return table["default"], _var(params, option, "default")
    raise PlanError("%s has no entry for group %s and no 'default'" % (_var(params, option), role))


def _whole(value, what, minimum=0):
    """A whole number from an int or the string that spells it (as -e key=value gives it)."""
    if isinstance(value, bool):
        raise PlanError("%s: %r is not a whole number (write it as e.g. 10)" % (what, value))
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise PlanError("%s: %r is not a whole number (write it as e.g. 10)" % (what, value)) from None
    if number < minimum:
        raise PlanError("%s: %d is below the minimum of %d" % (what, number, minimum))
    return number


def _address(value, what):
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise PlanError("%s: %r is not an IP address (e.g. 192.0.2.1)" % (what, value)) from None


def _host_list(value, what):
    """A group's members: a list of host names (a plain string would be read letter by letter)."""
    if isinstance(value, str):
        raise PlanError("%s: expected a list of host names, got the string %r (write [%s])" % (what, value, value))
    if not isinstance(value, (list, tuple)):
        raise PlanError("%s: expected a list of host names, got %s" % (what, type(value).__name__))
    return list(value)


def _cidrs(values, what):
    out = []
    for value in values or []:
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as exc:
            raise PlanError("%s: %r is not a CIDR (%s)" % (what, value, exc)) from exc
    return out


def plan(params):
    """The desired state of the cluster's resources (pure).

    Raises PlanError on bad input, with every problem of the input at once (``.problems``)."""
    problems = _Problems()
    name = params["cluster_name"]
    groups = params.get("inventory_groups") or {}
    node_ips = params.get("node_ips") or {}
    net = params.get("network") or {}
    hosts = {}
    if not isinstance(groups, dict):
        raise PlanError("inventory_groups: expected a dict of group name to list of hosts")
    for group in ROLE_ORDER:
        for host in problems.check(_host_list, groups.get(group) or [], "inventory_groups[%r]" % group, default=[]):
            hosts.setdefault(host, []).append(group)
    if not hosts and not problems.found:
        problems.add("no hosts in any of the groups %s: nothing to provision" % ", ".join(ROLE_ORDER))

    existing_network = net.get("existing") or ""
    node_cidr = net.get("cidr") or ""
    if not existing_network and not node_cidr:
        problems.add("%s.cidr is required when no existing network is given" % _var(params, "network"))
    node_cidrs = problems.check(_cidrs, [node_cidr] if node_cidr else [], _var(params, "network") + ".cidr", default=[])
    pairs = problems.check(_cidrs, params.get("allowed_address_pairs"), _var(params, "allowed_address_pairs"),
                           default=[])
    operator = problems.check(_cidrs, params.get("operator_cidrs"), _var(params, "operator_cidrs"), default=[])
    cidr_lists = {
        "node_cidrs": node_cidrs,
        "ssh_sources": sorted(set(operator + node_cidrs)),
        "api_sources": sorted(set(operator + node_cidrs)),
    }
    api_port = problems.check(_whole, params.get("api_port") or 6443, _var(params, "api_port"), minimum=1,
                              default=6443)
    if api_port > 65535:
        problems.add("%s: %d is not a TCP port (1-65535)" % (_var(params, "api_port"), api_port))

    # Security groups: only those some host needs.
    sg_keys = sorted({k for roles in hosts.values() for r in roles for k in SG_MEMBERSHIP[r]})
    security_groups = {}
    for key in sg_keys:
        rules = []
        for description, proto, pmin, pmax, (kind, source) in SG_RULES[key]:
            pmin = api_port if pmin == "api_port" else pmin
            pmax = api_port if pmax == "api_port" else pmax
            rule = dict(description=description, protocol=proto, port_min=pmin, port_max=pmax)
            if kind == "group":
                if source in sg_keys:
                    rules.append(dict(rule, remote_ip_prefix=None, remote_group=source))
            else:
                rules.extend(dict(rule, remote_ip_prefix=cidr, remote_group=None) for cidr in cidr_lists[source])
        security_groups[key] = dict(name="%s-%s" % (name, SG_NAMES[key]), rules=rules)

    policies = params.get("server_group_policies") or {}
    fip_groups = set(params.get("floating_ip_groups") or [])
    zones = params.get("availability_zones") or []
    etcd_volume = params.get("etcd_volume") or {}
    volume_size = problems.check(_whole, etcd_volume.get("size") or 0, _var(params, "etcd_volume") + ".size",
                                 default=0)
    boot_volume = params.get("boot_volume") or {}
    boot_size = problems.check(_whole, boot_volume.get("size") or 0, _var(params, "boot_volume") + ".size",
                               default=0)
    server_groups = {}
    servers = []
    position = {}
    gateway = net.get("gateway_ip") or None
    if gateway is not None:
        gateway = problems.check(_address, gateway, _var(params, "network") + ".gateway_ip")
        gateway = str(gateway) if gateway is not None else None
    dns = net.get("dns_nameservers") or []
    if isinstance(dns, str):
        dns = [d.strip() for d in dns.split(",") if d.strip()]
    dns = [str(a) for a in (problems.check(_address, d, _var(params, "network") + ".dns_nameservers") for d in dns)
           if a is not None]
    if node_cidrs:
        network_obj = ipaddress.ip_network(node_cidrs[0])
        if gateway is None and not existing_network and not net.get("gateway_ip"):
            gateway = str(next(network_obj.hosts()))  # Neutron's default gateway
        if gateway is not None and ipaddress.ip_address(gateway) not in network_obj:
            problems.add("%s.gateway_ip %s is outside %s" % (_var(params, "network"), gateway, node_cidrs[0]))
    for host in sorted(hosts, key=lambda h: (ROLE_ORDER.index(hosts[h][0]), h)):
        roles = hosts[host]
        role = roles[0]
        flavor, flavor_var = problems.check(_per_group, params, "flavors", role, default=(None, None))
        image, image_var = problems.check(_per_group, params, "images", role, default=(None, None))
        policy = policies.get(role, policies.get("default", "soft-anti-affinity"))
        if policy not in SERVER_GROUP_POLICIES:
            problems.add(
                "%s: %r is not one of %s"
                % (_var(params, "server_group_policies", role), policy, ", ".join(SERVER_GROUP_POLICIES))
            )
        sg_name = "%s-%s" % (name, role)
        server_groups.setdefault(sg_name, dict(name=sg_name, policy=policy, role=role))
        index = position.get(role, 0)
        position[role] = index + 1
        ip = node_ips.get(host) or None
        if ip:
            try:
                addr = ipaddress.ip_address(str(ip))
            except ValueError:
                problems.add("node_ip of %s: %r is not an address" % (host, ip))
                addr = None
            if addr is not None and node_cidrs and addr not in network_obj:
                problems.add(
                    "node_ip of %s (%s) is outside %s.cidr %s" % (host, ip, _var(params, "network"), node_cidrs[0])
                )
            elif addr is not None and gateway is not None and addr == ipaddress.ip_address(gateway):
                problems.add(
                    "node_ip of %s (%s) is the subnet's gateway address: set %s.gateway_ip to a "
                    "free address of %s" % (host, ip, _var(params, "network"), node_cidrs[0])
                )
        sgs = sorted({security_groups[k]["name"] for r in roles for k in SG_MEMBERSHIP[r]})
        volume = None
        if "etcd" in roles and volume_size > 0:
            volume = dict(
                name="%s-%s-etcd" % (name, host),
                size=volume_size,
                volume_type=etcd_volume.get("type") or None,
                image=etcd_volume.get("image") or None,
                image_var=_var(params, "etcd_volume") + ".image",
            )
        servers.append(
            dict(
                name=host,
                role=role,
                groups=roles,
                flavor=flavor,
                flavor_var=flavor_var,
                image=image,
                image_var=image_var,
                availability_zone=zones[index % len(zones)] if zones else None,
                server_group=sg_name,
                security_groups=sgs,
                port=dict(name="%s-%s" % (name, host), fixed_ip=ip, allowed_address_pairs=pairs),
                metadata={"kos_cluster": name, "kos_groups": ",".join(roles), "kos_role": role},
                volume=volume,
                floating_ip=bool(fip_groups.intersection(roles)),
                boot_volume=dict(size=boot_size, volume_type=boot_volume.get("type") or None) if boot_size else None,
            )
        )
    keypair = params.get("keypair") or {}
    if not keypair.get("name"):
        problems.add("%s.name is required" % _var(params, "keypair"))
    problems.raise_any()
    return dict(
        cluster=name,
        tag=cluster_tag(name),
        network=dict(
            existing=existing_network,
            existing_subnet=net.get("existing_subnet") or "",
            name=net.get("name") or "%s-net" % name,
            subnet_name="%s-subnet" % name,
            cidr=node_cidrs[0] if node_cidrs else None,
            gateway_ip=gateway,
            dns_nameservers=dns,
            external=net.get("external_network") or "",
            router=bool(net.get("router", True)) and not existing_network,
            router_name="%s-router" % name,
        ),
        security_groups=security_groups,
        server_groups=server_groups,
        servers=servers,
        keypair=dict(name=keypair["name"], public_key=keypair.get("public_key") or ""),
    )
