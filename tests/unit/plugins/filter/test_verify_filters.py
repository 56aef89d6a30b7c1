"""The filters playbooks/verify_kubernetes.yml uses: the shapes Ansible hands them (registered results)."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter.verify import verify_check, verify_junit
from ansible_collections.kos.platform.tests.unit.plugins.module_utils.test_kos_verify import recorded


def open_text(name):
    return json.dumps(recorded(name))


def test_nodes_from_the_stdout_text():
    outcome = verify_check(open_text("kubectl_get_nodes.json"), "nodes_ready", ["cp1", "cp2", "node1"])
    assert outcome["ok"]


def test_unparsable_output_is_a_failed_check_not_a_traceback():
    outcome = verify_check("error: the server doesn't have a resource type", "nodes_ready", ["cp1"])
    assert not outcome["ok"] and outcome["message"] == "node cp1 is not registered"


def test_can_i_from_a_registered_loop():
    registered = [
        {"item": {"verb": "create", "resource": "pods", "namespace": "demo", "expected": True},
         "stdout": "yes", "rc": 0},
        {"item": {"verb": "list", "resource": "nodes", "namespace": "", "expected": False}, "stdout": "yes", "rc": 0},
    ]
    outcome = verify_check(registered, "can_i", "alice", "demo")
    assert outcome["message"] == "alice may list nodes in the cluster scope"


def test_reachable_from_a_registered_command():
    outcome = verify_check({"rc": 9, "stdout": "", "stderr": ";; communications error to 10.96.0.10#53: timed out"},
                           "reachable", "Service ClusterIP", "10.96.0.10:53/tcp")
    assert outcome["message"] == ("10.96.0.10:53/tcp is not reachable: "
                                  ";; communications error to 10.96.0.10#53: timed out")


def test_pvc_and_pod_ips():
    assert verify_check(open_text("kubectl_get_pvc_bound.json"), "pvc_bound",
                        open_text("kubectl_get_storageclasses.json"))["ok"]
    assert verify_check(open_text("kubectl_get_pods_kube_system.json"), "pod_ips") == ["10.244.1.5", "10.244.2.7"]


def test_unknown_check_is_named():
    with pytest.raises(AnsibleFilterError, match="unknown check 'nodes'"):
        verify_check("", "nodes")


def test_junit_filter():
    assert verify_junit([verify_check("{}", "nodes_ready", ["cp1"])]).count("<failure") == 1
