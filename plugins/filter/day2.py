# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the day-two playbooks: node_add.yml, node_remove.yml, control_plane_replace.yml
(documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_day2


def day2_plan(kos_cluster, groups, operation, hosts, given=True):
    """Hosts, refusals, routers and steps of adding or removing hosts."""
    try:
        return kos_day2.plan(kos_cluster, groups, operation, hosts, given)
    except (ValueError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("day2_plan: %s" % exc) from exc


def control_plane_replace_plan(kos_cluster, groups, lost, new, given=None):
    """Refusals, hosts and steps of replacing a lost control plane."""
    try:
        return kos_day2.replace_plan(kos_cluster, groups, lost, new, tuple(given or (True, True)))
    except (TypeError, AttributeError) as exc:
        raise AnsibleFilterError("control_plane_replace_plan: %s" % exc) from exc


def etcd_removal_problems(members, removing):
    """Why removing members would break etcd's quorum (empty list: the removal is safe)."""
    try:
        return kos_day2.etcd_removal_problems(list(members), removing)
    except (TypeError, AttributeError) as exc:
        raise AnsibleFilterError("etcd_removal_problems: members must be a list of {name, healthy}: %s" % exc) from exc


def etcd_members_health(member_list, health):
    """etcdctl member list and endpoint health (both -w json) as [{name, id, client_url, healthy}]."""
    try:
        return kos_day2.members_health(member_list, health)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("etcd_members_health: not the JSON of etcdctl member list / endpoint health: %s"
                                 % exc) from exc


def day2_without(kos_cluster, hosts):
    """kos_cluster without hosts (out of the routers' peers, the nodes and the groups)."""
    return kos_day2.without_hosts(kos_cluster, hosts)


def day2_node_commands(node, options=None):
    """kubectl and calicoctl command lines (argv lists) that take a node out of the cluster."""
    return kos_day2.node_commands(node, options)


class FilterModule(object):
    def filters(self):
        return {
            "day2_plan": day2_plan,
            "control_plane_replace_plan": control_plane_replace_plan,
            "etcd_removal_problems": etcd_removal_problems,
            "etcd_members_health": etcd_members_health,
            "day2_node_commands": day2_node_commands,
            "day2_without": day2_without,
        }
