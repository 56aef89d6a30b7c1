"""The Kubernetes layers' files, rendered through Ansible for the sample and lab models, validated.

kubeadm, kubelet and the add-on images cannot run on the build machines, so these layers are
checked statically against upstream's own rules:
- kubeadm/kubelet/kube-proxy configurations against the strict per-apiVersion schemas in
  tests/schemas, generated from upstream's Go types (tests/unit/upstream/config_types.py names the
  kubernetes/kubernetes file and commit of each);
- kubeadm's validation and flag rules (tests/unit/upstream/kubeadm_rules.py: validation.go's
  ValidateMixedArguments/isAllowedFlag, ValidateClusterConfiguration, ValidateJoinConfiguration,
  ValidateEtcd ..., release-1.35 line) and the component flag names (component_flags.py);
- every Kubernetes object with `kubernetes-validate --strict` for the model's Kubernetes release.
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

from tests.unit.upstream import component_flags, kubeadm_rules

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMAS = os.path.join(TOP, "tests", "schemas")
PLAYBOOK = os.path.join(TOP, "tests", "unit", "playbooks", "kubernetes_render.yml")
VALIDATE = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
ROLES = os.path.join(TOP, "roles")
SAMPLE_CONTROL_PLANES = ["192.0.2.11", "192.0.2.12", "192.0.2.13"]


def sample_kubernetes_minor():
    """kubernetes-validate's schema release: the sample model's Kubernetes minor."""
    with open(os.path.join(TOP, "inventories", "sample", "group_vars", "all", "cluster.yml")) as handle:
        version = str(yaml.safe_load(handle)["cluster_kubernetes_version"])
    return ".".join(version.split(".")[:2]) + ".0"


K8S_VERSION = sample_kubernetes_minor()


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


def schema(api_version, kind):
    with open(os.path.join(SCHEMAS, api_version.replace("/", "_"), kind + ".json")) as handle:
        return json.load(handle)


def documents(path):
    with open(path) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def schema_errors(doc):
    validator = jsonschema.Draft202012Validator(schema(doc["apiVersion"], doc["kind"]))
    return [error.message for error in validator.iter_errors(doc)]


def kubernetes_validate(*paths):
    return subprocess.run([VALIDATE, "--strict", "-k", K8S_VERSION, *paths], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    render("inventories/sample", str(out))
    return out


def control_planes(sample):
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(str(sample / "*" / "kubeadm-init.yaml")))


def arg_map(items):
    return kubeadm_rules.args(items, "extraArgs")


def test_every_kubeadm_document_matches_its_upstream_schema(sample):
    files = glob.glob(str(sample / "*" / "kubeadm-*.yaml"))
    kinds = {}
    for path in files:
        for doc in documents(path):
            assert schema_errors(doc) == [], path
            kinds[doc["kind"]] = kinds.get(doc["kind"], 0) + 1
    # 3 control planes (init file: 4 kinds; upload-certs file: 4 kinds; control-plane join) and 3 worker
    # joins (node1-3; none of cp1-3 is in kube_node in the sample).
    assert kinds == {"InitConfiguration": 6, "ClusterConfiguration": 6, "KubeletConfiguration": 6,
                     "KubeProxyConfiguration": 6, "JoinConfiguration": 6}


def test_every_kubeadm_document_passes_kubeadms_validation(sample):
    checked = 0
    for path in glob.glob(str(sample / "*" / "kubeadm-*.yaml")):
        for doc in documents(path):
            if doc["kind"] == "InitConfiguration":
                assert kubeadm_rules.init_configuration_errors(doc) == [], path
            elif doc["kind"] == "ClusterConfiguration":
                assert kubeadm_rules.cluster_configuration_errors(doc) == [], path
            elif doc["kind"] == "JoinConfiguration":
                assert kubeadm_rules.join_configuration_errors(doc) == [], path
            else:
                continue
            checked += 1
    assert checked == 18


def test_kubeadm_command_lines_mix_config_only_with_allowed_flags(sample):
    """Defect 1: kubeadm refuses --certificate-key next to --config (isAllowedFlag); the key is in the
    0600 upload-certs / join configuration instead, never on a command line."""
    planes = control_planes(sample)
    for host in planes:
        with open(sample / host / "commands.json") as handle:
            commands = json.load(handle)
        commands.pop("model_api")
        assert set(commands) == {"init", "upload-certs", "join"}
        for name, argv in commands.items():
            assert kubeadm_rules.command_line_errors(argv) == [], (host, name, argv)
            assert any(word.startswith("--config=") for word in argv)
        (upload_init, _, _, _) = documents(str(sample / host / "kubeadm-upload-certs.yaml"))
        assert upload_init["certificateKey"] == "b" * 64
        assert kubeadm_rules.init_configuration_errors(upload_init) == []
        assert oct(os.stat(sample / host / "kubeadm-upload-certs.yaml").st_mode & 0o777) == "0o600"
        (join,) = documents(str(sample / host / "kubeadm-join-control-plane.yaml"))
        assert join["controlPlane"]["certificateKey"] == "a" * 64
        # The kept configuration (0640, read by operators) holds no secret.
        assert "certificateKey" not in documents(str(sample / host / "kubeadm-init.yaml"))[0]
    for path in glob.glob(str(sample / "*" / "node-commands.json")):
        with open(path) as handle:
            assert kubeadm_rules.command_line_errors(json.load(handle)["join"]) == [], path
    assert len(planes) == 3


def test_per_node_values_are_only_in_the_local_sections(sample):
    """Defect 2: ClusterConfiguration is cluster-wide (one copy in the kubeadm-config ConfigMap), so every
    control plane renders the same one; each node's address, port, name and taints are in
    InitConfiguration / JoinConfiguration.controlPlane localAPIEndpoint and nodeRegistration."""
    clusters = {}
    for host in control_planes(sample):
        init, cluster, _, _ = documents(str(sample / host / "kubeadm-init.yaml"))
        (join,) = documents(str(sample / host / "kubeadm-join-control-plane.yaml"))
        clusters[host] = cluster
        address = {"cp1": "192.0.2.11", "cp2": "192.0.2.12", "cp3": "192.0.2.13"}[host]
        assert init["localAPIEndpoint"] == {"advertiseAddress": address, "bindPort": 6443}
        assert join["controlPlane"]["localAPIEndpoint"] == {"advertiseAddress": address, "bindPort": 6443}
        for registration in (init["nodeRegistration"], join["nodeRegistration"]):
            assert registration["name"] == host
            assert arg_map(registration["kubeletExtraArgs"])["node-ip"] == address
        assert not kubeadm_rules.PER_NODE_APISERVER_FLAGS & set(arg_map(cluster["apiServer"]["extraArgs"]))
    assert clusters["cp1"] == clusters["cp2"] == clusters["cp3"]


def test_control_plane_endpoint_is_the_model_api_endpoint(sample):
    """Defect 3: controlPlaneEndpoint, and every join's discovery endpoint, is the model's API endpoint
    (kos_cluster.api: HA virtual IP, load balancer or local proxy), never one control plane's address."""
    with open(sample / "cp1" / "commands.json") as handle:
        api = json.load(handle)["model_api"]
    endpoints = {api.get("control_plane_endpoint", "%s:%s" % (api["endpoint"], api["port"]))}
    for host in control_planes(sample):
        cluster = documents(str(sample / host / "kubeadm-init.yaml"))[1]
        assert kubeadm_rules.control_plane_endpoint_errors(cluster, SAMPLE_CONTROL_PLANES) == []
        endpoints.add(cluster["controlPlaneEndpoint"])
    for path in glob.glob(str(sample / "*" / "kubeadm-join*.yaml")):
        (join,) = documents(path)
        endpoints.add(join["discovery"]["bootstrapToken"]["apiServerEndpoint"])
    assert len(endpoints) == 1, endpoints


def load_tasks(path):
    with open(path) as handle:
        tasks = yaml.safe_load(handle) or []
    flat = []
    for task in tasks:
        flat.append(task)
        for key in ("block", "rescue", "always"):
            flat += task.get(key, [])
    return flat


def command_text(task):
    module = task.get("ansible.builtin.command") or {}
    return " ".join(module.get("argv") if isinstance(module.get("argv"), list) else [str(module)])


def test_kubeadm_tasks_show_their_output_and_no_secret():
    """Defect 4: kubeadm init / join / upload-certs run without no_log (their command lines and output
    carry no secret); a task that must hide its output (token create) registers it, cannot fail
    silently, and is followed by a task that fails with its stderr, secrets masked."""
    files = glob.glob(os.path.join(ROLES, "kubernetes_control_plane", "tasks", "*.yml")) + glob.glob(
        os.path.join(ROLES, "kubernetes_node", "tasks", "*.yml"))
    kubeadm_runs = 0
    for path in files:
        tasks = load_tasks(path)
        for index, task in enumerate(tasks):
            if "ansible.builtin.command" not in task:
                continue
            text = command_text(task)
            assert "--certificate-key" not in text and "--token" not in text, (path, task["name"])
            words = text.replace("=", " ").split()
            runs_kubeadm = any(w.endswith(("_init_argv", "_join_argv", "_upload_certs_argv")) for w in words) or (
                "kubeadm" in text and ("init" in words or "join" in words))
            if runs_kubeadm:
                kubeadm_runs += 1
                assert not task.get("no_log"), (path, task["name"])
            if task.get("no_log"):
                register = task["register"]
                assert task.get("failed_when") is False, (path, task["name"])
                reporter = tasks[index + 1]
                assert "ansible.builtin.fail" in reporter, (path, task["name"])
                assert register + ".stderr" in reporter["ansible.builtin.fail"]["msg"]
                assert "regex_replace" in reporter["ansible.builtin.fail"]["msg"]
                assert register + ".rc" in reporter["when"]
    assert kubeadm_runs == 4  # init, upload-certs, control-plane join, worker join


def test_component_flags_are_real_upstream_flags(sample):
    for host in control_planes(sample):
        init, cluster, _, _ = documents(str(sample / host / "kubeadm-init.yaml"))
        apiserver = arg_map(cluster["apiServer"]["extraArgs"])
        assert component_flags.unknown_flag_errors("apiServer", apiserver) == []
        assert component_flags.apiserver_authorization_errors(apiserver) == []
        assert component_flags.unknown_flag_errors(
            "controllerManager", arg_map(cluster["controllerManager"]["extraArgs"])) == []
        assert component_flags.unknown_flag_errors(
            "kubelet", arg_map(init["nodeRegistration"]["kubeletExtraArgs"])) == []
    for path in glob.glob(str(sample / "node*" / "kubeadm-join.yaml")):
        (join,) = documents(path)
        assert component_flags.unknown_flag_errors(
            "kubelet", arg_map(join["nodeRegistration"]["kubeletExtraArgs"])) == []


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
    args = arg_map(cluster["apiServer"]["extraArgs"])
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
    args = arg_map(cluster["apiServer"]["extraArgs"])
    assert component_flags.apiserver_authorization_errors(args) == []
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
    assert sorted(names) == ["cinder-csi-plugin", "csi-attacher", "csi-provisioner", "csi-resizer", "liveness-probe"]
    assert oct(os.stat(sample / "addons" / "openstack" / "cloud-config-secret.yaml").st_mode & 0o777) == "0o600"


def test_schemas_and_rules_catch_a_bad_value(sample):
    init, cluster, kubelet, _ = documents(str(sample / "cp1" / "kubeadm-init.yaml"))
    bad = copy.deepcopy(cluster)
    bad["apiServer"]["extraArg"] = bad["apiServer"].pop("extraArgs")  # a typo kubeadm would ignore
    assert schema_errors(bad)
    bad = copy.deepcopy(cluster)
    bad["apiServer"]["extraArgs"] = arg_map(bad["apiServer"]["extraArgs"])  # the v1beta3 shape in v1beta4
    assert schema_errors(bad)
    bad = copy.deepcopy(kubelet)
    bad["authentication"]["x509"]["clientCaFile"] = bad["authentication"]["x509"].pop("clientCAFile")
    assert schema_errors(bad)
    bad = copy.deepcopy(cluster)
    bad["networking"]["podSubnet"] = "10.244.0.0"
    assert kubeadm_rules.cluster_configuration_errors(bad)
    (join,) = documents(str(sample / "node1" / "kubeadm-join.yaml"))
    bad = copy.deepcopy(join)
    bad["discovery"]["bootstrapToken"]["token"] = "not-a-token"
    assert kubeadm_rules.join_configuration_errors(bad)


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
    lab_cluster = documents(str(tmp_path / "kos-lab-cp1" / "kubeadm-init.yaml"))[1]
    assert kubeadm_rules.cluster_configuration_errors(lab_cluster) == []
    assert kubeadm_rules.control_plane_endpoint_errors(lab_cluster, ["198.18.0.11", "198.18.0.12", "198.18.0.13"]) == []
    # Every lab host is control plane and worker: no control-plane taint.
    assert documents(str(tmp_path / "kos-lab-cp1" / "kubeadm-init.yaml"))[0]["nodeRegistration"]["taints"] == []
    assert kubernetes_validate(*glob.glob(str(tmp_path / "addons" / "*" / "*.yaml"))).returncode == 0
