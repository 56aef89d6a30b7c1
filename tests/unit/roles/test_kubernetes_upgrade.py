"""Kubernetes upgrades: the plan's rules, the rendered UpgradeConfiguration, upgrade.yml --check.

The UpgradeConfiguration is held to upstream's type, field by field and strictly (unknown fields
and wrong shapes are errors): kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go,
types UpgradeConfiguration, UpgradeApplyConfiguration, UpgradeNodeConfiguration,
UpgradePlanConfiguration, UpgradeDiffConfiguration and Timeouts, as in the releases that carry
Timeouts.upgradeManifests (kubeadm v1.32 and later; the matrix's 1.35-1.37 all use v1beta4).
kubeadm runs no binary here (no Kubernetes server binaries), so this is the check.
"""

import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_model, kos_upgrade, kos_versions
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_model import good_input
from ansible_collections.kos.platform.tests.unit.roles.render import TOP, render

# json tags of the v1beta4 upgrade types (types.go); value kinds: bool is *bool, str is string,
# list is []string, duration is *metav1.Duration, "patches" is *Patches{directory}.
BOOL, STR, LIST, DURATION, INT = "bool", "str", "list", "duration", "int"
PATCHES = {"directory": STR}
UPGRADE_TYPES = {
    "UpgradeConfiguration": {"apiVersion": STR, "kind": STR, "apply": "UpgradeApplyConfiguration",
                             "diff": "UpgradeDiffConfiguration", "node": "UpgradeNodeConfiguration",
                             "plan": "UpgradePlanConfiguration", "timeouts": "Timeouts"},
    "UpgradeApplyConfiguration": {"kubernetesVersion": STR, "allowExperimentalUpgrades": BOOL,
                                  "allowRCUpgrades": BOOL, "certificateRenewal": BOOL, "dryRun": BOOL,
                                  "etcdUpgrade": BOOL, "forceUpgrade": BOOL, "ignorePreflightErrors": LIST,
                                  "patches": PATCHES, "printConfig": BOOL, "skipPhases": LIST,
                                  "imagePullPolicy": STR, "imagePullSerial": BOOL},
    "UpgradeDiffConfiguration": {"kubernetesVersion": STR, "contextLines": INT},
    "UpgradeNodeConfiguration": {"certificateRenewal": BOOL, "dryRun": BOOL, "etcdUpgrade": BOOL,
                                 "ignorePreflightErrors": LIST, "skipPhases": LIST, "patches": PATCHES,
                                 "imagePullPolicy": STR, "imagePullSerial": BOOL},
    "UpgradePlanConfiguration": {"kubernetesVersion": STR, "allowExperimentalUpgrades": BOOL,
                                 "allowRCUpgrades": BOOL, "dryRun": BOOL, "ignorePreflightErrors": LIST,
                                 "printConfig": BOOL},
    "Timeouts": {"controlPlaneComponentHealthCheck": DURATION, "kubeletHealthCheck": DURATION,
                 "kubernetesAPICall": DURATION, "etcdAPICall": DURATION, "tlsBootstrap": DURATION,
                 "discovery": DURATION, "upgradeManifests": DURATION},
}
PULL_POLICIES = ("Always", "IfNotPresent", "Never")  # corev1.PullPolicy
DURATION_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")  # Go time.ParseDuration


def type_errors(value, kind, path):
    """Strict check of value against a kind of UPGRADE_TYPES; returns a list of messages."""
    if isinstance(kind, dict) or kind in UPGRADE_TYPES:
        fields = kind if isinstance(kind, dict) else UPGRADE_TYPES[kind]
        if not isinstance(value, dict):
            return ["%s: not an object" % path]
        errors = []
        for key, item in value.items():
            if key not in fields:
                errors.append("%s.%s: unknown field" % (path, key))
            else:
                errors += type_errors(item, fields[key], "%s.%s" % (path, key))
        return errors
    ok = {BOOL: isinstance(value, bool), STR: isinstance(value, str),
          INT: isinstance(value, int) and not isinstance(value, bool),
          LIST: isinstance(value, list) and all(isinstance(v, str) for v in value),
          DURATION: isinstance(value, str) and bool(DURATION_RE.match(value))}[kind]
    if not ok:
        return ["%s: %r is not a %s" % (path, value, kind)]
    if path.endswith("imagePullPolicy") and value not in PULL_POLICIES:
        return ["%s: %r is not one of %s" % (path, value, PULL_POLICIES)]
    return []


def upgrade_document(text):
    document = yaml.safe_load(text)
    errors = type_errors(document, "UpgradeConfiguration", "UpgradeConfiguration")
    if document.get("apiVersion") != "kubeadm.k8s.io/v1beta4":
        errors.append("apiVersion %r: UpgradeConfiguration exists only in kubeadm.k8s.io/v1beta4"
                      % document.get("apiVersion"))
    if document.get("kind") != "UpgradeConfiguration":
        errors.append("kind %r" % document.get("kind"))
    return document, errors


def rendered(target="1.37.1", **variables):
    model = kos_model.derive(good_input())
    model["kubernetes_version"] = target
    plan = kos_upgrade.plan("1.36.4", target, ["cp1"], [], 1)
    return render("kubernetes_upgrade", "kubeadm-upgrade.yaml.j2",
                  dict(variables, kos_cluster=model, kubernetes_upgrade_plan=plan))


def test_upgrade_configuration_follows_upstreams_type_strictly():
    document, errors = upgrade_document(rendered())
    assert errors == []
    assert document["apply"]["kubernetesVersion"] == "v1.37.1"
    assert document["plan"]["kubernetesVersion"] == "v1.37.1"
    # etcd is external (roles/etcd): kubeadm must leave it alone on every control plane.
    assert document["apply"]["etcdUpgrade"] is False and document["node"]["etcdUpgrade"] is False
    assert document["timeouts"]["upgradeManifests"] == "300s"


def test_options_reach_the_upgrade_configuration():
    document, errors = upgrade_document(rendered(kubernetes_upgrade_certificate_renewal=False,
                                                 kubernetes_upgrade_image_pull_policy="Never"))
    assert errors == []
    assert document["apply"]["certificateRenewal"] is False and document["node"]["imagePullPolicy"] == "Never"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["apply"].update({"yes": True}), "UpgradeConfiguration.apply.yes: unknown field"),
    (lambda d: d["apply"].update({"etcdUpgrade": "false"}), "UpgradeConfiguration.apply.etcdUpgrade: 'false' is not"),
    (lambda d: d["node"].update({"kubernetesVersion": "v1.37.1"}),
     "UpgradeConfiguration.node.kubernetesVersion: unknown field"),
    (lambda d: d["timeouts"].update({"upgradeManifests": 300}), "UpgradeConfiguration.timeouts.upgradeManifests: 300"),
    (lambda d: d.update({"apiVersion": "kubeadm.k8s.io/v1beta3"}), "apiVersion 'kubeadm.k8s.io/v1beta3'"),
    (lambda d: d["apply"].update({"imagePullPolicy": "Sometimes"}), "is not one of"),
])
def test_the_strict_check_catches_a_bad_document(change, message):
    document = yaml.safe_load(rendered())
    change(document)
    _, errors = upgrade_document(yaml.safe_dump(document))
    assert any(message in e for e in errors), errors


def test_the_kubeadm_api_follows_the_version_matrix():
    for minor, entry in kos_versions.MATRIX.items():
        plan = kos_upgrade.plan("%s.0" % minor, entry["kubernetes"], ["cp1"], [], 1)
        assert plan["kubeadm_api"] == entry["kubeadm_api"]


@pytest.mark.parametrize("running, target, message", [
    ("1.35.0", "1.37.1", "cluster_kubernetes_version 1.37.1 skips a minor from the running 1.35.0: kubeadm "
                         "upgrades one minor at a time; upgrade to 1.36 first"),
    ("1.37.1", "1.36.4", "cluster_kubernetes_version 1.36.4 is lower than the running 1.37.1: downgrades are not "
                         "supported"),
    ("1.33.2", "1.34.0", "cluster_kubernetes_version is 1.34.0, outside the supported-version matrix"),
    ("1.36", "1.37.1", "upgrade_from_version is '1.36': give the release the cluster runs now"),
])
def test_refused_steps_name_the_variable_and_the_fix(running, target, message):
    errors = kos_upgrade.errors(running, target)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_one_minor_plan_orders_control_planes_then_nodes_in_batches():
    plan = kos_upgrade.plan("1.36.4", "1.37.1", ["cp1", "cp2"], ["n1", "n2", "n3"], 2)
    assert plan["kind"] == "minor"
    assert [(s["phase"], s["hosts"]) for s in plan["steps"]] == [
        ("control_plane", ["cp1"]), ("control_plane", ["cp2"]), ("kubelet", ["cp1"]), ("kubelet", ["cp2"]),
        ("node", ["n1", "n2"]), ("node", ["n3"])]
    assert plan["steps"][0]["action"].startswith("kubeadm upgrade apply 1.37.1")
    assert plan["steps"][1]["action"] == "kubeadm upgrade node"


def test_patch_and_no_op_plans():
    assert kos_upgrade.plan("1.37.0", "1.37.1", ["cp1"], [], 1)["kind"] == "patch"
    same = kos_upgrade.plan("1.37.1", "1.37.1", ["cp1"], ["n1"], 1)
    assert same["steps"] == [] and same["text"] == ["Kubernetes 1.37.1 is already running: nothing to upgrade."]


def test_bad_batch_size_is_refused():
    assert kos_upgrade.errors("1.36.4", "1.37.1", 0) == [
        "upgrade_node_batch_size is 0: give how many nodes are drained at once, 1 or more"]


def test_running_version_is_the_lowest_kubelet():
    # Shape of `kubectl get nodes -o json` (v1 NodeList; status.nodeInfo.kubeletVersion).
    nodes = {"kind": "List", "items": [
        {"metadata": {"name": "cp1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.37.1"}}},
        {"metadata": {"name": "n1"}, "status": {"nodeInfo": {"kubeletVersion": "v1.36.4"}}}]}
    assert kos_upgrade.running_version(nodes) == "1.36.4"
    assert kos_upgrade.running_version({"items": []}) == ""


def ansible_playbook(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
               ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.path.join(TOP, "inventories", "sample"), os.path.join(TOP, "playbooks", "upgrade.yml"),
               "--check"] + list(args)
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False, cwd=TOP)


def test_check_mode_prints_a_one_minor_plan_for_the_sample_inventory():
    done = ansible_playbook()
    assert done.returncode == 0, done.stdout + done.stderr
    target = kos_versions.DEFAULT_VERSION
    assert "Upgrade Kubernetes 1.36.4 -> %s (one minor; workers in batches of 2):" % target in done.stdout
    assert "1. [control_plane] cp1: kubeadm upgrade apply %s" % target in done.stdout
    assert "2. [control_plane] cp2: kubeadm upgrade node" in done.stdout
    assert "7. [node] node1, node2: cordon, drain" in done.stdout
    assert "8. [node] node3: cordon, drain" in done.stdout
    # Nothing but the plan under --check: no host of the sample inventory is contacted.
    assert "unreachable=1" not in done.stdout and "changed=1" not in done.stdout


def test_check_mode_refuses_a_skipped_minor_before_any_change():
    done = ansible_playbook("-e", "kubernetes_upgrade_from_version=1.35.0")
    assert done.returncode != 0
    assert "The upgrade was refused; nothing was changed" in done.stdout + done.stderr
    assert "skips a minor from the running 1.35.0" in done.stdout + done.stderr
