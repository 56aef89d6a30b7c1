# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of playbooks/verify_kubernetes.yml (documentation in verify_check.yml and verify_junit.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_verify


def _json(text):
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text or "{}")
    except ValueError:
        return {}


def _answers(items):
    """can-i answers from a registered loop ({item: {verb, resource, namespace, expected}, stdout}) or plain."""
    result = []
    for entry in items:
        if "item" in entry:
            result.append(dict(entry["item"], answer=entry.get("stdout", "")))
        else:
            result.append(entry)
    return result


def verify_check(output, check, *args):
    """Run one acceptance check of kos_verify on command output; returns {name, ok, message, details}."""
    checks = {
        "nodes_ready": lambda: kos_verify.nodes_ready(_json(output), list(args[0])),
        "pods_running": lambda: kos_verify.pods_running(_json(output), *args),
        "pod_ips": lambda: kos_verify.pod_ips(_json(output)),
        "dns_answers": lambda: kos_verify.dns_answers(output, *args),
        "pvc_bound": lambda: kos_verify.pvc_bound(_json(output), _json(args[0])),
        "default_storage_class": lambda: kos_verify.default_storage_class(_json(output)),
        "whoami": lambda: kos_verify.whoami(_json(output), *args),
        "can_i": lambda: kos_verify.can_i(_answers(output), *args),
        "reachable": lambda: kos_verify.reachable(args[0], (output or {}).get("rc", 1),
                                                  (output or {}).get("stdout", "") + (output or {}).get("stderr", ""),
                                                  args[1]),
    }
    if check not in checks:
        raise AnsibleFilterError("verify_check: unknown check %r (one of %s)" % (check, ", ".join(sorted(checks))))
    return checks[check]()


def verify_junit(results, suite="kos.platform verify"):
    """JUnit XML of a list of check results."""
    return kos_verify.junit(list(results), suite)


class FilterModule(object):
    def filters(self):
        return {"verify_check": verify_check, "verify_junit": verify_junit}
