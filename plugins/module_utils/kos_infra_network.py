# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Network, subnet and router of a cluster (or an existing provider network, used as it is).

Found by name and the cluster's tag; a subnet's gateway cannot move under a router, so a changed
``gateway_ip`` is an error, while DNS servers are updated in place.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource, ProvisionError


class Networks(InfraResource):
    """The node network, its subnet and the router to the external network."""

    def ensure(self):
        conn, net, tag = self.conn, self.plan["network"], self.tag
        if net["existing"]:
            network = self._lookups.get("network") or conn.network.find_network(net["existing"])
            subnets = list(conn.network.subnets(network_id=network.id))
            if net["existing_subnet"]:
                subnet = conn.network.find_subnet(net["existing_subnet"], network_id=network.id)
            else:
                subnet = next((s for s in subnets if s.ip_version == 4), None)
            return network, subnet
        network = self._find_or_adopt(conn.network.networks, net["name"], "network")
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
            subnet = self._find_or_adopt(conn.network.subnets, net["subnet_name"], "subnet", network_id=network.id)
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
        router = self._find_or_adopt(conn.network.routers, net["router_name"], "router")
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

    def teardown(self, note):
        conn = self.conn
        for r in self._owned(conn.network.routers):
            note("router", r.name)
            if not self.check_mode:
                for port in conn.network.ports(device_id=r.id, device_owner="network:router_interface"):
                    for ip in port.fixed_ips or []:
                        conn.network.remove_interface_from_router(r, subnet_id=ip["subnet_id"])
                conn.network.delete_router(r)
        for sn in self._owned(conn.network.subnets):
            note("subnet", sn.name)
            if not self.check_mode:
                conn.network.delete_subnet(sn)
        for n in self._owned(conn.network.networks):
            note("network", n.name)
            if not self.check_mode:
                conn.network.delete_network(n)
