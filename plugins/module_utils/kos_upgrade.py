# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Kubernetes upgrade plan: one minor at a time, control planes first, nodes in batches.

``plan(running, target, control_planes, nodes, batch_size)`` checks the step against the
version-skew policy kubeadm enforces and returns the ordered plan playbooks/upgrade.yml follows
(and prints under --check):

- kubeadm upgrades one minor at a time: "Skipping MINOR versions when upgrading is unsupported"
  (kubernetes/website content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade.md) and
  kubeadm refuses it (cmd/kubeadm/app/phases/upgrade/policy.go, EnforceVersionPolicies:
  "Specified version to upgrade to ... is too high; kubeadm can upgrade only 1 minor version at a time").
- no downgrades (the same policy: "Specified version to upgrade to ... is equal to or lower than
  the cluster version" is only allowed with --force, which this plan never passes).
- the target must be in the supported-version matrix (kos_versions); the running version may be
  the minor just below it.
- the first control plane runs ``kubeadm upgrade apply``, every other one ``kubeadm upgrade
  node``, one at a time; then kubelets, control planes first, then workers in batches (the
  kubelet may not be newer than the API server: version skew policy).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kos.platform.plugins.module_utils import kos_versions

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


def _parse(version):
    match = _VERSION.match(str(version).strip()) if isinstance(version, str) else None
    return tuple(int(p) for p in match.groups()) if match else None


def errors(running, target, batch_size=1, running_variable="upgrade_from_version"):
    """Every problem of the requested upgrade, each naming the variable and the fix."""
    problems = []
    now, then = _parse(running), _parse(target)
    if now is None:
        problems.append("%s is %r: give the release the cluster runs now as MAJOR.MINOR.PATCH (e.g. 1.36.4), "
                        "or leave it empty to read it from the cluster" % (running_variable, running))
    if then is None:
        problems.append("cluster_kubernetes_version is %r: give the target release as MAJOR.MINOR.PATCH, e.g. %s"
                        % (target, kos_versions.DEFAULT_VERSION))
    else:
        problems.extend(kos_versions.errors(target))
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        problems.append("upgrade_node_batch_size is %r: give how many nodes are drained at once, 1 or more"
                        % (batch_size,))
    if now is None or then is None:
        return problems
    if then < now:
        problems.append("cluster_kubernetes_version %s is lower than the running %s: downgrades are not supported "
                        "(kubeadm refuses them); restore from an etcd backup instead" % (target, running))
    elif now[0] != then[0] or then[1] - now[1] > 1:
        next_minor = "%d.%d" % (now[0], now[1] + 1)
        problems.append("cluster_kubernetes_version %s skips a minor from the running %s: kubeadm upgrades one minor "
                        "at a time; upgrade to %s first (set cluster_kubernetes_version to a %s release)"
                        % (target, running, next_minor, next_minor))
    return problems


def plan(running, target, control_planes, nodes, batch_size=1):
    """The ordered upgrade plan (a dict); call errors() first.

    control_planes: names in inventory order (the first runs `kubeadm upgrade apply`);
    nodes: worker names (hosts only in kube_node), upgraded in batches of batch_size.
    """
    now, then = _parse(running), _parse(target)
    versions = kos_versions.for_kubernetes(target)
    kind = "none" if now == then else ("patch" if now[:2] == then[:2] else "minor")
    steps = []
    if kind != "none":
        first, others = control_planes[0], control_planes[1:]
        steps.append({"phase": "control_plane", "hosts": [first],
                      "action": "kubeadm upgrade apply %s (UpgradeConfiguration %s)"
                      % (target, versions["kubeadm_api"])})
        for name in others:
            steps.append({"phase": "control_plane", "hosts": [name], "action": "kubeadm upgrade node"})
        for name in control_planes:
            steps.append({"phase": "kubelet", "hosts": [name],
                          "action": "cordon, drain, kubelet and kubectl %s, restart kubelet, uncordon" % target})
        for start in range(0, len(nodes), batch_size):
            batch = nodes[start:start + batch_size]
            steps.append({"phase": "node", "hosts": batch,
                          "action": "cordon, drain, kubeadm upgrade node, kubelet %s, uncordon" % target})
    return {
        "from": "%d.%d.%d" % now,
        "to": "%d.%d.%d" % then,
        "kind": kind,
        "kubeadm_api": versions["kubeadm_api"],
        "batch_size": batch_size,
        "steps": steps,
        "text": _text(running, target, kind, steps, batch_size),
    }


def _text(running, target, kind, steps, batch_size):
    if kind == "none":
        return ["Kubernetes %s is already running: nothing to upgrade." % target]
    lines = ["Upgrade Kubernetes %s -> %s (%s; workers in batches of %d):"
             % (running, target, "one minor" if kind == "minor" else "patch release", batch_size)]
    for number, step in enumerate(steps, 1):
        lines.append("%2d. [%s] %s: %s" % (number, step["phase"], ", ".join(step["hosts"]), step["action"]))
    return lines


def running_version(nodes_json):
    """The lowest kubelet version of `kubectl get nodes -o json` output (a dict), as MAJOR.MINOR.PATCH."""
    versions = []
    for item in (nodes_json or {}).get("items", []):
        raw = ((item.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
        parsed = _parse(raw.split("+")[0].split("-")[0])
        if parsed:
            versions.append(parsed)
    return "%d.%d.%d" % min(versions) if versions else ""
