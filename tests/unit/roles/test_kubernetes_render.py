"""The Kubernetes layers' files, rendered through Ansible for the sample and lab models, validated.

kubeadm, kubelet and the add-on images cannot run on the build machines, so these layers are
checked statically: kubeadm/kubelet/kube-proxy configurations against the JSON schemas in
tests/schemas (the fields kos.platform emits, nothing else allowed), every Kubernetes object with
`kubernetes-validate --strict` for the model's Kubernetes release.
"""

import copy
import glob
import json
import os
import subprocess
import sys

import jsonschema
import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMAS = os.path.join(TOP, "tests", "schemas")
PLAYBOOK = os.path.join(TOP, "tests", "unit", "playbooks", "kubernetes_render.yml")
VALIDATE = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
K8S_VERSION = "1.31.0"  # cluster_kubernetes_version of the sample and lab inventories is 1.31.4


def render(inventory, out, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", os.path.join(TOP, inventory), PLAYBOOK, "-e", "render_root=%s" % out,
           "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable, *extra]
    proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def schema(kind):
    with open(os.path.join(SCHEMAS, kind + ".json")) as handle:
        return json.load(handle)


def documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def schema_errors(doc):
    validator = jsonschema.Draft202012Validator(schema(doc["kind"]))
    return [error.message for error in validator.iter_errors(doc)]


def kubernetes_validate(*paths):
    return subprocess.run([VALIDATE, "--strict", "-k", K8S_VERSION, *paths], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    render("inventories/sample", str(out))
    return out


def test_every_kubeadm_document_matches_its_schema(sample):
    files = glob.glob(str(sample / "*" / "kubeadm-*.yaml"))
    kinds = {}
    for path in files:
        for doc in documents(path):
            assert schema_errors(doc) == [], path
            kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
    # 3 control planes (init file: 4 kinds, control-plane join) and 6 worker joins (node1-3, and none
    # of cp1-3 is in kube_node in the sample).
    assert kinds == {"InitConfiguration": 3, "ClusterConfiguration": 3, "KubeletConfiguration": 3,
                     "KubeProxyConfiguration": 3, "JoinConfiguration": 6}


def test_kubeadm_configuration_follows_the_model(sample):
    init, cluster, kubelet, proxy = documents(str(sample / "cp2" / "kubeadm-init.yaml"))
    assert init["localAPIEndpoint"]["advertiseAddress"] == "192.0.2.12"
    assert cluster["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert cluster["etcd"]["external"]["endpoints"] == [
        "https://192.0.2.11:2379", "https://192.0.2.12:2379", "https://192.0.2.13:2379"]
    assert cluster["networking"] == {"dnsDomain": "cluster.local", "podSubnet": "10.244.0.0/16",
                                     "serviceSubnet": "10.96.0.0/16"}
    for name in ("10.96.0.1", "192.0.2.11", "192.0.2.13", "cp1", "cp3", "kubernetes.default.svc.cluster.local"):
        assert name in cluster["apiServer"]["certSANs"]
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args["authorization-mode"] == "Node,RBAC"
    assert args["authentication-token-webhook-config-file"] == "/etc/kubernetes/keystone/webhook-authn.kubeconfig"
    assert "authorization-policy-file" not in args
    assert cluster["apiServer"]["extraVolumes"][0]["hostPath"] == "/etc/kubernetes/keystone"
    assert init["skipPhases"] == ["addon/coredns"]
    assert kubelet["clusterDNS"] == ["10.96.0.10"] and kubelet["cgroupDriver"] == "systemd"
    assert proxy["clusterCIDR"] == "10.244.0.0/16"


def test_abac_mode_passes_the_policy_file(tmp_path):
    render("inventories/sample", str(tmp_path), "-e", "cluster_authorization_mode=ABAC",
           "-e", '{"cluster_keystone_auth": false}', "--limit", "cp1,cp2,cp3")
    _, cluster, _, _ = documents(str(tmp_path / "cp1" / "kubeadm-init.yaml"))
    assert schema_errors(cluster) == []
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args["authorization-mode"] == "Node,RBAC,ABAC"
    assert args["authorization-policy-file"] == "/etc/kubernetes/keystone/abac-policy.jsonl"
    assert "authentication-token-webhook-config-file" not in args


def test_every_kubernetes_object_passes_kubernetes_validate_strict(sample):
    files = sorted(glob.glob(str(sample / "addons" / "*" / "*.yaml")))
    assert len(files) == 12
    proc = kubernetes_validate(*files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("passed for resource") == 21


def test_dns_service_and_corefile_follow_the_model(sample):
    (service,) = documents(str(sample / "addons" / "coredns" / "service.yaml"))
    assert service["spec"]["clusterIP"] == "10.96.0.10" and service["spec"]["type"] == "ClusterIP"
    (config,) = documents(str(sample / "addons" / "coredns" / "configmap.yaml"))
    corefile = config["data"]["Corefile"]
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in corefile
    assert "forward . 192.0.2.53 192.0.2.54 {" in corefile
    (storage,) = documents(str(sample / "addons" / "openstack" / "storageclass.yaml"))
    assert storage["parameters"] == {"type": "ssd"}
    (controller,) = documents(str(sample / "addons" / "openstack" / "csi-controller.yaml"))
    names = [c["name"] for c in controller["spec"]["template"]["spec"]["containers"]]
    # No snapshotter unless asked for: it needs the VolumeSnapshot CRDs, which the cluster lacks by default.
    assert names == ["csi-provisioner", "csi-attacher", "csi-resizer", "liveness-probe", "cinder-csi-plugin"]
    assert oct(os.stat(sample / "addons" / "openstack" / "cloud-config-secret.yaml").st_mode & 0o777) == "0o600"


def test_schemas_catch_a_bad_value(sample):
    init, cluster, kubelet, _ = documents(str(sample / "cp1" / "kubeadm-init.yaml"))
    bad = copy.deepcopy(kubelet)
    bad["cgroupDriver"] = "cgroupfs"
    assert any("systemd" in message for message in schema_errors(bad))
    bad = copy.deepcopy(cluster)
    bad["networking"]["podSubnet"] = "10.244.0.0"
    assert schema_errors(bad)
    bad = copy.deepcopy(cluster)
    bad["apiServer"]["extraArg"] = bad["apiServer"].pop("extraArgs")  # a typo kubeadm would ignore
    assert schema_errors(bad)
    (join,) = documents(str(sample / "node1" / "kubeadm-join.yaml"))
    bad = copy.deepcopy(join)
    bad["discovery"]["bootstrapToken"]["token"] = "not-a-token"
    assert schema_errors(bad)


def test_kubernetes_validate_catches_a_bad_object(sample, tmp_path):
    (deployment,) = documents(str(sample / "addons" / "coredns" / "deployment.yaml"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    deployment["spec"]["replica"] = 2
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(deployment))
    proc = kubernetes_validate(str(path))
    assert proc.returncode != 0
    assert "replica" in proc.stdout + proc.stderr


def test_lab_without_mirror_renders_then_skips_each_layer_once(tmp_path):
    proc = render("inventories/lab", str(tmp_path), "-e", "run_gate=true")
    for role in ("kubernetes_control_plane", "coredns", "openstack_cloud_provider"):
        lines = [line for line in proc.stdout.splitlines() if "SKIPPED LAYER %s: " % role in line]
        assert len(lines) == 1, proc.stdout[-3000:]
    assert "cluster_artifact_mirror" in proc.stdout
    # Rendered before the gate: the lab still produces the files, and they validate.
    for doc in documents(str(tmp_path / "kos-lab-cp1" / "kubeadm-init.yaml")):
        assert schema_errors(doc) == []
    # Every lab host is control plane and worker: no control-plane taint.
    assert documents(str(tmp_path / "kos-lab-cp1" / "kubeadm-init.yaml"))[0]["nodeRegistration"]["taints"] == []
    assert kubernetes_validate(*glob.glob(str(tmp_path / "addons" / "*" / "*.yaml"))).returncode == 0
