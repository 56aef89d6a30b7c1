# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Floating IPs from the external network, for the hosts of the groups that ask for one."""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource


def host_floating_ips(ips, port_ids):
    """The floating IPs (already the cluster's) associated with one of ``port_ids``."""
    wanted = set(port_ids)
    return [ip for ip in ips if ip.port_id and ip.port_id in wanted]


class FloatingIps(InfraResource):
    """One floating IP per host that asks for one, on its port."""

    def ensure(self, ports):
        conn = self.conn
        wanted = [s for s in self.plan["servers"] if s["floating_ip"]]
        if not wanted:
            return {}
        by_port = {ip.port_id: ip for ip in self._owned(conn.network.ips) if ip.port_id}
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
            if ip is not None and self.tag not in (ip.tags or []):
                self._change(
                    "adopt floating IP %s of %s (left untagged by an interrupted run)"
                    % (ip.floating_ip_address, s["name"])
                )
                if not self.check_mode:
                    conn.network.set_tags(ip, [self.tag])
            if ip is not None:
                out[s["name"]] = ip.floating_ip_address
        return out

    def teardown(self, note):
        conn = self.conn
        self.delete(note, self._owned(conn.network.ips))

    def of_ports(self, port_ids):
        """The cluster's floating IPs on the given ports (tagged or carrying the ownership mark)."""
        return host_floating_ips(self._owned(self.conn.network.ips), port_ids)

    def delete(self, note, fips):
        for ip in fips:
            note("floating IP", ip.floating_ip_address)
        if not self.check_mode:
            self._parallel(self.conn.network.delete_ip, fips)
