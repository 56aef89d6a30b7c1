# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Ports, one per host: fixed address, security groups and allowed address pairs (Calico's
routed mode sends from pod and Service addresses). An address cannot move on an existing port.

A port is findable as the cluster's even when the step that tags it never ran (this Neutron
refuses tags in create requests, so creation and tagging are two requests and a service lost in
between leaves an untagged port): its name is deterministic (``<cluster>-<host>``) within the
cluster's network, so the next run adopts an untagged port with the expected name and address
(and tags it) instead of failing with ``409 IP address already allocated``; teardown removes the
cluster's ports found by tag, by the ownership mark set in the create request (the description
``kos.platform cluster <name>``) or by membership of the cluster's own network.
"""

from __future__ import annotations

import threading

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


def pairs_differ(wanted_cidrs, actual_pairs, mac):
    """Compare allowed address pairs by (ip, mac): Neutron fills in the port's MAC when none is given."""
    want = {(c, mac) for c in wanted_cidrs}
    have = {(p.get("ip_address"), p.get("mac_address") or mac) for p in actual_pairs or []}
    return want != have


def _addresses(port):
    return [ip.get("ip_address") for ip in _get(port, "fixed_ips") or []]


def _get(obj, key):
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def adoptable(port, want, tag):
    """True when ``port`` (on the cluster's network) is one an interrupted run left for ``want``.

    It has the expected name, no cluster tag yet, is not Neutron's own (DHCP, router) and holds
    the expected fixed address (any address when the plan lets Neutron choose).
    """
    if _get(port, "name") != want["name"] or tag in (_get(port, "tags") or []):
        return False
    if (_get(port, "device_owner") or "").startswith("network:"):
        return False
    return not want["fixed_ip"] or want["fixed_ip"] in _addresses(port)


def address_holder(ports, want, tag):
    """The port that holds ``want``'s fixed address but is neither the cluster's nor adoptable."""
    if not want["fixed_ip"]:
        return None
    for p in ports:
        if want["fixed_ip"] in _addresses(p) and tag not in (_get(p, "tags") or []) and not adoptable(p, want, tag):
            return p
    return None


def teardown_ports(tagged, on_cluster_networks):
    """The ports teardown removes: the cluster's own (tag or ownership mark), and every port on a
    network of the cluster except Neutron's own (router interfaces go with the router, DHCP
    ports with the subnet). Ports of other networks without the tag are never included."""
    out = {}
    for p in list(tagged) + [
        p for p in on_cluster_networks if not (_get(p, "device_owner") or "").startswith("network:")
    ]:
        out[_get(p, "id")] = p
    return list(out.values())


def host_ports(ports, cluster, hosts, server_ids, tag, mark):
    """The ports of ``hosts`` that are the cluster's: tagged ``tag`` or carrying the ownership
    ``mark`` (description), and either named ``<cluster>-<host>`` or bound to one of the hosts'
    servers (``server_ids``). Neutron's own ports and every port of another owner are never included.
    """
    names = {"%s-%s" % (cluster, h) for h in hosts}
    out = []
    for p in ports:
        if (_get(p, "device_owner") or "").startswith("network:"):
            continue
        ours = tag in (_get(p, "tags") or []) or (mark is not None and _get(p, "description") == mark)
        if ours and (_get(p, "name") in names or (_get(p, "device_id") or None) in server_ids):
            out.append(p)
    return out


class Ports(InfraResource):
    """One port per host on the node network, created in parallel."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._args = None

    def ensure(self, network, subnet, sg_ids):
        self._args = (network, subnet, sg_ids)
        found = {x.name: x for x in self._tagged(self.conn.network.ports)}
        untagged = [] if network is None else list(self.conn.network.ports(network_id=network.id))
        return dict(self._parallel(lambda s: self._one(s, found, untagged), self.plan["servers"]))

    def recreate(self, server):
        """The port of ``server`` again (found, adopted or created): Nova deleted it with an ERROR server."""
        with self._lock:
            network, subnet, sg_ids = self._args
            found = {x.name: x for x in self._tagged(self.conn.network.ports)}
            untagged = list(self.conn.network.ports(network_id=network.id))
            return self._one(server, found, untagged)[1]

    def _one(self, server, found, untagged):
        conn = self.conn
        network, subnet, sg_ids = self._args
        sg_by_name = {g["name"]: sg_ids[k] for k, g in self.plan["security_groups"].items()}
        want = server["port"]
        groups = sorted(sg_by_name[n] for n in server["security_groups"])
        port = found.get(want["name"])
        if port is None:
            port = next((p for p in untagged if adoptable(p, want, self.tag)), None)
            if port is not None:
                self._change(
                    "adopt port %s (%s, left untagged by an interrupted run)"
                    % (want["name"], ", ".join(_addresses(port)))
                )
                if not self.check_mode:
                    conn.network.set_tags(port, [self.tag])
                    port.tags = [self.tag]
        if port is None:
            holder = address_holder(untagged, want, self.tag)
            if holder is not None:
                raise ProvisionError(
                    "address %s of %s is held by port %s (%s), which is not this cluster's: free the address "
                    "or set node_ip of %s to another one"
                    % (want["fixed_ip"], server["name"], holder.name or "(no name)", holder.id, server["name"])
                )
            self._change("create port %s%s" % (want["name"], " (%s)" % want["fixed_ip"] if want["fixed_ip"] else ""))
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
        if want["fixed_ip"] and want["fixed_ip"] not in _addresses(port):
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

    def teardown(self, note):
        conn = self.conn
        members = [p for n in self._owned(conn.network.networks) for p in conn.network.ports(network_id=n.id)]
        ports = teardown_ports(self._owned(conn.network.ports), members)
        self.delete(note, ports)

    def of_hosts(self, cluster, hosts, server_ids):
        """The cluster's ports of the named hosts (see ``host_ports``)."""
        return host_ports(self._owned(self.conn.network.ports), cluster, hosts, set(server_ids), self.tag, self.mark)

    def delete(self, note, ports):
        for p in ports:
            note("port", p.name)
        if not self.check_mode:
            self._parallel(self.conn.network.delete_port, ports)
