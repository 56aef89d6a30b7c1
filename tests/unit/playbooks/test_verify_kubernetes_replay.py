"""playbooks/verify_kubernetes.yml end to end on RECORDED OUTPUTS (no cluster runs here).

The playbook runs on the controller (ansible_connection=local) against the sample inventory, with
`verify_kubectl` and `verify_dig` pointing at a replay script that prints the recorded-output
fixtures (tests/unit/plugins/module_utils/fixtures/verify/) for the commands the playbook sends.
It is a replay of recorded outputs, not a fake cluster: it tests the playbook's glue (which output
goes to which check, every check runs, the JUnit file, one failure listing every problem).
"""

import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

from ansible_collections.kos.platform.tests.unit.roles.render import TOP

FIXTURES = os.path.join(TOP, "tests", "unit", "plugins", "module_utils", "fixtures", "verify")

REPLAY = """#!/bin/sh
# RECORDED-OUTPUT REPLAY (test only): prints the fixture recorded for the command.
dir='%(fixtures)s'
case "$*" in
  *"get nodes -o json"*) cat "$dir/%(nodes)s" ;;
  *"get pods -n kube-system -o json"*) cat "$dir/kubectl_get_pods_kube_system.json" ;;
  *"get storageclasses -o json"*) cat "$dir/kubectl_get_storageclasses.json" ;;
  *"get pvc kos-verify"*) cat "$dir/kubectl_get_pvc_bound.json" ;;
  *" apply -f -"*) cat >/dev/null; echo "persistentvolumeclaim/kos-verify created" ;;
  *" wait "*) echo "persistentvolumeclaim/kos-verify condition met" ;;
  *"delete namespace"*) echo "namespace \\"kos-verify\\" deleted" ;;
  "@10.96.0.10 kubernetes.default.svc.cluster.local A +time=2 +tries=2") cat "$dir/%(dig)s" ;;
  *"+tcp"*) cat "$dir/dig_kubernetes_default_ok.txt" ;;
  "@10.244.1.5 "*) cat "$dir/dig_kubernetes_default_ok.txt" ;;
  *) echo "replay: no recorded output for: $*" >&2; exit 1 ;;
esac
"""


def run(tmp_path, nodes="kubectl_get_nodes.json", dig="dig_kubernetes_default_ok.txt"):
    script = tmp_path / "replay"
    script.write_text(REPLAY % {"fixtures": FIXTURES, "nodes": nodes, "dig": dig})
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    junit = tmp_path / "verify.xml"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
               ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="default")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", os.path.join(TOP, "inventories", "sample"),
               os.path.join(TOP, "playbooks", "verify_kubernetes.yml"),
               "-e", "ansible_connection=local", "-e", "ansible_become=false",
               "-e", "ansible_python_interpreter=" + sys.executable,
               "-e", "verify_kubectl=%s" % script, "-e", "verify_dig=%s" % script,
               "-e", "verify_junit_file=%s" % junit]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=TOP)
    cases = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            failure = case.find("failure")
            cases[case.get("name")] = failure.get("message") if failure is not None else "ok"
    return done, cases


def test_every_check_reports_and_the_run_fails_once_with_every_problem(tmp_path):
    # The sample model has 6 nodes; the recorded node list holds 3 of them: exactly that fails.
    done, cases = run(tmp_path, dig="dig_kubernetes_default_nxdomain.txt")
    assert done.returncode != 0
    assert cases["every node is Ready"] == ("node cp3 is not registered; node node2 is not registered; "
                                            "node node3 is not registered")
    assert cases["kube-system pods are Running"] == "ok"
    assert cases["a PVC on the default StorageClass binds"] == "ok"
    assert cases["DNS kubernetes.default.svc.cluster.local via 10.96.0.10"] == (
        "DNS server 10.96.0.10 answered NXDOMAIN for kubernetes.default.svc.cluster.local")
    # The first router of the inventory asks (its name is the sample's business, not this test's).
    service = "Service ClusterIP 10.96.0.10 reachable over TCP from "
    assert [v for k, v in cases.items() if k.startswith(service)] == ["ok"]
    assert [v for k, v in cases.items() if k.startswith("pod IP 10.244.1.5 reachable from ")] == ["ok"]
    assert len(cases) == 6
    assert "Kubernetes acceptance checks failed:" in done.stdout
    assert "answered NXDOMAIN" in done.stdout and "node node3 is not registered" in done.stdout
