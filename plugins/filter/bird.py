# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters for BIRD 2 on the external routers (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_bird


def bird_router_plan(kos_cluster, router, options=None):
    """The BGP sessions and import prefix sets of one router, from the cluster model."""
    if not kos_bird.HAS_NETADDR:
        raise AnsibleFilterError("kos.platform.bird_router_plan needs the Python library netaddr: pip install netaddr")
    try:
        return kos_bird.router_plan(kos_cluster, router, options)
    except kos_bird.PlanError as exc:
        raise AnsibleFilterError("bird_router_plan: %s" % exc) from exc
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("bird_router_plan: kos_cluster lacks %s; run the preflight role first" % exc) from exc


def bird_protocols(text):
    """`birdc show protocols` output as {name: {proto, table, state, since, info}}."""
    return kos_bird.parse_protocols(text)


def bird_routes(text):
    """`birdc show route` output as {prefix: [route, ...]}."""
    return kos_bird.parse_routes(text)


def bird_bgp_report(plan, protocols_text, routes_text):
    """What is missing on a router compared with its plan (sessions, pod blocks, Service range)."""
    return kos_bird.bgp_report(plan, kos_bird.parse_protocols(protocols_text), kos_bird.parse_routes(routes_text))


def bird_password_facts(hostvars, routers, node_passwords=None):
    """Lengths (never the values) of each router's TCP-MD5 password on both ends, for preflight.

    The router end is the router's bgp_router_password; the nodes' end is what the calico role
    gives calico-node: calico_bgp_passwords[router] when set (even empty), else bgp_router_password.
    Routers only in calico_bgp_passwords (cluster_external_bgp_peers) have an unknown router end (0).
    """
    node_passwords = dict(node_passwords or {})
    result = {}
    for name in list(routers or []):
        router = str((hostvars.get(name) or {}).get("bgp_router_password") or "")
        nodes = str(node_passwords[name] or "") if name in node_passwords else router
        result[name] = {"router": len(router.encode("utf-8")), "nodes": len(nodes.encode("utf-8")),
                        "same": router == nodes}
    for name, value in sorted(node_passwords.items()):
        if name not in result:
            nodes = str(value or "")
            result[name] = {"router": 0, "nodes": len(nodes.encode("utf-8")), "same": False}
    return result


class FilterModule(object):
    def filters(self):
        return {
            "bird_router_plan": bird_router_plan,
            "bird_protocols": bird_protocols,
            "bird_routes": bird_routes,
            "bird_bgp_report": bird_bgp_report,
            "bird_password_facts": bird_password_facts,
        }
