"""The calico role run through Ansible on the sample model: resources built as data, validated,
rendered, then the artifact gate. Calico cannot run on the build machines (no images), so this
layer is checked statically: Calico resources against the JSON schemas of the CRD fields we emit
(roles/calico/files/schemas), core objects with `kubernetes-validate --strict`."""

import glob
import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_versions

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMAS = os.path.join(TOP, "roles", "calico", "files", "schemas")
PLAYBOOK = os.path.join(TOP, "tests", "unit", "playbooks", "calico_render.yml")
VALIDATE = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
# The sample inventory's cluster_kubernetes_version picks the Calico release and the schema minor.
VERSIONS = kos_versions.for_kubernetes(yaml.safe_load(open(os.path.join(
    TOP, "inventories", "sample", "group_vars", "all", "cluster.yml"), encoding="utf-8"))["cluster_kubernetes_version"])
K8S = VERSIONS["minor"] + ".0"  # kubernetes-validate holds one schema set per minor (x.y.0)


def run(out, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", os.path.join(TOP, "inventories", "sample"), PLAYBOOK,
           "-e", "render_root=%s" % out, "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable, *extra]
    return subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=300)


def documents(path):
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def schema_errors(doc):
    with open(os.path.join(SCHEMAS, doc["kind"] + ".json"), encoding="utf-8") as handle:
        validator = jsonschema.Draft202012Validator(json.load(handle))
    return [error.message for error in validator.iter_errors(doc)]


@pytest.fixture(scope="module")
def per_rack(tmp_path_factory):
    """The sample model (data-centre layout: per-rack AS, two routers per rack, no mesh), with a
    TCP-MD5 password on the routers."""
    out = tmp_path_factory.mktemp("calico")
    proc = run(str(out), "-e", "bgp_router_password=not-a-real-secret")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out, proc.stdout


def test_every_calico_resource_matches_its_schema(per_rack):
    out, _ = per_rack
    docs = documents(str(out / "calico-resources.yaml"))
    for doc in docs:
        assert schema_errors(doc) == [], doc
    kinds = [d["kind"] for d in docs]
    # per_node pools: one per Kubernetes host of the sample (3 control planes, 3 workers)
    assert kinds == ["IPPool"] * 6 + ["BGPConfiguration"] + ["BGPPeer"] * 6


def test_resources_follow_the_model(per_rack):
    out, _ = per_rack
    docs = documents(str(out / "calico-resources.yaml"))
    pools = [d for d in docs if d["kind"] == "IPPool"]
    assert {p["spec"]["ipipMode"] for p in pools} == {"Never"} and {p["spec"]["vxlanMode"] for p in pools} == {"Never"}
    assert {p["spec"]["blockSize"] for p in pools} == {24}
    assert all(p["spec"]["cidr"].startswith("10.244.") and p["spec"]["cidr"].endswith("/24") for p in pools)
    assert len({p["spec"]["cidr"] for p in pools}) == 6
    config = [d for d in docs if d["kind"] == "BGPConfiguration"][0]["spec"]
    assert config["asNumber"] == 64512 and config["nodeToNodeMeshEnabled"] is False
    assert config["serviceClusterIPs"] == [{"cidr": "10.96.0.0/16"}]
    assert config["serviceExternalIPs"] == [{"cidr": "198.51.100.0/26"}]
    assert config["serviceLoadBalancerIPs"] == [{"cidr": "198.51.100.64/26"}]
    peers = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "BGPPeer"}
    # Each rack's nodes peer with its two routers; rack mates share an AS, so their blocks come back
    # through the routers with the node's own AS in the path: allowed once.
    assert peers["kos-router-tor1a"] == {"peerIP": "192.0.2.101", "asNumber": 65001, "maxRestartTime": "120s",
                                         "numAllowedLocalASNumbers": 1,
                                         "nodeSelector": "kos.platform/rack in { 'rack1' }", "password": {
                                             "secretKeyRef": {"name": "calico-bgp-passwords", "key": "tor1a"}}}
    assert peers["kos-router-tor3b"]["nodeSelector"] == "kos.platform/rack in { 'rack3' }"
    assert peers["kos-router-tor3b"]["password"] == {"secretKeyRef": {"name": "calico-bgp-passwords", "key": "tor3b"}}
    nodes = {d["metadata"]["name"]: d["metadata"] for d in documents(str(out / "node-patches.yaml"))}
    assert nodes["node2"] == {"name": "node2", "labels": {"kos.platform/rack": "rack2"},
                              "annotations": {"projectcalico.org/ASNumber": "64602"}}


def test_core_objects_pass_kubernetes_validate_strict(per_rack):
    out, _ = per_rack
    secret_file = out / "bgp-passwords.yaml"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    kinds = [d["kind"] for d in documents(str(secret_file))]
    assert kinds == ["Secret", "Role", "RoleBinding"]
    assert sorted(documents(str(secret_file))[0]["stringData"]) == [
        "tor1a", "tor1b", "tor2a", "tor2b", "tor3a", "tor3b"]
    proc = subprocess.run([VALIDATE, "--strict", "-k", K8S, str(secret_file), str(out / "node-patches.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_kubernetes_validate_strict_catches_an_unknown_field(per_rack, tmp_path):
    out, _ = per_rack
    docs = documents(str(out / "node-patches.yaml"))
    docs[0]["metadata"]["labelz"] = {"x": "y"}
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all(docs))
    proc = subprocess.run([VALIDATE, "--strict", "-k", K8S, str(broken)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0


def test_secret_never_reaches_the_log(per_rack):
    _, stdout = per_rack
    assert "not-a-real-secret" not in stdout


def test_gate_names_the_missing_cluster(per_rack):
    text = " ".join(per_rack[1].split())
    assert "SKIPPED LAYER calico: no cluster:" in text and "admin.conf is missing" in text


def test_gate_names_the_missing_mirror(tmp_path):
    proc = run(str(tmp_path), "-e", "cluster_artifact_mirror=")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "SKIPPED LAYER calico: Calico %s (calico.yaml, calicoctl, images) needs an artifact mirror; set " \
        "cluster_artifact_mirror" % VERSIONS["calico"] in " ".join(proc.stdout.split())
    assert sorted(os.path.basename(p) for p in glob.glob(str(tmp_path / "*.yaml"))) == [
        "calico-resources.yaml", "node-patches.yaml"]


def test_invalid_options_stop_before_anything_is_written(tmp_path):
    proc = run(str(tmp_path), "-e", '{"calico_route_reflectors": ["node1"], "cluster_node_to_node_mesh": true}')
    assert proc.returncode != 0
    assert "route reflectors replace the full mesh; set cluster_node_to_node_mesh to false" in proc.stdout
    assert glob.glob(str(tmp_path / "*.yaml")) == []
