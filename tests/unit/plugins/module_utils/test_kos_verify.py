"""The Kubernetes acceptance checks of playbooks/verify_kubernetes.yml, against recorded-output fixtures.

No cluster runs here (no Kubernetes server binaries): the fixtures under fixtures/verify/ are
command outputs in the shape kubectl and dig print them (see their README), and every JSON object
in them passes `kubernetes-validate --strict` for Kubernetes 1.37, so they have the real shape.
"""

import glob
import json
import os
import xml.etree.ElementTree as ET

import kubernetes_validate
import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_verify

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "verify")


def recorded(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(FIXTURES, "*.json"))), ids=os.path.basename)
def test_fixtures_have_the_real_shape(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    for item in document["items"] if document.get("kind") == "List" else [document]:
        kubernetes_validate.validate(item, "1.37.0", strict=True)


def test_ready_nodes_pass():
    outcome = kos_verify.nodes_ready(recorded("kubectl_get_nodes.json"), ["cp1", "cp2", "node1"])
    assert outcome["ok"] and outcome["message"] == "3/3 nodes Ready"


def test_unknown_and_missing_nodes_fail():
    outcome = kos_verify.nodes_ready(recorded("kubectl_get_nodes_one_unknown.json"), ["cp1", "cp2", "node1", "node2"])
    assert not outcome["ok"]
    assert outcome["message"] == ("node node1 is not Ready (NodeStatusUnknown: Kubelet stopped posting node status.); "
                                  "node node2 is not registered")


def test_running_kube_system_passes():
    outcome = kos_verify.pods_running(recorded("kubectl_get_pods_kube_system.json"))
    assert outcome["ok"] and outcome["message"] == "4 pods Running in kube-system"


def test_crashlooping_and_pending_pods_fail():
    outcome = kos_verify.pods_running(recorded("kubectl_get_pods_kube_system_crashloop.json"))
    assert not outcome["ok"]
    assert outcome["message"] == ("pod kube-system/coredns-6d4b75cb6d-8vzlm container coredns is not ready: "
                                  "CrashLoopBackOff (restarts 14); "
                                  "pod kube-system/cinder-csi-nodeplugin-7n2qs is Pending")


def test_empty_namespace_fails():
    assert kos_verify.pods_running({"items": []})["message"] == "namespace kube-system has no pods"


def test_coredns_pod_ips_come_from_the_pods():
    assert kos_verify.pod_ips(recorded("kubectl_get_pods_kube_system.json")) == ["10.244.1.5", "10.244.2.7"]
    assert kos_verify.pod_ips(recorded("kubectl_get_pods_kube_system_crashloop.json")) == ["10.244.1.5"]


NAME = "kubernetes.default.svc.cluster.local"


def test_dns_answer_with_the_api_service_ip_passes():
    outcome = kos_verify.dns_answers(recorded("dig_kubernetes_default_ok.txt"), NAME, "10.96.0.1", "10.96.0.10")
    assert outcome["ok"], outcome


@pytest.mark.parametrize("fixture, expected, message", [
    ("dig_kubernetes_default_nxdomain.txt", "10.96.0.1", "DNS server 10.96.0.10 answered NXDOMAIN for " + NAME),
    ("dig_timeout.txt", "10.96.0.1",
     "no answer from the DNS server 10.96.0.10 for " + NAME + " (timed out or unreachable)"),
    ("dig_kubernetes_default_ok.txt", "10.96.0.2", "DNS server 10.96.0.10 answered ['10.96.0.1'] for " + NAME
     + ", expected 10.96.0.2"),
])
def test_dns_failures_say_what_happened(fixture, expected, message):
    outcome = kos_verify.dns_answers(recorded(fixture), NAME, expected, "10.96.0.10")
    assert not outcome["ok"] and outcome["message"] == message


def test_bound_pvc_on_the_default_class_passes():
    outcome = kos_verify.pvc_bound(recorded("kubectl_get_pvc_bound.json"), recorded("kubectl_get_storageclasses.json"))
    assert outcome["ok"]
    assert outcome["message"] == ("PVC kos-verify Bound on csi-cinder-sc-delete "
                                  "(volume pvc-77aa0c1e-3b1f-4c55-9a0e-2f6d1b7c9e10)")


def test_pending_pvc_and_missing_default_class_fail():
    outcome = kos_verify.pvc_bound(recorded("kubectl_get_pvc_pending.json"),
                                   recorded("kubectl_get_storageclasses_no_default.json"))
    assert outcome["message"] == ('no default StorageClass (annotation storageclass.kubernetes.io/is-default-class='
                                  '"true"); PVC kos-verify is Pending, not Bound')


def test_keystone_token_authenticates_as_the_user():
    review = recorded("kubectl_auth_whoami_keystone_user.json")
    assert kos_verify.whoami(review, "alice")["ok"]
    assert kos_verify.whoami(review, "bob")["message"] == "the token authenticated as 'alice', not 'bob'"
    assert not kos_verify.whoami({}, "alice")["ok"]


def answers(**overrides):
    base = [
        {"verb": "create", "resource": "deployments", "namespace": "demo-project", "expected": True, "answer": "yes"},
        {"verb": "delete", "resource": "pods", "namespace": "demo-project", "expected": True, "answer": "yes"},
        {"verb": "get", "resource": "pods", "namespace": "other-project", "expected": False, "answer": "no"},
        {"verb": "list", "resource": "nodes", "namespace": "", "expected": False, "answer": "no"},
        {"verb": "get", "resource": "secrets", "namespace": "kube-system", "expected": False,
         "answer": "no - RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found"},
    ]
    for index, answer in overrides.items():
        base[int(index[1:])]["answer"] = answer
    return base


def test_exact_namespace_rights_pass():
    outcome = kos_verify.can_i(answers(), "alice", "demo-project")
    assert outcome["ok"] and outcome["message"] == "5 can-i answers as expected"


def test_too_many_and_too_few_rights_fail():
    outcome = kos_verify.can_i(answers(a1="no", a2="yes", a3="yes"), "alice", "demo-project")
    assert outcome["message"] == ("alice may not delete pods in demo-project; alice may get pods in other-project; "
                                  "alice may list nodes in the cluster scope")
    assert "gave ''" in kos_verify.can_i(answers(a0=""), "alice", "demo-project")["message"]


def test_junit_for_jenkins():
    results = [kos_verify.nodes_ready(recorded("kubectl_get_nodes.json"), ["cp1"]),
               kos_verify.pods_running(recorded("kubectl_get_pods_kube_system_crashloop.json"))]
    root = ET.fromstring(kos_verify.junit(results))
    suite = root.find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["every node is Ready", "kube-system pods are Running"]
    assert cases[0].find("failure") is None
    assert "CrashLoopBackOff" in cases[1].find("failure").get("message")


def test_reachability_probe():
    assert kos_verify.reachable("pod IP from tor1", 0, "", "10.244.1.5")["ok"]
    failed = kos_verify.reachable("pod IP from tor1", 1, ";; connection timed out; no servers could be reached\n",
                                  "10.244.1.5")
    assert failed["message"] == "10.244.1.5 is not reachable: ;; connection timed out; no servers could be reached"
