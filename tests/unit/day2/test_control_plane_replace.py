"""playbooks/control_plane_replace.yml: its refusals and plan (kos_day2), and the new control plane's
kubeadm join --control-plane as the kubernetes_control_plane role renders it for the model after the
replacement, held to kubeadm's own rules (tests/unit/upstream/kubeadm_rules.py: validation.go's
ValidateJoinConfiguration and isAllowedFlag, kubernetes/kubernetes release-1.35 line) and to the
strict JoinConfiguration schema generated from upstream's Go types (tests/schemas). kubeadm itself
cannot run here (no Kubernetes server binaries are reachable).
"""

import json
import os
import shutil

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_day2
from tests.unit.roles.test_kubernetes_render import TOP, documents, render, schema_errors
from tests.unit.upstream import kubeadm_rules


def replaced_lab(out):
    """inventories/lab after the operator's edit: kos-lab-cp3 (lost) deleted, kos-lab-cp4 in its groups."""
    inventory = os.path.join(out, "inventory")
    shutil.copytree(os.path.join(TOP, "inventories", "lab", "group_vars"), os.path.join(inventory, "group_vars"))
    with open(os.path.join(TOP, "inventories", "lab", "hosts.yml")) as handle:
        text = handle.read()
    with open(os.path.join(inventory, "hosts.yml"), "w") as handle:
        handle.write(text.replace("kos-lab-cp3", "kos-lab-cp4").replace("198.18.0.13", "198.18.0.14"))
    return inventory


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("replace")
    inventory = replaced_lab(str(out))
    # Only the new host is rendered (the others are not touched by the replacement).
    render(os.path.relpath(inventory, TOP), str(out / "render"), "--limit", "kos-lab-cp4")
    return out / "render"


def test_the_new_control_plane_joins_with_a_valid_configuration(rendered):
    (join,) = documents(str(rendered / "kos-lab-cp4" / "kubeadm-join-control-plane.yaml"))
    assert schema_errors(join) == []
    assert kubeadm_rules.join_configuration_errors(join) == []
    assert join["controlPlane"]["localAPIEndpoint"] == {"advertiseAddress": "198.18.0.14", "bindPort": 6443}
    assert join["nodeRegistration"]["name"] == "kos-lab-cp4"
    with open(rendered / "kos-lab-cp4" / "commands.json") as handle:
        argv = json.load(handle)["join"]
    assert kubeadm_rules.command_line_errors(argv) == []
    assert argv[:2] == [argv[0], "join"] and any(word.startswith("--config=") for word in argv)


def test_the_new_control_plane_knows_nothing_of_the_lost_one(rendered):
    files = [os.path.join(d, n) for d, _dirs, names in os.walk(rendered / "kos-lab-cp4") for n in names]
    assert len(files) > 3
    for path in files:
        with open(path) as handle:
            text = handle.read()
        assert "kos-lab-cp3" not in text and "198.18.0.13" not in text, path
    assert sorted(os.listdir(rendered)) == ["kos-lab-cp4"]


def lab_groups(planes=("kos-lab-cp1", "kos-lab-cp2", "kos-lab-cp4")):
    routers = ["kos-lab-tor1", "kos-lab-tor2"]
    return {"all": sorted(list(planes) + routers + ["kos-lab-builder1"]), "etcd": list(planes),
            "kube_control_plane": list(planes), "kube_node": list(planes), "k8s_cluster": list(planes),
            "bgp_routers": routers}


def test_replace_plan_orders_removal_before_the_join():
    model = {"routers": {"kos-lab-tor1": {"peers": [{"name": "kos-lab-cp4"}]}, "kos-lab-tor2": {"peers": []}}}
    plan = kos_day2.replace_plan(model, lab_groups(), "kos-lab-cp3", "kos-lab-cp4")
    assert plan["problems"] == []
    assert (plan["api"], plan["etcd"], plan["routers"]) == ("kos-lab-cp1", "kos-lab-cp1", ["kos-lab-tor1"])
    assert plan["steps"][0].startswith("kubectl delete node kos-lab-cp3 (on kos-lab-cp1")
    assert plan["steps"][1] == "etcd: quorum check, etcdctl member remove kos-lab-cp3 (on kos-lab-cp1)"
    assert "etcd member add and start, kubeadm join --control-plane" in plan["steps"][2]


@pytest.mark.parametrize("lost, new, planes, refusal", [
    ("kos-lab-cp3", "kos-lab-cp4", ("kos-lab-cp1", "kos-lab-cp2", "kos-lab-cp3", "kos-lab-cp4"),
     "kos-lab-cp3 is still in the inventory"),
    ("kos-lab-cp1", "kos-lab-cp4", ("kos-lab-cp4", "kos-lab-cp2", "kos-lab-cp3"),
     "kos-lab-cp4 is the first host of kube_control_plane, where site.yml runs kubeadm init"),
    ("kos-lab-cp3", "kos-lab-builder1", ("kos-lab-cp1", "kos-lab-cp2"),
     "kos-lab-builder1 is not in kube_control_plane"),
    ("kos-lab-cp1,kos-lab-cp2", "kos-lab-cp4", ("kos-lab-cp4",), "no running control plane is left"),
    ("", "kos-lab-cp4", ("kos-lab-cp1", "kos-lab-cp4"), "control_plane_replace_lost is not set"),
])
def test_replace_refusals(lost, new, planes, refusal):
    problems = kos_day2.replace_problems(lost, new, lab_groups(planes))
    assert any(refusal in p for p in problems), problems
