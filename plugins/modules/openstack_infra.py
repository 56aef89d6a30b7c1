#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: openstack_infra
short_description: Provision (or tear down) the OpenStack resources of a kos.platform cluster
version_added: "0.1.0"
description:
  - Makes an OpenStack project hold what a cluster of the kos.platform model needs - network,
    subnet and router (or an existing network), security groups with the rules of each group of
    hosts, one server group per role, keypair, one port per host with allowed address pairs
    (pod CIDR and advertised Service ranges, for Calico's routed mode), servers, Cinder volumes
    for etcd data attached to etcd members, floating IPs.
  - Before creating anything it checks images, flavors, networks, availability zones, keypair
    and quotas against the cloud and fails with every problem, naming the variable to change.
  - Servers, ports and volumes are created in parallel; one poll loop waits for all of them.
  - Idempotent (found by name and cluster tag, compared field by field); check mode lists what
    would change. C(state=absent) deletes what carries the cluster's tag or its ownership mark
    (the description C(kos.platform cluster <name>), set in every Neutron create request) and
    the ports on the cluster's own network, nothing of other owners.
  - C(state=absent) with O(hosts) deletes only the server, ports, etcd volumes and floating IPs
    of the named hosts (a node leaving the cluster), each only when it is the cluster's (servers
    and volumes by their C(kos_cluster) metadata, volumes also by C(kos_host); ports and floating
    IPs by the cluster's tag or ownership mark) and the host's (the server named after it, the
    port C(<cluster>-<host>) or one bound to its server, a floating IP on such a port). Floating
    IPs and servers go first (the servers are waited for), then their volumes and ports. The
    network, security groups, server groups and keypair stay. A host not in O(inventory_groups)
    is refused, with every other problem of the request, before the cloud is contacted.
  - A run interrupted between creating and tagging a resource is recovered by the next run,
    which adopts and tags an untagged resource with the expected name and the mark (a port with
    the expected name and fixed address on the cluster's network). Servers in ERROR are
    replaced, with their ports re-created in the same run.
  - OpenStack errors name the service, endpoint and operation that failed and what to do.
  - This module is the engine of the role C(kos.platform.openstack_infra); messages name the
    role's variables (see O(var_prefix)).
extends_documentation_fragment:
  - kos.platform.openstack
options:
  cluster_name:
    description: Cluster name; tags every resource (C(kos-cluster=<name>)) and prefixes names.
    type: str
    required: true
  state:
    description: C(present) provisions; C(absent) deletes what the cluster owns.
    type: str
    choices: [present, absent]
    default: present
  hosts:
    description:
      - With C(state=absent) - delete only these hosts' server, ports, volumes and floating IPs
        (each must be a host of O(inventory_groups)); omitted - tear down the whole cluster. An
        empty list is refused (it would otherwise read as the whole cluster).
    type: list
    elements: str
  preflight_only:
    description: Only run the checks against the cloud (C(state=present)); change nothing.
    type: bool
    default: false
  inventory_groups:
    description: Hosts per group of the model; another group name is refused.
    type: dict
    default: {}
    suboptions: &groups
      kube_control_plane: {description: Hosts of the group., type: list, elements: str}
      etcd: {description: Hosts of the group., type: list, elements: str}
      kube_node: {description: Hosts of the group., type: list, elements: str}
      bgp_routers: {description: Hosts of the group., type: list, elements: str}
      image_builders: {description: Hosts of the group., type: list, elements: str}
  node_ips:
    description: Host name to fixed address on the node network (empty - Neutron picks one).
    type: dict
    default: {}
  network:
    description: The node network, created (C(cidr)) or an existing provider network (C(existing)).
    type: dict
    default: {}
    suboptions:
      cidr: {description: CIDR of the node subnet., type: str}
      name: {description: Name of the network to create (empty - C(<cluster>-net))., type: str}
      existing: {description: A provider network to use instead of creating one., type: str}
      existing_subnet: {description: The subnet of C(existing) to use (empty - its first IPv4 subnet)., type: str}
      external_network: {description: Network of the router gateway and the floating IPs., type: str}
      router: {description: Create a router to C(external_network)., type: bool, default: true}
      gateway_ip: {description: Gateway address of the subnet (empty - the first address)., type: str}
      dns_nameservers: {description: DNS servers of the subnet., type: list, elements: str, default: []}
  operator_cidrs:
    description: Where SSH and the Kubernetes API may be reached from (besides the node network).
    type: list
    elements: str
    default: []
  allowed_address_pairs:
    description: CIDRs every port may send from (pod CIDR, Service, external and load-balancer ranges).
    type: list
    elements: str
    default: []
  api_port:
    description: Kubernetes API server port.
    type: int
    default: 6443
  flavors:
    description: Flavor per group (the host's first group in model order), C(default) for the rest.
    type: dict
    default: {}
    suboptions: &per_group
      default: {description: For hosts of the groups not listed., type: str}
      kube_control_plane: {description: For the group's hosts., type: str}
      etcd: {description: For the group's hosts., type: str}
      kube_node: {description: For the group's hosts., type: str}
      bgp_routers: {description: For the group's hosts., type: str}
      image_builders: {description: For the group's hosts., type: str}
  images:
    description: Image per group, C(default) for the rest.
    type: dict
    default: {}
    suboptions: *per_group
  server_group_policies:
    description: Server group policy per group (C(anti-affinity), C(soft-anti-affinity), ...), C(default).
    type: dict
    default: {}
    suboptions: *per_group
  availability_zones:
    description: Zones to spread each group over, round robin; empty - let Nova choose.
    type: list
    elements: str
    default: []
  floating_ip_groups:
    description: Groups whose hosts get a floating IP from the external network.
    type: list
    elements: str
    choices: [kube_control_plane, etcd, kube_node, bgp_routers, image_builders]
    default: []
  etcd_volume:
    description: The etcd data volume of each etcd member.
    type: dict
    default: {}
    suboptions:
      size: {description: Size in GiB (0 - no volume)., type: int, default: 0}
      type: {description: Volume type (empty - the cloud's default)., type: str}
      image:
        description:
          - Image (name or id) the volume is created from (empty - a blank volume). Only new volumes
            are seeded; an existing volume keeps its data.
        type: str
  boot_volume:
    description:
      - Boot every server from a volume that Nova has Cinder create from the server's image
        (deleted with the server), instead of from the image on the hypervisor's disk.
    type: dict
    default: {}
    suboptions:
      size: {description: Size in GiB (0 - boot from the image)., type: int, default: 0}
      type: {description: Volume type (empty - the cloud's default)., type: str}
  keypair:
    description: The deploy keypair.
    type: dict
    required: true
    suboptions:
      name: {description: Keypair name., type: str, required: true}
      public_key:
        description: Given - the keypair is created and owned by the cluster; empty - it must exist.
        type: str
  timeout:
    description: Seconds to wait for servers and volumes.
    type: int
    default: 600
  parallelism:
    description: Concurrent API calls when creating servers, ports and volumes.
    type: int
    default: 10
  var_prefix:
    description: Prefix of the variable names used in messages (the role's C(openstack_infra_)).
    type: str
    default: ""
author:
  - kos.platform developers (@kos-platform)
"""

EXAMPLES = r"""
- name: Provision the cluster
  kos.platform.openstack_infra:
    cloud: kos-demo
    cluster_name: kos-demo
    inventory_groups: "{{ groups }}"
    node_ips: {cp1: 192.0.2.11}
    network: {cidr: 192.0.2.0/24, external_network: public}
    allowed_address_pairs: [10.244.0.0/16, 10.96.0.0/16]
    flavors: {default: m1.medium}
    images: {default: rocky-9}
    keypair: {name: kos-demo-deploy, public_key: "{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"}

- name: Delete the server, ports, etcd volume and floating IP of node4 only
  kos.platform.openstack_infra:
    cloud: kos-demo
    cluster_name: kos-demo
    state: absent
    hosts: [node4]
    inventory_groups: "{{ groups }}"
    keypair: {name: kos-demo-deploy}

- name: Tear it down
  kos.platform.openstack_infra:
    cloud: kos-demo
    cluster_name: kos-demo
    state: absent
    keypair: {name: kos-demo-deploy, public_key: "x"}
"""

RETURN = r"""
changes:
  description: What was changed (or would be, in check mode), one line each.
  returned: always
  type: list
  elements: str
hosts:
  description:
    - Per host - server id, node_ip, floating_ip, groups, flavor, image, server group, volume,
      boot_volume_size.
  returned: state=present
  type: dict
removed:
  description: The resources deleted (or that would be), as "kind name".
  returned: state=absent
  type: list
  elements: str
removed_by_host:
  description: With O(hosts) - per host, the resources deleted (or that would be), as "kind name".
  returned: state=absent with hosts
  type: dict
problems:
  description: Preflight findings (empty when the cloud can hold the cluster).
  returned: state=present
  type: list
  elements: str
"""

from ansible_collections.kos.platform.plugins.module_utils.kos_infra import (
    ROLE_ORDER,
    PlanError,
    Provisioner,
    ProvisionError,
    plan,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_openstack import (
    KosOpenStackModule,
    catalog_of,
    explain_error,
    openstack_errors,
    with_silent_services,
)

# Per-group options: the groups of the model plus "default" (a typo in a group name is refused;
# a policy Nova does not know is refused by the plan, naming the variable).
_GROUP_LISTS = {g: dict(type="list", elements="str") for g in ROLE_ORDER}
_PER_GROUP_STR = {g: dict(type="str") for g in ROLE_ORDER + ("default",)}


def _unreachable(exc):
    """True when the cause is a connection failure (openstacksdk wraps keystoneauth's)."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in ("ConnectFailure", "ConnectTimeout", "ConnectionError", "NewConnectionError"):
            return True
        if "Unable to establish connection" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class OpenStackInfraModule(KosOpenStackModule):
    argument_spec = dict(
        cluster_name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        hosts=dict(type="list", elements="str"),
        preflight_only=dict(type="bool", default=False),
        inventory_groups=dict(type="dict", default={}, options=_GROUP_LISTS),
        node_ips=dict(type="dict", default={}),
        network=dict(
            type="dict",
            default={},
            options=dict(
                cidr=dict(type="str"),
                name=dict(type="str"),
                existing=dict(type="str"),
                existing_subnet=dict(type="str"),
                external_network=dict(type="str"),
                router=dict(type="bool", default=True),
                gateway_ip=dict(type="str"),
                dns_nameservers=dict(type="list", elements="str", default=[]),
            ),
        ),
        operator_cidrs=dict(type="list", elements="str", default=[]),
        allowed_address_pairs=dict(type="list", elements="str", default=[]),
        api_port=dict(type="int", default=6443),
        flavors=dict(type="dict", default={}, options=_PER_GROUP_STR),
        images=dict(type="dict", default={}, options=_PER_GROUP_STR),
        server_group_policies=dict(type="dict", default={}, options=_PER_GROUP_STR),
        availability_zones=dict(type="list", elements="str", default=[]),
        floating_ip_groups=dict(type="list", elements="str", default=[], choices=list(ROLE_ORDER)),
        etcd_volume=dict(
            type="dict",
            default={},
            options=dict(size=dict(type="int", default=0), type=dict(type="str"), image=dict(type="str")),
        ),
        boot_volume=dict(
            type="dict",
            default={},
            options=dict(size=dict(type="int", default=0), type=dict(type="str")),
        ),
        keypair=dict(
            type="dict",
            required=True,
            no_log=False,
            options=dict(name=dict(type="str", required=True), public_key=dict(type="str", no_log=False)),
        ),
        timeout=dict(type="int", default=600),
        parallelism=dict(type="int", default=10),
        var_prefix=dict(type="str", default=""),
    )

    def var(self, option, key=None):
        name = self.params["var_prefix"] + option
        return "%s[%r]" % (name, key) if key is not None else name

    def connect_or_fail(self):
        """Authenticate once, up front: an unreachable or misconfigured cloud fails here."""
        try:
            conn = self.conn
            conn.authorize()
        except openstack_errors() as exc:
            cloud, var = self.params.get("cloud"), self.var("cloud")
            if _unreachable(exc):
                self.fail("cannot reach cloud %r (%s): %s" % (cloud, var, exc))
            self.fail("cannot use cloud %r (%s): %s" % (cloud, var, explain_error(exc, self.params)))
        return conn

    def service_error(self, exc, prov):
        """An SDK error of a step, naming the service, endpoint and operation, and what to do."""
        catalog = catalog_of(self.conn)
        msg = explain_error(exc, self.params, operation=prov.operation, service=prov.service, catalog=catalog)
        return with_silent_services(msg, catalog)

    def provision_error(self, exc):
        """A ProvisionError's message, plus the services that do not answer (a server in ERROR
        because Neutron is down says so)."""
        return with_silent_services(str(exc), catalog_of(self.conn))

    def checked_params(self):
        """The parameters with unset per-group entries dropped, and the bounds the types cannot say."""
        p = dict(self.params)
        for option in (
            "inventory_groups",
            "flavors",
            "images",
            "server_group_policies",
            "network",
            "etcd_volume",
            "boot_volume",
        ):
            p[option] = {k: v for k, v in (p.get(option) or {}).items() if v is not None}
        problems = []
        for option in ("timeout", "parallelism"):
            if p[option] < 1:
                problems.append("%s: %d is below the minimum of 1" % (self.var(option), p[option]))
        if not 1 <= p["api_port"] <= 65535:
            problems.append("%s: %d is not a TCP port (1-65535)" % (self.var("api_port"), p["api_port"]))
        for option in ("etcd_volume", "boot_volume"):
            size = p[option].get("size", 0)
            if size < 0:
                problems.append("%s.size: %d GiB is negative (0 = no volume)" % (self.var(option), size))
        for host, ip in (p.get("node_ips") or {}).items():
            if ip is not None and not isinstance(ip, str):
                problems.append("node_ip of %s: %r is not an address string (write it in quotes)" % (host, ip))
        problems.extend(self.host_problems(p))
        if problems:
            self.fail("; ".join(problems), problems=problems)
        return p

    def host_problems(self, p):
        """What is wrong with O(hosts): given with state=present, empty, or naming a host that is
        not in the inventory groups (a typo must not pass silently as "nothing to delete")."""
        hosts = p.get("hosts")
        if hosts is None:
            return []
        var = self.var("hosts") if p["var_prefix"] else "hosts"
        if p["state"] != "absent":
            return ["%s: only with state=absent (it names the hosts whose resources to delete)" % var]
        if not hosts:
            return ["%s: empty; name at least one host (omit it to tear down the whole cluster)" % var]
        known = {h for members in p["inventory_groups"].values() for h in members or []}
        unknown = [h for h in hosts if h not in known]
        if not unknown:
            return []
        if not known:
            return ["%s: inventory_groups is empty, so no host can be checked; pass the inventory's groups" % var]
        return [
            "%s: %s is not a host of the groups %s (the hosts kos.platform provisions)"
            % (var, h, ", ".join(sorted(p["inventory_groups"])))
            for h in unknown
        ]

    def run(self):
        p = self.checked_params()
        if p["state"] == "absent":
            conn = self.connect_or_fail()
            prov = Provisioner(
                conn, None, check_mode=self.check_mode, timeout=p["timeout"], parallelism=p["parallelism"]
            )
            keypair = p["keypair"] or {}
            owned_keypair = keypair.get("name") if keypair.get("public_key") else None
            names = {"%s-%s" % (p["cluster_name"], r) for r in ROLE_ORDER}
            by_host = None
            try:
                if p["hosts"] is not None:
                    hosts = list(dict.fromkeys(p["hosts"]))
                    by_host = prov.remove_hosts(p["cluster_name"], hosts)
                    removed = [r for h in hosts for r in by_host[h]]
                else:
                    removed = prov.teardown(p["cluster_name"], names, owned_keypair)
            except ProvisionError as exc:
                self.fail(self.provision_error(exc), removed=prov.changes)
            except openstack_errors() as exc:
                self.fail(self.service_error(exc, prov), removed=prov.changes)
            result = dict(changed=bool(removed), removed=removed, changes=prov.changes)
            if by_host is not None:
                result["removed_by_host"] = by_host
            return result

        try:
            desired = plan(p)
        except PlanError as exc:
            self.fail(str(exc))
        conn = self.connect_or_fail()
        prov = Provisioner(
            conn, desired, check_mode=self.check_mode, timeout=p["timeout"], parallelism=p["parallelism"]
        )
        problems = prov.preflight(self.var)
        if problems:
            self.fail(
                "the cloud cannot hold cluster %s (nothing was created): %s" % (p["cluster_name"], "; ".join(problems)),
                problems=problems,
            )
        if p["preflight_only"]:
            return dict(changed=False, problems=[], changes=[], hosts={})
        try:
            hosts = prov.apply()
        except ProvisionError as exc:
            self.fail(self.provision_error(exc), changes=prov.changes)
        except openstack_errors() as exc:
            self.fail(self.service_error(exc, prov), changes=prov.changes)
        return dict(changed=bool(prov.changes), changes=prov.changes, hosts=hosts, problems=[])


def main():
    OpenStackInfraModule()()


if __name__ == "__main__":
    main()
