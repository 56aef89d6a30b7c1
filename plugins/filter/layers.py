# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of site.yml's layer gates (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.plugin_utils import layer_run


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
    run_files = survey == "__kos_layer_survey" and recorded == "__kos_layer_recorded"
    for host in hosts:
        # This run's verdicts as the workers left them (plugins/plugin_utils/layer_run.py): no get_vars of
        # the host in the main process; hostvars for a host without them.
        found = layer_run.verdict(host) if run_files else None
        if found is not None:
            unchanged, ran = found
            if ran or layer not in unchanged:
                return False
            continue
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
