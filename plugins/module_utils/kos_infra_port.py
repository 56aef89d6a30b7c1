# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Ports, one per host: fixed address, security groups and allowed address pairs (Calico's
routed mode sends from pod and Service addresses). An address cannot move on an existing port.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


def pairs_differ(wanted_cidrs, actual_pairs, mac):
    """Compare allowed address pairs by (ip, mac): Neutron fills in the port's MAC when none is given."""
    want = {(c, mac) for c in wanted_cidrs}
    have = {(p.get("ip_address"), p.get("mac_address") or mac) for p in actual_pairs or []}
    return want != have


class Ports(InfraResource):
    """One port per host on the node network, created in parallel."""

    def ensure(self, network, subnet, sg_ids):
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

    def teardown(self, note):
        conn = self.conn
        ports = self._tagged(conn.network.ports)
        for p in ports:
            note("port", p.name)
        if not self.check_mode:
            self._parallel(conn.network.delete_port, ports)
