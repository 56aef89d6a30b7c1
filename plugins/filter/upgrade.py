# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of playbooks/upgrade.yml (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_upgrade


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("%s is %r, not a whole number" % (name, value)) from exc


def upgrade_errors(target, running, batch_size=1):
    """Problems of upgrading the cluster from running to target (empty when the step is allowed)."""
    try:
        size = int(batch_size)
    except (TypeError, ValueError):
        size = batch_size
    return kos_upgrade.errors(running, target, size)


def upgrade_plan(target, running, control_planes, nodes, batch_size=1):
    """The ordered upgrade plan from running to target."""
    problems = upgrade_errors(target, running, batch_size)
    if problems:
        raise AnsibleFilterError("; ".join(problems))
    return kos_upgrade.plan(running, target, list(control_planes), list(nodes), _int(batch_size, "batch_size"))


def upgrade_running_version(nodes_json):
    """The lowest kubelet version in `kubectl get nodes -o json` output."""
    if not isinstance(nodes_json, dict):
        raise AnsibleFilterError("upgrade_running_version expects the parsed JSON of kubectl get nodes -o json")
    return kos_upgrade.running_version(nodes_json)


class FilterModule(object):
    def filters(self):
        return {
            "upgrade_errors": upgrade_errors,
            "upgrade_plan": upgrade_plan,
            "upgrade_running_version": upgrade_running_version,
        }
