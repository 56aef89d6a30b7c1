# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of site.yml's layer gates (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _get(variables, name):
    try:
        return variables.get(name) if hasattr(variables, "get") else variables[name]
    except KeyError:
        return None


def layer_unchanged(hosts, hostvars, layer, survey="__kos_layer_survey", recorded="__kos_layer_recorded"):
    """True when the run's survey found `layer` fresh on every host of `hosts` and no layer has run on
    any of them since (a layer that ran may have touched what a later layer's record describes)."""
    if not isinstance(layer, str) or not layer:
        raise AnsibleFilterError("layer_unchanged: the layer's name is required, got %r" % (layer,))
    if not hosts:
        return False
    for host in hosts:
        try:
            variables = hostvars[host]
        except KeyError:
            return False
        seen = _get(variables, survey)
        if not isinstance(seen, dict) or layer not in (seen.get("unchanged") or []):
            return False
        ran = _get(variables, recorded)
        if isinstance(ran, dict) and not ran.get("skipped"):
            return False
    return True


class FilterModule(object):
    def filters(self):
        return {"layer_unchanged": layer_unchanged}
