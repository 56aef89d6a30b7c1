# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters over the kos.platform cluster model (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_model, kos_model_input

# Host variables the model reads; of the rest, only the names that start like them are kept (in
# "variables"), so that a misspelt host variable is reported instead of silently ignored.
HOST_KEYS = ("node_ip", "ansible_host", "node_name", "node_rack", "node_as_number", "node_pod_block",
             "bgp_router_as_number", "bgp_router_racks", "bgp_router_upstream_peers")
HOST_PREFIXES = ("node_", "bgp_router_")


def _require_netaddr():
    if not kos_model.HAS_NETADDR:
        raise AnsibleFilterError("kos.platform cluster filters need the Python library netaddr on the controller: "
                                 "pip install netaddr")


def cluster_host_vars(hostvars, names):
    """Pick the model's host variables (and the OS family, when facts are known) out of hostvars."""
    result = {}
    for name in names:
        host = hostvars[name]
        picked = {}
        for key in HOST_KEYS:
            if key in host and host[key] not in (None, ""):
                picked[key] = host[key]
        if "ansible_os_family" in host:
            picked["os_family"] = host["ansible_os_family"]
        names = sorted(k for k in host.keys() if isinstance(k, str) and k.startswith(HOST_PREFIXES))
        if names:
            picked["variables"] = names
        result[name] = picked
    return result


def cluster_errors(model_input):
    """The list of problems in a cluster model input; empty when it is valid."""
    _require_netaddr()
    return kos_model.validate(model_input)


def cluster_notices(model_input):
    """The defaults the model uses without the inventory saying so ("using default X for Y")."""
    return kos_model_input.notices(model_input)


def image_preflight_errors(names, values):
    """Problems of the image pipelines' variables: unknown names (closest known name), URL and registry forms."""
    try:
        return kos_model_input.image_errors(list(names), dict(values or {}))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("image_preflight_errors: %s" % exc) from exc


def cluster_model(model_input):
    """The derived cluster model (kos_cluster) of a valid model input."""
    _require_netaddr()
    try:
        return kos_model.derive(model_input)
    except kos_model.ModelError as exc:
        raise AnsibleFilterError("invalid cluster model: %s" % exc) from exc


def pod_blocks(names, pod_cidr, prefix=24, pinned=None):
    """Stable per-host pod blocks of a pod CIDR."""
    _require_netaddr()
    try:
        return kos_model.allocate_pod_blocks(pod_cidr, int(prefix), list(names), pinned or {})
    except (kos_model.ModelError, ValueError) as exc:
        raise AnsibleFilterError("pod_blocks: %s" % exc) from exc


def cidr_overlaps(cidrs, others):
    """The CIDRs of the input that overlap any of others (CIDRs or addresses; other words ignored)."""
    _require_netaddr()
    try:
        return kos_model.overlapping(list(cidrs), list(others))
    except (ValueError, TypeError) as exc:
        raise AnsibleFilterError("cidr_overlaps: %s" % exc) from exc


class FilterModule(object):
    def filters(self):
        return {
            "cluster_host_vars": cluster_host_vars,
            "cluster_errors": cluster_errors,
            "cluster_notices": cluster_notices,
            "image_preflight_errors": image_preflight_errors,
            "cluster_model": cluster_model,
            "pod_blocks": pod_blocks,
            "cidr_overlaps": cidr_overlaps,
        }
