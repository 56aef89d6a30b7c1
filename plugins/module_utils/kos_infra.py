# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Provisioning a cluster's OpenStack resources: plan, preflight, reconcile, teardown.

The code is split per resource kind, in the manner of openstack.cloud (one generic base in
module_utils/resource.py, one module per resource):

- ``kos_infra_plan``: ``plan(params)``, the pure desired state (unit-tested);
- ``kos_infra_resource``: ``InfraResource``, the base every kind subclasses (shared context,
  change log, parallel calls, tagging), and ``ProvisionError``;
- ``kos_infra_preflight``: every problem found before anything is created (images, flavors,
  networks, zones, keypair, quotas);
- one file per kind: ``kos_infra_network`` (network, subnet, router), ``kos_infra_security_group``,
  ``kos_infra_server_group``, ``kos_infra_keypair``, ``kos_infra_port``, ``kos_infra_server``,
  ``kos_infra_volume``, ``kos_infra_floating_ip``; each knows how to ensure and to tear down its
  own objects.

``Provisioner(conn, plan, check_mode)`` (here) is the context of one run and the order in which
the kinds are applied: ``preflight()`` returns every problem before anything is created;
``apply()`` makes the cloud match the plan (servers, ports and volumes in parallel: create calls
are issued together, then one poll loop waits for all); ``teardown()`` removes what carries the
cluster's tag, and the ports on the cluster's own network (tagged or not); ``remove_hosts()`` removes
the server, ports, volumes and floating IPs of named hosts only (a node leaving the cluster). ``step``, ``operation``
and ``service`` say what a run was doing when it failed, for the error message. Idempotent:
every resource is found by name and cluster tag first and compared
field by field.

Ownership marks: Neutron resources carry the tag ``kos-cluster=<name>``; servers carry the
same tag and metadata ``kos_cluster``; volumes carry metadata ``kos_cluster``; server groups
(which hold neither) are named ``<cluster>-<group>``.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_floating_ip import FloatingIps
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_keypair import Keypairs
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_network import Networks
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_plan import (  # noqa: F401 (re-exported)
    ROLE_ORDER,
    SERVER_GROUP_POLICIES,
    TAG_PREFIX,
    PlanError,
    cluster_tag,
    plan,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_port import Ports, pairs_differ  # noqa: F401
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_preflight import (  # noqa: F401
    Preflight,
    quota_shortfalls,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import ProvisionError  # noqa: F401
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_security_group import (  # noqa: F401
    SecurityGroups,
    desired_rule_keys,
    rule_key,
)
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server import Servers
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_server_group import ServerGroups
from ansible_collections.kos.platform.plugins.module_utils.kos_infra_volume import Volumes

# The plan, its errors and the rule helpers are re-exported: the module and tests import them from here.
__all__ = [
    "ROLE_ORDER", "SERVER_GROUP_POLICIES", "TAG_PREFIX", "PlanError", "ProvisionError", "Provisioner",
    "cluster_tag", "desired_rule_keys", "pairs_differ", "plan", "quota_shortfalls", "rule_key",
]


class Provisioner:
    """Makes the cloud match a plan (or lists what it would change, in check mode).

    It holds what every resource kind of one run shares: connection, plan, check mode, timeouts,
    the list of changes and the lookups preflight made.
    """

    def __init__(self, conn, desired, check_mode=False, timeout=600, parallelism=10, poll=2.0, log=None):
        self.conn = conn
        self.plan = desired
        self.check_mode = check_mode
        self.timeout = timeout
        self.parallelism = max(1, parallelism)
        self.poll = poll
        self.changes = []
        self.tag = desired["tag"] if desired else None
        self.cluster = desired.get("cluster") if desired else None
        self.log = log or (lambda msg: None)
        self._lookups = {}
        self.step = self.operation = self.service = None
        self.networks = Networks(self)
        self.security_groups = SecurityGroups(self)
        self.server_groups = ServerGroups(self)
        self.keypairs = Keypairs(self)
        self.ports = Ports(self)
        self.servers = Servers(self)
        self.volumes = Volumes(self)
        self.floating_ips = FloatingIps(self)

    def preflight(self, var):
        """Every problem that can be known before creating anything, as operator messages.

        ``var(option, key=None)`` names the variable an operator sets.
        """
        return Preflight(self).run(var)

    # The service each step talks to, named in errors (kos_openstack.explain_error).
    STEP_SERVICE = dict(
        network="Neutron",
        security_groups="Neutron",
        server_groups="Nova",
        keypair="Nova",
        ports="Neutron",
        servers="Nova",
        volumes="Cinder",
        floating_ips="Neutron",
    )

    def _step(self, name, operation):
        self.step, self.operation = name, operation
        self.service = self.STEP_SERVICE.get(name)

    def apply(self):
        self._step("network", "ensure network, subnet and router")
        network, subnet = self.networks.ensure()
        self._step("security_groups", "ensure security groups")
        sg_ids = self.security_groups.ensure()
        self._step("server_groups", "ensure server groups")
        sgroups = self.server_groups.ensure()
        self._step("keypair", "ensure keypair")
        self.keypairs.ensure()
        # Servers left in ERROR (a service lost mid-build) go first: Nova may delete their ports
        # with them, and the ports step below then finds, adopts or re-creates every port.
        self._step("servers", "replace servers in ERROR")
        self.servers.replace_errored()
        self._step("ports", "ensure ports")
        ports = self.ports.ensure(network, subnet, sg_ids)
        self._step("servers", "create servers and wait for ACTIVE")
        servers = self.servers.ensure(ports, sgroups)
        self._step("volumes", "ensure etcd volumes and attachments")
        self.volumes.ensure(servers)
        self._step("floating_ips", "ensure floating IPs")
        fips = self.floating_ips.ensure(ports)
        self._step(None, None)
        return self._summary(servers, ports, fips)

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
                boot_volume_size=s["boot_volume"]["size"] if s.get("boot_volume") else None,
            )
        return hosts

    def teardown(self, cluster, server_group_names, keypair_name=None):
        """Delete what carries the cluster's tag/metadata; returns the list of removed resources.

        Order: what holds an address or a port first (floating IPs, servers), then volumes
        (detached once their server is gone), ports, router, subnet, network, security groups,
        server groups, keypair.
        """
        self.tag = cluster_tag(cluster)
        self.cluster = cluster
        removed = []

        def note(kind, name):
            removed.append("%s %s" % (kind, name))
            self.changes.append(("would " if self.check_mode else "") + "delete %s %s" % (kind, name))

        for name, operation, call in (
            ("floating_ips", "delete floating IPs", lambda: self.floating_ips.teardown(note)),
            ("servers", "delete servers", lambda: self.servers.teardown(note, cluster)),
            ("volumes", "delete volumes", lambda: self.volumes.teardown(note, cluster)),
            ("ports", "delete ports", lambda: self.ports.teardown(note)),
            ("network", "delete router, subnet and network", lambda: self.networks.teardown(note)),
            ("security_groups", "delete security groups", lambda: self.security_groups.teardown(note)),
            ("server_groups", "delete server groups", lambda: self.server_groups.teardown(note, server_group_names)),
            ("keypair", "delete keypair", lambda: self.keypairs.teardown(note, keypair_name)),
        ):
            self._step(name, operation)
            call()
        self._step(None, None)
        return removed

    def remove_hosts(self, cluster, hosts):
        """Delete the server, ports, volumes and floating IPs of the named hosts only.

        Each resource must be the cluster's (servers and volumes: metadata ``kos_cluster``, volumes
        also ``kos_host``; ports and floating IPs: the cluster's tag or ownership mark) and the
        host's (server named after it, port ``<cluster>-<host>`` or bound to its server, floating IP
        on such a port). Same order as ``teardown``: floating IPs, servers (waited for), then their
        volumes and ports. Returns ``{host: ["kind name", ...]}`` of what was (or would be) removed;
        a host with nothing left has an empty list, so a second run changes nothing.
        """
        self.tag = cluster_tag(cluster)
        self.cluster = cluster
        removed = {h: [] for h in hosts}
        self._step("servers", "list the hosts' servers")
        servers = self.servers.of_hosts(cluster, hosts)
        host_of_server = {s.id: s.name for s in servers}
        self._step("ports", "list the hosts' ports")
        ports = self.ports.of_hosts(cluster, hosts, host_of_server)
        by_name = {"%s-%s" % (cluster, h): h for h in hosts}
        host_of_port = {p.id: by_name.get(p.name) or host_of_server.get(p.device_id) for p in ports}
        self._step("volumes", "list the hosts' volumes")
        volumes = self.volumes.of_hosts(cluster, hosts)
        self._step("floating_ips", "list the hosts' floating IPs")
        fips = self.floating_ips.of_ports(host_of_port)

        def noter(host_of):
            def note(kind, name):
                host = host_of(name) or "(unknown host)"
                removed.setdefault(host, []).append("%s %s" % (kind, name))
                self.changes.append(
                    ("would " if self.check_mode else "") + "delete %s %s of %s" % (kind, name, host)
                )

            return note

        fip_host = {ip.floating_ip_address: host_of_port[ip.port_id] for ip in fips}
        port_host = {p.name: host_of_port[p.id] for p in ports}
        volume_host = {v.name: v.metadata["kos_host"] for v in volumes}
        for name, operation, call in (
            ("floating_ips", "delete floating IPs", lambda: self.floating_ips.delete(noter(fip_host.get), fips)),
            ("servers", "delete servers", lambda: self.servers.delete(noter(lambda n: n), servers)),
            ("volumes", "delete volumes", lambda: self.volumes.delete(noter(volume_host.get), volumes)),
            ("ports", "delete ports", lambda: self.ports.delete(noter(port_host.get), ports)),
        ):
            self._step(name, operation)
            call()
        self._step(None, None)
        return removed
