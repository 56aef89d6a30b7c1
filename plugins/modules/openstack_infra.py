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
    would change. C(state=absent) deletes exactly what carries the cluster's tag.
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
  preflight_only:
    description: Only run the checks against the cloud (C(state=present)); change nothing.
    type: bool
    default: false
  inventory_groups:
    description:
      - Hosts per group of the model (C(etcd), C(kube_control_plane), C(kube_node),
        C(bgp_routers), C(image_builders)); other keys are ignored.
    type: dict
    default: {}
  node_ips:
    description: Host name to fixed address on the node network (empty - Neutron picks one).
    type: dict
    default: {}
  network:
    description:
      - C(cidr) of the node subnet, C(name) of the network to create, C(dns_nameservers),
        C(external_network) (router gateway and floating IPs), C(router) (bool), or
        C(existing) / C(existing_subnet) to use a provider network instead of creating one.
    type: dict
    default: {}
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
  images:
    description: Image per group, C(default) for the rest.
    type: dict
    default: {}
  server_group_policies:
    description: Server group policy per group (C(anti-affinity), C(soft-anti-affinity), ...), C(default).
    type: dict
    default: {}
  availability_zones:
    description: Zones to spread each group over, round robin; empty - let Nova choose.
    type: list
    elements: str
    default: []
  floating_ip_groups:
    description: Groups whose hosts get a floating IP from the external network.
    type: list
    elements: str
    default: []
  etcd_volume:
    description: C(size) in GiB (0 - no volume) and C(type) of the etcd data volume of each etcd member.
    type: dict
    default: {}
  keypair:
    description: C(name) and optional C(public_key) (given - created and owned by the cluster).
    type: dict
    required: true
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
  - kos.platform developers
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
  description: Per host - server id, node_ip, floating_ip, groups, flavor, image, server group, volume.
  returned: state=present
  type: dict
removed:
  description: The resources deleted (or that would be), as "kind name".
  returned: state=absent
  type: list
  elements: str
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
    explain_error,
    openstack_errors,
)


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
        preflight_only=dict(type="bool", default=False),
        inventory_groups=dict(type="dict", default={}),
        node_ips=dict(type="dict", default={}),
        network=dict(type="dict", default={}),
        operator_cidrs=dict(type="list", elements="str", default=[]),
        allowed_address_pairs=dict(type="list", elements="str", default=[]),
        api_port=dict(type="int", default=6443),
        flavors=dict(type="dict", default={}),
        images=dict(type="dict", default={}),
        server_group_policies=dict(type="dict", default={}),
        availability_zones=dict(type="list", elements="str", default=[]),
        floating_ip_groups=dict(type="list", elements="str", default=[]),
        etcd_volume=dict(type="dict", default={}),
        keypair=dict(type="dict", required=True, no_log=False),
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

    def run(self):
        p = self.params
        if p["state"] == "absent":
            conn = self.connect_or_fail()
            prov = Provisioner(
                conn, None, check_mode=self.check_mode, timeout=p["timeout"], parallelism=p["parallelism"]
            )
            keypair = p["keypair"] or {}
            owned_keypair = keypair.get("name") if keypair.get("public_key") else None
            names = {"%s-%s" % (p["cluster_name"], r) for r in ROLE_ORDER}
            try:
                removed = prov.teardown(p["cluster_name"], names, owned_keypair)
            except ProvisionError as exc:
                self.fail(str(exc), removed=prov.changes)
            return dict(changed=bool(removed), removed=removed, changes=prov.changes)

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
            self.fail(str(exc), changes=prov.changes)
        return dict(changed=bool(prov.changes), changes=prov.changes, hosts=hosts, problems=[])


def main():
    OpenStackInfraModule()()


if __name__ == "__main__":
    main()
