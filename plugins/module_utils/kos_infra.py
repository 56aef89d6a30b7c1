# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Provisioning a cluster's OpenStack resources: plan, preflight, reconcile, teardown.

``plan(params)`` is a pure function: from the cluster model (groups, node IPs, CIDRs) and the
provisioning options it returns the desired state (network, security groups and their rules,
server groups, and per host: port, server, etcd volume, floating IP). It is unit-tested.

``Provisioner(conn, plan, check_mode)`` talks to OpenStack through openstacksdk:
``preflight()`` reads images, flavors, networks, availability zones, keypair and quotas and
returns every problem before anything is created; ``apply()`` makes the cloud match the plan
(servers, ports and volumes in parallel: create calls are issued together, then one poll loop
waits for all); ``teardown()`` removes what carries the cluster's tag. Idempotent: every
resource is found by name and cluster tag first and compared field by field.

Ownership marks: Neutron resources carry the tag ``kos-cluster=<name>``; servers carry the
same tag and metadata ``kos_cluster``; volumes carry metadata ``kos_cluster``; server groups
(which hold neither) are named ``<cluster>-<group>``.
"""

from __future__ import annotations

import ipaddress
import time
from concurrent.futures import ThreadPoolExecutor

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
    """The input cannot describe a cluster (raised before any request)."""


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


def _cidrs(values, what):
    out = []
    for value in values or []:
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError as exc:
            raise PlanError("%s: %r is not a CIDR (%s)" % (what, value, exc)) from exc
    return out


def plan(params):
    """The desired state of the cluster's resources (pure; raises PlanError on bad input)."""
    name = params["cluster_name"]
    groups = params.get("inventory_groups") or {}
    node_ips = params.get("node_ips") or {}
    net = params.get("network") or {}
    hosts = {}
    for group in ROLE_ORDER:
        for host in groups.get(group) or []:
            hosts.setdefault(host, []).append(group)
    if not hosts:
        raise PlanError("no hosts in any of the groups %s: nothing to provision" % ", ".join(ROLE_ORDER))

    existing_network = net.get("existing") or ""
    node_cidr = net.get("cidr") or ""
    if not existing_network and not node_cidr:
        raise PlanError("%s.cidr is required when no existing network is given" % _var(params, "network"))
    node_cidrs = _cidrs([node_cidr] if node_cidr else [], _var(params, "network") + ".cidr")
    pairs = _cidrs(params.get("allowed_address_pairs"), _var(params, "allowed_address_pairs"))
    operator = _cidrs(params.get("operator_cidrs"), _var(params, "operator_cidrs"))
    cidr_lists = {
        "node_cidrs": node_cidrs,
        "ssh_sources": sorted(set(operator + node_cidrs)),
        "api_sources": sorted(set(operator + node_cidrs)),
    }
    api_port = int(params.get("api_port") or 6443)

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
    volume_size = int(etcd_volume.get("size") or 0)
    server_groups = {}
    servers = []
    position = {}
    gateway = net.get("gateway_ip") or None
    if node_cidrs:
        network_obj = ipaddress.ip_network(node_cidrs[0])
        if gateway is None and not existing_network:
            gateway = str(next(network_obj.hosts()))  # Neutron's default gateway
        if gateway is not None and ipaddress.ip_address(gateway) not in network_obj:
            raise PlanError("%s.gateway_ip %s is outside %s" % (_var(params, "network"), gateway, node_cidrs[0]))
    for host in sorted(hosts, key=lambda h: (ROLE_ORDER.index(hosts[h][0]), h)):
        roles = hosts[host]
        role = roles[0]
        flavor, flavor_var = _per_group(params, "flavors", role)
        image, image_var = _per_group(params, "images", role)
        policy = policies.get(role, policies.get("default", "soft-anti-affinity"))
        if policy not in SERVER_GROUP_POLICIES:
            raise PlanError(
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
                addr = ipaddress.ip_address(ip)
            except ValueError as exc:
                raise PlanError("node_ip of %s: %r is not an address" % (host, ip)) from exc
            if node_cidrs and addr not in network_obj:
                raise PlanError(
                    "node_ip of %s (%s) is outside %s.cidr %s" % (host, ip, _var(params, "network"), node_cidrs[0])
                )
            if gateway is not None and addr == ipaddress.ip_address(gateway):
                raise PlanError(
                    "node_ip of %s (%s) is the subnet's gateway address: set %s.gateway_ip to a "
                    "free address of %s" % (host, ip, _var(params, "network"), node_cidrs[0])
                )
        sgs = sorted({security_groups[k]["name"] for r in roles for k in SG_MEMBERSHIP[r]})
        volume = None
        if "etcd" in roles and volume_size > 0:
            volume = dict(
                name="%s-%s-etcd" % (name, host), size=volume_size, volume_type=etcd_volume.get("type") or None
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
            )
        )
    keypair = params.get("keypair") or {}
    if not keypair.get("name"):
        raise PlanError("%s.name is required" % _var(params, "keypair"))
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
            dns_nameservers=list(net.get("dns_nameservers") or []),
            external=net.get("external_network") or "",
            router=bool(net.get("router", True)) and not existing_network,
            router_name="%s-router" % name,
        ),
        security_groups=security_groups,
        server_groups=server_groups,
        servers=servers,
        keypair=dict(name=keypair["name"], public_key=keypair.get("public_key") or ""),
    )


def rule_key(rule):
    """What makes two security group rules the same (Neutron's fields, normalised)."""
    ether = rule.get("ether_type") or rule.get("ethertype") or "IPv4"  # openstacksdk names it ether_type
    return (
        rule.get("direction", "ingress"),
        ether,
        rule.get("protocol"),
        rule.get("port_range_min"),
        rule.get("port_range_max"),
        rule.get("remote_ip_prefix") or None,
        rule.get("remote_group_id") or None,
    )


def desired_rule_keys(sg_plan, group_ids):
    """The rule keys a planned security group must have (egress stays open, as Neutron creates it)."""
    keys = {("egress", "IPv4", None, None, None, None, None), ("egress", "IPv6", None, None, None, None, None)}
    for rule in sg_plan["rules"]:
        keys.add(
            (
                "ingress",
                "IPv4",
                rule["protocol"],
                rule["port_min"],
                rule["port_max"],
                rule["remote_ip_prefix"],
                group_ids.get(rule["remote_group"]) if rule["remote_group"] else None,
            )
        )
    return keys


def pairs_differ(wanted_cidrs, actual_pairs, mac):
    """Compare allowed address pairs by (ip, mac): Neutron fills in the port's MAC when none is given."""
    want = {(c, mac) for c in wanted_cidrs}
    have = {(p.get("ip_address"), p.get("mac_address") or mac) for p in actual_pairs or []}
    return want != have


def quota_shortfalls(limits, needs):
    """[(resource, needed, free, limit)] for each need the limits cannot meet (-1 = unlimited)."""
    short = []
    for resource, needed in needs.items():
        if needed <= 0 or resource not in limits:
            continue
        limit, used = limits[resource]
        if limit is None or limit < 0:
            continue
        free = limit - used
        if needed > free:
            short.append((resource, needed, free, limit))
    return short


class ProvisionError(Exception):
    """A problem found while talking to the cloud, already phrased for the operator."""


class Provisioner:
    """Makes the cloud match a plan (or lists what it would change, in check mode)."""

    def __init__(self, conn, desired, check_mode=False, timeout=600, parallelism=10, poll=2.0, log=None):
        self.conn = conn
        self.plan = desired
        self.check_mode = check_mode
        self.timeout = timeout
        self.parallelism = max(1, parallelism)
        self.poll = poll
        self.changes = []
        self.tag = desired["tag"] if desired else None
        self.log = log or (lambda msg: None)
        self._lookups = {}

    # -- helpers ---------------------------------------------------------------------------
    def _change(self, text):
        self.changes.append(("would " if self.check_mode else "") + text)

    def _parallel(self, func, items):
        items = list(items)
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(items))) as pool:
            return list(pool.map(func, items))

    def _tagged(self, listing, **query):
        return [r for r in listing(tags=self.tag, **query)]

    def _create_tagged(self, create, delete, **attrs):
        """Create a Neutron resource, then tag it (this Neutron refuses tags in POST).

        The tag is what makes it ours: if tagging fails, the resource is deleted again, so a
        failed run leaves no untagged orphan that teardown could not find.
        """
        attrs.pop("tags", None)
        res = create(**attrs)
        try:
            self.conn.network.set_tags(res, [self.tag])
        except Exception:
            delete(res)
            raise
        res.tags = [self.tag]
        return res

    # -- preflight -------------------------------------------------------------------------
    def preflight(self, var):
        """Every problem that can be known before creating anything, as operator messages.

        ``var(option, key=None)`` names the variable an operator sets.
        """
        conn, p = self.conn, self.plan
        problems = []
        images, flavors = {}, {}
        for server in p["servers"]:
            if server["image"] not in images:
                images[server["image"]] = conn.image.find_image(server["image"], ignore_missing=True)
                if images[server["image"]] is None:
                    problems.append("image %r not found in the cloud (%s)" % (server["image"], server["image_var"]))
            if server["flavor"] not in flavors:
                flavors[server["flavor"]] = conn.compute.find_flavor(server["flavor"], ignore_missing=True)
                if flavors[server["flavor"]] is None:
                    problems.append("flavor %r not found in the cloud (%s)" % (server["flavor"], server["flavor_var"]))
        net = p["network"]
        if net["existing"]:
            found = conn.network.find_network(net["existing"], ignore_missing=True)
            if found is None:
                problems.append("network %r not found in the cloud (%s.existing)" % (net["existing"], var("network")))
            elif (
                net["existing_subnet"]
                and conn.network.find_subnet(net["existing_subnet"], network_id=found.id, ignore_missing=True) is None
            ):
                problems.append(
                    "subnet %r not found on network %r (%s.existing_subnet)"
                    % (net["existing_subnet"], net["existing"], var("network"))
                )
            self._lookups["network"] = found
        needs_external = net["router"] or any(s["floating_ip"] for s in p["servers"])
        if needs_external:
            if not net["external"]:
                problems.append("%s.external_network is required for the router and floating IPs" % var("network"))
            else:
                ext = conn.network.find_network(net["external"], ignore_missing=True)
                if ext is None:
                    problems.append(
                        "external network %r not found in the cloud (%s.external_network)"
                        % (net["external"], var("network"))
                    )
                elif not ext.is_router_external:
                    problems.append(
                        "network %r is not external (router:external) (%s.external_network)"
                        % (net["external"], var("network"))
                    )
                self._lookups["external"] = ext
        zones = {s["availability_zone"] for s in p["servers"] if s["availability_zone"]}
        if zones:
            known = {z.name for z in conn.compute.availability_zones() if z.state.get("available", True)}
            for zone in sorted(zones - known):
                problems.append("availability zone %r not found in the cloud (%s)" % (zone, var("availability_zones")))
        if (
            not p["keypair"]["public_key"]
            and conn.compute.find_keypair(p["keypair"]["name"], ignore_missing=True) is None
        ):
            problems.append(
                "keypair %r not found and no public key given to create it (%s.public_key)"
                % (p["keypair"]["name"], var("keypair"))
            )
        self._lookups["images"], self._lookups["flavors"] = images, flavors
        if not problems:
            problems.extend(self._quota_problems(flavors, var))
        return problems

    def _existing_servers(self):
        if "servers" not in self._lookups:
            self._lookups["servers"] = {
                s.name: s
                for s in self.conn.compute.servers(details=True)
                if (s.metadata or {}).get("kos_cluster") == self.plan["cluster"]
            }
        return self._lookups["servers"]

    def _quota_problems(self, flavors, var):
        conn, p = self.conn, self.plan
        existing = self._existing_servers()
        new = [s for s in p["servers"] if s["name"] not in existing]
        needs = {
            "instances": len(new),
            "cores": sum(flavors[s["flavor"]].vcpus for s in new),
            "ram": sum(flavors[s["flavor"]].ram for s in new),
        }
        lim = conn.compute.get_limits().absolute
        limits = {
            "instances": (lim.instances, lim.instances_used),
            "cores": (lim.total_cores, lim.total_cores_used),
            "ram": (lim.total_ram, lim.total_ram_used),
        }
        problems = []
        vars_ = {
            "instances": "the number of hosts in the inventory groups",
            "cores": var("flavors"),
            "ram": var("flavors"),
            "volumes": var("etcd_volume"),
            "gigabytes": var("etcd_volume") + ".size",
            "ports": "the number of hosts",
            "floatingips": var("floating_ip_groups"),
            "security_groups": "the groups of hosts",
            "server_groups": "the groups of hosts",
        }
        for res, needed, free, limit in quota_shortfalls(limits, needs):
            problems.append(
                "quota too small: %s needs %d more %s, the project has %d free of %d (%s)"
                % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
            )
        vols = [s["volume"] for s in p["servers"] if s["volume"]]
        if vols:
            have = {
                v.name
                for v in conn.block_storage.volumes(details=True)
                if (v.metadata or {}).get("kos_cluster") == p["cluster"]
            }
            new_vols = [v for v in vols if v["name"] not in have]
            if new_vols:
                vl = conn.block_storage.get_limits().absolute
                vlimits = {
                    "volumes": (vl.max_total_volumes, vl.total_volumes_used),
                    "gigabytes": (vl.max_total_volume_gigabytes, vl.total_gigabytes_used),
                }
                vneeds = {"volumes": len(new_vols), "gigabytes": sum(v["size"] for v in new_vols)}
                for res, needed, free, limit in quota_shortfalls(vlimits, vneeds):
                    problems.append(
                        "quota too small: %s needs %d more volume %s, the project has %d free of %d (%s)"
                        % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
                    )
        project_id = conn.current_project_id
        q = conn.network.get_quota(project_id, details=True)
        have_ports = {x.name for x in self._tagged(conn.network.ports)}
        have_fips = len(self._tagged(conn.network.ips))
        have_sgs = {x.name for x in self._tagged(conn.network.security_groups)}
        nneeds = {
            "ports": sum(1 for s in p["servers"] if s["port"]["name"] not in have_ports),
            "floatingips": max(0, sum(1 for s in p["servers"] if s["floating_ip"]) - have_fips),
            "security_groups": sum(1 for g in p["security_groups"].values() if g["name"] not in have_sgs),
        }
        nlimits = {}
        attrs = {"ports": "ports", "floatingips": "floating_ips", "security_groups": "security_groups"}
        for res in nneeds:
            detail = getattr(q, attrs[res], None)
            if isinstance(detail, dict):
                nlimits[res] = (detail.get("limit"), detail.get("used", 0) + detail.get("reserved", 0))
        for res, needed, free, limit in quota_shortfalls(nlimits, nneeds):
            problems.append(
                "quota too small: %s needs %d more %s, the project has %d free of %d (%s)"
                % (p["cluster"], needed, res, max(free, 0), limit, vars_[res])
            )
        return problems

    # -- apply -----------------------------------------------------------------------------
    def apply(self):
        network, subnet = self._ensure_network()
        sg_ids = self._ensure_security_groups()
        sgroups = self._ensure_server_groups()
        self._ensure_keypair()
        ports = self._ensure_ports(network, subnet, sg_ids)
        servers = self._ensure_servers(ports, sgroups)
        self._ensure_volumes(servers)
        fips = self._ensure_floating_ips(ports)
        return self._summary(servers, ports, fips)

    def _ensure_network(self):
        conn, net, tag = self.conn, self.plan["network"], self.tag
        if net["existing"]:
            network = self._lookups.get("network") or conn.network.find_network(net["existing"])
            subnets = list(conn.network.subnets(network_id=network.id))
            if net["existing_subnet"]:
                subnet = conn.network.find_subnet(net["existing_subnet"], network_id=network.id)
            else:
                subnet = next((s for s in subnets if s.ip_version == 4), None)
            return network, subnet
        network = next(iter(self._tagged(conn.network.networks, name=net["name"])), None)
        if network is None:
            self._change("create network %s" % net["name"])
            network = (
                None
                if self.check_mode
                else self._create_tagged(
                    conn.network.create_network, conn.network.delete_network, name=net["name"], tags=[tag]
                )
            )
        subnet = None
        if network is not None:
            subnet = next(
                iter(self._tagged(conn.network.subnets, name=net["subnet_name"], network_id=network.id)), None
            )
        if subnet is None:
            self._change("create subnet %s (%s)" % (net["subnet_name"], net["cidr"]))
            if not self.check_mode:
                subnet = self._create_tagged(
                    conn.network.create_subnet,
                    conn.network.delete_subnet,
                    name=net["subnet_name"],
                    network_id=network.id,
                    ip_version=4,
                    cidr=net["cidr"],
                    gateway_ip=net["gateway_ip"],
                    dns_nameservers=net["dns_nameservers"],
                    tags=[tag],
                )
        elif net["gateway_ip"] and subnet.gateway_ip != net["gateway_ip"]:
            raise ProvisionError(
                "subnet %s has gateway %s but %s.gateway_ip is %s: the gateway cannot move "
                "under a router; tear the cluster down or set gateway_ip back"
                % (net["subnet_name"], subnet.gateway_ip, "network", net["gateway_ip"])
            )
        elif sorted(subnet.dns_nameservers or []) != sorted(net["dns_nameservers"]):
            self._change("update DNS servers of subnet %s" % net["subnet_name"])
            if not self.check_mode:
                conn.network.update_subnet(subnet, dns_nameservers=net["dns_nameservers"])
        if net["router"]:
            self._ensure_router(subnet)
        return network, subnet

    def _ensure_router(self, subnet):
        conn, net = self.conn, self.plan["network"]
        ext = self._lookups.get("external") or conn.network.find_network(net["external"])
        router = next(iter(self._tagged(conn.network.routers, name=net["router_name"])), None)
        if router is None:
            self._change("create router %s (gateway on %s)" % (net["router_name"], net["external"]))
            if self.check_mode:
                return
            router = self._create_tagged(
                conn.network.create_router,
                conn.network.delete_router,
                name=net["router_name"],
                tags=[self.tag],
                external_gateway_info={"network_id": ext.id},
            )
        elif (router.external_gateway_info or {}).get("network_id") != ext.id:
            self._change("set the gateway of router %s to %s" % (net["router_name"], net["external"]))
            if not self.check_mode:
                conn.network.update_router(router, external_gateway_info={"network_id": ext.id})
        if subnet is None:
            self._change("attach subnet %s to router %s" % (net["subnet_name"], net["router_name"]))
            return
        attached = any(
            ip.get("subnet_id") == subnet.id
            for port in conn.network.ports(device_id=router.id)
            for ip in port.fixed_ips or []
        )
        if not attached:
            self._change("attach subnet %s to router %s" % (net["subnet_name"], net["router_name"]))
            if not self.check_mode:
                conn.network.add_interface_to_router(router, subnet_id=subnet.id)

    def _ensure_security_groups(self):
        conn = self.conn
        groups = self.plan["security_groups"]
        found = {g.name: g for g in self._tagged(conn.network.security_groups)}
        ids = {}
        for key, g in groups.items():
            sg = found.get(g["name"])
            if sg is None:
                self._change("create security group %s" % g["name"])
                if not self.check_mode:
                    sg = self._create_tagged(
                        conn.network.create_security_group,
                        conn.network.delete_security_group,
                        name=g["name"],
                        tags=[self.tag],
                        description="kos.platform cluster %s" % self.plan["cluster"],
                    )
            ids[key] = sg.id if sg is not None else "(new %s)" % g["name"]
        for key, g in groups.items():
            want = desired_rule_keys(g, ids)
            have = {}
            if not ids[key].startswith("(new"):
                for r in conn.network.security_group_rules(security_group_id=ids[key]):
                    have[rule_key(r.to_dict())] = r
            missing = [k for k in want if k not in have]
            extra = [r for k, r in have.items() if k not in want]
            descriptions = {
                (
                    "ingress",
                    "IPv4",
                    r["protocol"],
                    r["port_min"],
                    r["port_max"],
                    r["remote_ip_prefix"],
                    ids.get(r["remote_group"]) if r["remote_group"] else None,
                ): r["description"]
                for r in g["rules"]
            }
            for k in sorted(missing, key=str):
                self._change("add rule to %s: %s" % (g["name"], descriptions.get(k, "%s %s" % (k[0], k[1]))))
                if not self.check_mode:
                    conn.network.create_security_group_rule(
                        security_group_id=ids[key],
                        direction=k[0],
                        ether_type=k[1],
                        protocol=k[2],
                        port_range_min=k[3],
                        port_range_max=k[4],
                        remote_ip_prefix=k[5],
                        remote_group_id=k[6],
                        description=descriptions.get(k, ""),
                    )
            for r in extra:
                self._change("remove rule from %s: %s" % (g["name"], r.description or r.id))
                if not self.check_mode:
                    conn.network.delete_security_group_rule(r)
        return ids

    def _ensure_server_groups(self):
        conn = self.conn
        found = {}
        for g in conn.compute.server_groups():
            found.setdefault(g.name, g)
        out = {}
        for name, g in self.plan["server_groups"].items():
            have = found.get(name)
            if have is not None:
                policy = have.policy or (have.policies or [None])[0]
                if policy != g["policy"]:
                    raise ProvisionError(
                        "server group %s exists with policy %s, the plan wants %s: a server group's policy "
                        "cannot change; tear the cluster down or set the policy back" % (name, policy, g["policy"])
                    )
                out[name] = have
                continue
            self._change("create server group %s (%s)" % (name, g["policy"]))
            out[name] = None if self.check_mode else conn.compute.create_server_group(name=name, policy=g["policy"])
        return out

    def _ensure_keypair(self):
        kp = self.plan["keypair"]
        if not kp["public_key"]:
            return
        have = self.conn.compute.find_keypair(kp["name"], ignore_missing=True)
        if have is None:
            self._change("create keypair %s" % kp["name"])
            if not self.check_mode:
                self.conn.compute.create_keypair(name=kp["name"], public_key=kp["public_key"])
        elif have.public_key.split()[:2] != kp["public_key"].split()[:2]:
            raise ProvisionError(
                "keypair %s exists with another public key; servers keep the key they were "
                "created with, so rename the keypair or delete it first" % kp["name"]
            )

    def _ensure_ports(self, network, subnet, sg_ids):
        conn = self.conn
        sg_by_name = {g["name"]: sg_ids[k] for k, g in self.plan["security_groups"].items()}
        found = {x.name: x for x in self._tagged(conn.network.ports)}

        def one(server):
            want = server["port"]
            groups = sorted(sg_by_name[n] for n in server["security_groups"])
            port = found.get(want["name"])
            if port is None:
                self._change(
                    "create port %s%s" % (want["name"], " (%s)" % want["fixed_ip"] if want["fixed_ip"] else "")
                )
                if self.check_mode:
                    return server["name"], None
                attrs = dict(
                    name=want["name"],
                    network_id=network.id,
                    security_group_ids=groups,
                    allowed_address_pairs=[{"ip_address": c} for c in want["allowed_address_pairs"]],
                    tags=[self.tag],
                )
                if want["fixed_ip"]:
                    attrs["fixed_ips"] = [{"subnet_id": subnet.id, "ip_address": want["fixed_ip"]}]
                return server["name"], self._create_tagged(conn.network.create_port, conn.network.delete_port, **attrs)
            update = {}
            if sorted(port.security_group_ids or []) != groups:
                update["security_group_ids"] = groups
            if pairs_differ(want["allowed_address_pairs"], port.allowed_address_pairs, port.mac_address):
                update["allowed_address_pairs"] = [
                    {"ip_address": c, "mac_address": port.mac_address} for c in want["allowed_address_pairs"]
                ]
            if want["fixed_ip"] and want["fixed_ip"] not in [ip.get("ip_address") for ip in port.fixed_ips or []]:
                raise ProvisionError(
                    "port %s has address %s but node_ip of %s is %s: an address cannot move; "
                    "delete the server and its port or set node_ip back"
                    % (want["name"], port.fixed_ips, server["name"], want["fixed_ip"])
                )
            if update:
                self._change("update port %s (%s)" % (want["name"], ", ".join(sorted(update))))
                if not self.check_mode:
                    port = conn.network.update_port(port, **update)
            return server["name"], port

        return dict(self._parallel(one, self.plan["servers"]))

    def _ensure_servers(self, ports, sgroups):
        conn = self.conn
        existing = self._existing_servers()
        errored = [s for s in existing.values() if s.status == "ERROR"]
        for server in errored:
            # A server that failed to build is not worth keeping: it is recreated below.
            self._change("delete server %s (status ERROR) to create it again" % server.name)
            if not self.check_mode:
                conn.compute.delete_server(server)
                conn.compute.wait_for_delete(server, wait=self.timeout)
                existing.pop(server.name)
        images, flavors = self._lookups.get("images", {}), self._lookups.get("flavors", {})
        to_create = []
        result = {}
        for s in self.plan["servers"]:
            have = existing.get(s["name"])
            if have is None:
                to_create.append(s)
                continue
            result[s["name"]] = have
            if any((have.metadata or {}).get(k) != v for k, v in s["metadata"].items()):
                self._change("update metadata of server %s" % s["name"])
                if not self.check_mode:
                    conn.compute.set_server_metadata(have, **s["metadata"])
        for s in to_create:
            self._change(
                "create server %s (%s, %s, %s%s)"
                % (
                    s["name"],
                    s["flavor"],
                    s["image"],
                    s["server_group"],
                    ", zone %s" % s["availability_zone"] if s["availability_zone"] else "",
                )
            )
        if self.check_mode or not to_create:
            return result

        def create(s):
            image = images.get(s["image"]) or conn.image.find_image(s["image"], ignore_missing=False)
            flavor = flavors.get(s["flavor"]) or conn.compute.find_flavor(s["flavor"], ignore_missing=False)
            attrs = dict(
                name=s["name"],
                image_id=image.id,
                flavor_id=flavor.id,
                networks=[{"port": ports[s["name"]].id}],
                key_name=self.plan["keypair"]["name"],
                metadata=s["metadata"],
                tags=[self.tag],
                scheduler_hints={"group": sgroups[s["server_group"]].id},
            )
            if s["availability_zone"]:
                attrs["availability_zone"] = s["availability_zone"]
            return conn.compute.create_server(**attrs)

        created = self._parallel(create, to_create)
        done = self._wait_servers({c.id for c in created})
        result.update({s.name: s for s in done})
        return result

    def _wait_servers(self, ids):
        """One listing per poll for all new servers; ERROR ones are deleted, then reported."""
        conn = self.conn
        deadline = time.time() + self.timeout
        pending = set(ids)
        done, failed = [], []
        while pending:
            for s in conn.compute.servers(details=True):
                if s.id not in pending:
                    continue
                if s.status == "ACTIVE":
                    done.append(s)
                    pending.discard(s.id)
                elif s.status == "ERROR":
                    failed.append(s)
                    pending.discard(s.id)
            if not pending:
                break
            if time.time() > deadline:
                raise ProvisionError(
                    "servers not ACTIVE after %ss: %s (rerun to continue)" % (self.timeout, ", ".join(sorted(pending)))
                )
            time.sleep(self.poll)
        if failed:
            reasons = []
            for s in failed:
                fault = (conn.compute.get_server(s.id).fault or {}).get("message", "no fault message")
                reasons.append("%s: %s" % (s.name, fault))
                conn.compute.delete_server(s)
            raise ProvisionError("servers failed to build and were deleted (rerun to retry): %s" % "; ".join(reasons))
        return done

    def _ensure_volumes(self, servers):
        conn = self.conn
        wanted = [s for s in self.plan["servers"] if s["volume"]]
        if not wanted:
            return
        have = {
            v.name: v
            for v in conn.block_storage.volumes(details=True)
            if (v.metadata or {}).get("kos_cluster") == self.plan["cluster"]
        }
        to_create = [s for s in wanted if s["volume"]["name"] not in have]
        for s in to_create:
            self._change("create volume %s (%d GiB)" % (s["volume"]["name"], s["volume"]["size"]))
        if not self.check_mode and to_create:

            def create(s):
                v = s["volume"]
                attrs = dict(
                    name=v["name"],
                    size=v["size"],
                    metadata={"kos_cluster": self.plan["cluster"], "kos_host": s["name"], "kos_purpose": "etcd-data"},
                )
                if v["volume_type"]:
                    attrs["volume_type"] = v["volume_type"]
                return conn.block_storage.create_volume(**attrs)

            created = self._parallel(create, to_create)
            for v in self._wait_volumes({v.id for v in created}, ("available",)):
                have[v.name] = v
        to_attach = []
        for s in wanted:
            vol = have.get(s["volume"]["name"])
            server = servers.get(s["name"])
            attached_to = {a.get("server_id") for a in (vol.attachments if vol is not None else []) or []}
            if server is not None and server.id in attached_to:
                continue
            self._change("attach volume %s to %s" % (s["volume"]["name"], s["name"]))
            if vol is not None and server is not None and not self.check_mode:
                to_attach.append((server, vol))
        if to_attach:
            self._parallel(lambda sv: conn.compute.create_volume_attachment(sv[0], volume_id=sv[1].id), to_attach)
            self._wait_volumes({v.id for _, v in to_attach}, ("in-use",))

    def _wait_volumes(self, ids, statuses):
        conn = self.conn
        deadline = time.time() + self.timeout
        pending, done = set(ids), []
        while pending:
            for v in conn.block_storage.volumes(details=True):
                if v.id in pending and v.status in statuses:
                    done.append(v)
                    pending.discard(v.id)
                elif v.id in pending and v.status.startswith("error"):
                    raise ProvisionError(
                        "volume %s went to status %s (rerun to retry after deleting it)" % (v.name, v.status)
                    )
            if not pending:
                break
            if time.time() > deadline:
                raise ProvisionError(
                    "volumes not %s after %ss: %s" % ("/".join(statuses), self.timeout, ", ".join(sorted(pending)))
                )
            time.sleep(self.poll)
        return done

    def _ensure_floating_ips(self, ports):
        conn = self.conn
        wanted = [s for s in self.plan["servers"] if s["floating_ip"]]
        if not wanted:
            return {}
        by_port = {ip.port_id: ip for ip in self._tagged(conn.network.ips) if ip.port_id}
        ext = self._lookups.get("external") or conn.network.find_network(self.plan["network"]["external"])
        out = {}
        for s in wanted:
            port = ports.get(s["name"])
            ip = by_port.get(port.id) if port is not None else None
            if ip is None:
                self._change("create floating IP for %s" % s["name"])
                if not self.check_mode:
                    ip = self._create_tagged(
                        conn.network.create_ip,
                        conn.network.delete_ip,
                        floating_network_id=ext.id,
                        port_id=port.id,
                        tags=[self.tag],
                    )
            if ip is not None:
                out[s["name"]] = ip.floating_ip_address
        return out

    def _summary(self, servers, ports, fips):
        hosts = {}
        for s in self.plan["servers"]:
            port = ports.get(s["name"])
            server = servers.get(s["name"])
            ips = [ip.get("ip_address") for ip in (port.fixed_ips if port is not None else []) or []]
            hosts[s["name"]] = dict(
                id=server.id if server is not None else None,
                node_ip=ips[0] if ips else s["port"]["fixed_ip"],
                floating_ip=fips.get(s["name"]),
                groups=s["groups"],
                flavor=s["flavor"],
                image=s["image"],
                server_group=s["server_group"],
                security_groups=s["security_groups"],
                volume=s["volume"]["name"] if s["volume"] else None,
            )
        return hosts

    # -- teardown --------------------------------------------------------------------------
    def teardown(self, cluster, server_group_names, keypair_name=None):
        """Delete what carries the cluster's tag/metadata; returns the list of removed resources."""
        conn = self.conn
        self.tag = cluster_tag(cluster)
        removed = []

        def note(kind, name):
            removed.append("%s %s" % (kind, name))
            self._change("delete %s %s" % (kind, name))

        servers = [s for s in conn.compute.servers(details=True) if (s.metadata or {}).get("kos_cluster") == cluster]
        fips = self._tagged(conn.network.ips)
        for ip in fips:
            note("floating IP", ip.floating_ip_address)
        if not self.check_mode:
            self._parallel(conn.network.delete_ip, fips)
        for s in servers:
            note("server", s.name)
        if not self.check_mode and servers:
            self._parallel(conn.compute.delete_server, servers)
            for s in servers:
                conn.compute.wait_for_delete(s, interval=self.poll, wait=self.timeout)
        volumes = [
            v for v in conn.block_storage.volumes(details=True) if (v.metadata or {}).get("kos_cluster") == cluster
        ]
        for v in volumes:
            note("volume", v.name)
        if not self.check_mode and volumes:
            deadline = time.time() + self.timeout
            pending = {v.id for v in volumes}
            while pending:
                for v in conn.block_storage.volumes(details=True):
                    if v.id in pending and v.status in ("available", "error", "error_deleting"):
                        conn.block_storage.delete_volume(v)
                        pending.discard(v.id)
                if pending and time.time() > deadline:
                    raise ProvisionError("volumes still attached after %ss: %s" % (self.timeout, sorted(pending)))
                if pending:
                    time.sleep(self.poll)
            for v in volumes:
                conn.block_storage.wait_for_delete(v, interval=self.poll, wait=self.timeout)
        ports = self._tagged(conn.network.ports)
        for p in ports:
            note("port", p.name)
        if not self.check_mode:
            self._parallel(conn.network.delete_port, ports)
        for r in self._tagged(conn.network.routers):
            note("router", r.name)
            if not self.check_mode:
                for port in conn.network.ports(device_id=r.id, device_owner="network:router_interface"):
                    for ip in port.fixed_ips or []:
                        conn.network.remove_interface_from_router(r, subnet_id=ip["subnet_id"])
                conn.network.delete_router(r)
        for sn in self._tagged(conn.network.subnets):
            note("subnet", sn.name)
            if not self.check_mode:
                conn.network.delete_subnet(sn)
        for n in self._tagged(conn.network.networks):
            note("network", n.name)
            if not self.check_mode:
                conn.network.delete_network(n)
        for g in self._tagged(conn.network.security_groups):
            note("security group", g.name)
            if not self.check_mode:
                conn.network.delete_security_group(g)
        for g in conn.compute.server_groups():
            if g.name in server_group_names:
                note("server group", g.name)
                if not self.check_mode:
                    conn.compute.delete_server_group(g)
        if keypair_name and conn.compute.find_keypair(keypair_name, ignore_missing=True) is not None:
            note("keypair", keypair_name)
            if not self.check_mode:
                conn.compute.delete_keypair(keypair_name)
        return removed
