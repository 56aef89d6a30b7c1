# -*- coding: utf-8 -*-
# Copyright: kos.platform developers
# Apache License 2.0 (see galaxy.yml)
"""Security groups and their rules: rules are compared by Neutron's fields, missing ones added,
extra ones removed; the default egress rules stay, as Neutron creates them.
"""

from __future__ import annotations

from ansible_collections.kos.platform.plugins.module_utils.kos_infra_resource import InfraResource


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


class SecurityGroups(InfraResource):
    """The cluster's security groups (one per kind of host) and their rules."""

    def ensure(self):
        conn = self.conn
        groups = self.plan["security_groups"]
        found = {g.name: g for g in self._tagged(conn.network.security_groups)}
        ids = {}
        for key, g in groups.items():
            sg = found.get(g["name"]) or self._find_or_adopt(conn.network.security_groups, g["name"], "security group")
            if sg is None:
                self._change("create security group %s" % g["name"])
                if not self.check_mode:
                    sg = self._create_tagged(
                        conn.network.create_security_group,
                        conn.network.delete_security_group,
                        name=g["name"],
                        tags=[self.tag],
                        description=self.mark,
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

    def teardown(self, note):
        conn = self.conn
        for g in self._owned(conn.network.security_groups):
            note("security group", g.name)
            if not self.check_mode:
                conn.network.delete_security_group(g)
