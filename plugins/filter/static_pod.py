# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters that read the static Pod manifests kubeadm writes (documentation in the .yml files beside
this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml
from ansible.errors import AnsibleFilterError


def _container_words(manifest, container):
    if not manifest:
        return None
    try:
        pod = yaml.safe_load(manifest) if isinstance(manifest, str) else manifest
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("static_pod_flag_drift: the manifest is not YAML: %s" % exc) from exc
    if not isinstance(pod, dict):
        raise AnsibleFilterError("static_pod_flag_drift: the manifest is not a Pod (a mapping), got %s"
                                 % type(pod).__name__)
    containers = (pod.get("spec") or {}).get("containers") or []
    for item in containers:
        if isinstance(item, dict) and item.get("name") == container:
            # kubeadm writes the whole command line into `command` (GetStaticPodSpecs, manifests.go);
            # `args` are appended by the container runtime after it, so both count.
            return [str(w) for w in (item.get("command") or []) + (item.get("args") or [])]
    return []


def static_pod_flags(manifest, container):
    """The --flag=value words of a static Pod's container as {flag: value}; a repeated flag keeps its
    last value (pflag's rule for string flags); a flag without '=' has the value ''."""
    words = _container_words(manifest, container)
    flags = {}
    for word in words or []:
        if word.startswith("--") and len(word) > 2:
            name, _sep, value = word[2:].partition("=")
            flags[name] = value
    return flags


def static_pod_flag_drift(manifest, container, wanted):
    """[{flag, running, wanted}] for every flag of `wanted` whose value in the container's command line
    differs; [] when the manifest is empty (no manifest: nothing runs that could drift)."""
    if not isinstance(wanted, dict):
        raise AnsibleFilterError("static_pod_flag_drift: wanted must be a mapping flag -> value, got %s"
                                 % type(wanted).__name__)
    if _container_words(manifest, container) is None:
        return []
    running = static_pod_flags(manifest, container)
    drift = []
    for flag in sorted(wanted):
        value = "" if wanted[flag] is None else str(wanted[flag])
        if running.get(flag) != value:
            drift.append({"flag": flag, "running": running.get(flag, "(not set)"), "wanted": value})
    return drift


class FilterModule(object):
    def filters(self):
        return {
            "static_pod_flags": static_pod_flags,
            "static_pod_flag_drift": static_pod_flag_drift,
        }
