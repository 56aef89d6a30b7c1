"""roles/kubernetes_control_plane/tasks/reconfigure.yml run for real by ansible-playbook on this host: three
control planes (cp1-3 on 127.0.0.1-3, each with its own scratch configuration and manifest directory) after
the etcd member 127.0.0.9 was replaced by cp3. kubeadm, crictl and kube-apiserver's /readyz cannot run here,
so they are STAND-INS (mocks, named as such: tests/unit/roles/control_plane_standins.py) that log every call.

Held to upstream (kubernetes/kubernetes; no file of the v1.37.1 tag the role deploys, kos_versions.DEFAULT_VERSION,
is in the upstream index, so these are the newest versions read there):
- which flags the two phases accept: getUploadConfigPhaseFlags (cmd/kubeadm/app/cmd/phases/init/uploadconfig.go
  @ 819ecd4dbe6afbaa4f6227d22b9c46938d48e603) and getControlPlanePhaseFlags("apiserver") (controlplane.go
  @ cb6ff2d8ce3595f88570f82c7d0e6d98910afd3c), and which of them may stand next to --config: isAllowedFlag
  (cmd/kubeadm/app/apis/kubeadm/validation/validation.go @ 00d24de699fe); all in tests/unit/upstream/kubeadm_rules.py;
- what they read: the control-plane phase takes ClusterConfiguration and InitConfiguration.localAPIEndpoint
  (runControlPlaneSubphase -> CreateStaticPodFiles), so --advertise-address is the node's own address only when
  the file carries that node's InitConfiguration (an empty one is replaced by the default route's interface,
  SetAPIEndpointDynamicDefaults); upload-config kubeadm uploads only the ClusterConfiguration;
- the etcd flags the manifest carries: getAPIServerCommand (cmd/kubeadm/app/phases/controlplane/manifests.go
  @ ad7cb45bb24a21d7f391c10985d0af850471f426), as the kubeadm stand-in writes them;
- the order: ConfigMap, then one control plane at a time ("Reconfiguring a kubeadm cluster", kubernetes/website
  content/en/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure.md).
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
import yaml

from tests.unit.roles import control_plane_standins as standins
from tests.unit.upstream import kubeadm_rules

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOK = os.path.join(HERE, "kubernetes_control_plane_reconfigure.yml")
NODES = {"cp1": "127.0.0.1", "cp2": "127.0.0.2", "cp3": "127.0.0.3"}
WANTED = ",".join("https://%s:2379" % ip for ip in NODES.values())
# Before the replacement: the lost member 127.0.0.9 instead of cp3.
OLD = "https://127.0.0.1:2379,https://127.0.0.2:2379,https://127.0.0.9:2379"
ETCD_CA = "/etc/kubernetes/pki/etcd/ca.crt"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*argv):
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    base = tmp_path_factory.mktemp("reconfigure")
    pki, bin_dir = base / "pki", base / "bin"
    pki.mkdir()
    bin_dir.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(pki / "ca.key"), "-out", str(pki / "ca.crt"), "-days", "1", "-subj", "/CN=kos-test-ca")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            str(pki / "readyz.key"), "-out", str(pki / "readyz.csr"), "-subj", "/CN=kube-apiserver")
    (pki / "san.ext").write_text("subjectAltName=" + ",".join("IP:" + ip for ip in NODES.values()) + "\n")
    openssl("x509", "-req", "-in", str(pki / "readyz.csr"), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
            "-CAcreateserial", "-out", str(pki / "readyz.crt"), "-days", "1", "-extfile", str(pki / "san.ext"))
    script = os.path.join(HERE, "control_plane_standins.py")
    for tool in ("kubeadm", "crictl"):
        (bin_dir / tool).write_text('#!/bin/sh\nKOS_STANDIN_ROOT="%s" exec "%s" "%s" %s "$@"\n'
                                    % (base, sys.executable, script, tool))
        (bin_dir / tool).chmod(0o755)
    port = free_port()
    hosts = {name: {"node_ip": ip,
                    "kubernetes_control_plane_config_dir": str(base / name / "kos"),
                    "kubernetes_control_plane_manifest_dir": str(base / name / "manifests"),
                    "kubernetes_node_unit_dir": str(base / name / "systemd")} for name, ip in NODES.items()}
    inventory = {"all": {
        "vars": {"cluster_name": "kos-reconfigure", "cluster_node_cidr": "127.0.0.0/24",
                 "cluster_pod_cidr": "10.244.0.0/16", "cluster_pod_block_prefix": 24,
                 "cluster_service_cidr": "10.96.0.0/16", "cluster_as_number": 64512, "cluster_artifact_mirror": "",
                 "cluster_node_to_node_mesh": True, "cluster_api_port": port,
                 "kubernetes_control_plane_pki_dir": str(pki), "kubernetes_control_plane_bin_dir": str(bin_dir),
                 "kubernetes_control_plane_reconfigure_timeout": 2,
                 "ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"etcd": {"hosts": hosts}, "kube_control_plane": {"hosts": {name: {} for name in NODES}},
                     "kube_node": {"hosts": {}}}}}
    (base / "hosts.yml").write_text(yaml.safe_dump(inventory))
    server = subprocess.Popen([sys.executable, script, "readyz", str(port)],
                              env=dict(os.environ, KOS_STANDIN_ROOT=str(base)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _attempt in range(100):
            if (base / "readyz.ready").exists() or server.poll() is not None:
                break
            time.sleep(0.1)
        assert (base / "readyz.ready").exists(), "the /readyz stand-in did not start: %s" % server.stderr.read()
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def api_port(root):
    with open(root / "hosts.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["all"]["vars"]["cluster_api_port"]


def manifest(ip, port, servers, etcd_ca=ETCD_CA):
    """kube-apiserver.yaml as kubeadm init/join wrote it (getAPIServerCommand) with the given etcd flags."""
    init = {"localAPIEndpoint": {"advertiseAddress": ip, "bindPort": port}}
    cluster = {"certificatesDir": "/etc/kubernetes/pki", "networking": {"serviceSubnet": "10.96.0.0/16"},
               "etcd": {"external": {"endpoints": servers.split(","), "caFile": etcd_ca,
                                     "certFile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                                     "keyFile": "/etc/kubernetes/pki/apiserver-etcd-client.key"}}}
    return yaml.safe_dump(standins.apiserver_manifest(init, cluster))


def reset(root, servers):
    """servers: {node: etcd-servers of its manifest}; cp3's also names the old etcd CA file when not WANTED."""
    for name in ("events.log", "kubeadm-config.yaml", "readyz-fail", "kubeadm-fail"):
        if (root / name).exists():
            (root / name).unlink()
    (root / "container").write_text("a1\n")
    for name, ip in NODES.items():
        (root / name / "manifests").mkdir(parents=True, exist_ok=True)
        etcd_ca = "/etc/kubernetes/pki/etcd/old-ca.crt" if name == "cp3" and servers[name] != WANTED else ETCD_CA
        (root / name / "manifests" / "kube-apiserver.yaml").write_text(
            manifest(ip, api_port(root), WANTED if etcd_ca != ETCD_CA else servers[name], etcd_ca))


def run(root, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1",
               PATH=str(root / "bin") + os.pathsep + os.environ["PATH"])
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(root / "hosts.yml"),
           PLAYBOOK, *extra]
    proc = subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def events(root, *tools):
    if not (root / "events.log").exists():
        return []
    with open(root / "events.log", encoding="utf-8") as handle:
        found = [json.loads(line) for line in handle]
    return [e for e in found if not tools or e["tool"] in tools]


def flags_of(root, name):
    with open(root / name / "manifests" / "kube-apiserver.yaml", encoding="utf-8") as handle:
        command = yaml.safe_load(handle)["spec"]["containers"][0]["command"]
    return dict(word[2:].split("=", 1) for word in command[1:])


def drifted(root):
    reset(root, {"cp1": OLD, "cp2": OLD, "cp3": "ca"})


def test_the_phase_command_lines_pass_kubeadms_flag_rules():
    """(d) isAllowedFlag and each phase's InheritFlags: --config alone passes; a per-node flag next to --config,
    or a flag the phase does not define, is refused as kubeadm refuses it."""
    for words in (["init", "phase", "upload-config", "kubeadm"], ["init", "phase", "control-plane", "apiserver"]):
        argv = ["kubeadm", *words, "--config=/etc/kubernetes/kos/kubeadm-init.yaml"]
        assert kubeadm_rules.command_line_errors(argv) == []
    errors = kubeadm_rules.command_line_errors(["kubeadm", "init", "phase", "control-plane", "apiserver", "--config=c",
                                                "--apiserver-advertise-address=127.0.0.2"])
    assert any("can not mix '--config' with arguments ['apiserver-advertise-address']" in e for e in errors)
    errors = kubeadm_rules.command_line_errors(["kubeadm", "init", "phase", "upload-config", "kubeadm", "--config=c",
                                                "--upload-certs"])
    assert errors == ["unknown flag(s) ['upload-certs'] for `kubeadm init phase upload-config kubeadm` "
                      "(its InheritFlags)"]
    assert kubeadm_rules.command_line_errors(["kubeadm", "init", "phase", "upload-config", "kubeadm",
                                              "--kubeconfig=/etc/kubernetes/admin.conf"]) == []


def test_a_replaced_member_regenerates_each_api_server_in_turn(root):
    """(b) upload-config once, then control-plane apiserver once per control plane in inventory order, each
    reading its own node's configuration, each followed by that node's /readyz before the next; (d) argv;
    (a) then nothing runs again."""
    drifted(root)
    rc, out = run(root)
    assert rc == 0, out[-6000:]
    steps = [(e["tool"], e.get("node") or e.get("address"), [w for w in e.get("argv", []) if not w.startswith("-")])
             for e in events(root, "kubeadm", "readyz")]
    expected = [("kubeadm", "cp1", ["init", "phase", "upload-config", "kubeadm"])]
    for name, ip in NODES.items():
        expected += [("kubeadm", name, ["init", "phase", "control-plane", "apiserver"]), ("readyz", ip, [])]
    assert steps == expected
    for e in events(root, "kubeadm"):
        # Each control plane's own file: its own InitConfiguration (advertise address and node name).
        assert e["advertise"] == NODES[e["node"]]
        assert e["config"] == str(root / e["node"] / "kos" / "kubeadm-init.yaml")
        assert kubeadm_rules.command_line_errors(["kubeadm", *e["argv"]]) == [], e["argv"]
    for name, ip in NODES.items():
        flags = flags_of(root, name)
        assert (flags["etcd-servers"], flags["etcd-cafile"]) == (WANTED, ETCD_CA)
        assert (flags["advertise-address"], flags["secure-port"]) == (ip, str(api_port(root)))
    with open(root / "kubeadm-config.yaml", encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["etcd"]["external"]["endpoints"] == WANTED.split(",")
    text = " ".join(out.split())
    assert "kube-apiserver on cp1 will be regenerated" in text
    assert "--etcd-servers: running %s, model %s" % (OLD, WANTED) in text
    assert "--etcd-cafile: running /etc/kubernetes/pki/etcd/old-ca.crt, model %s" % ETCD_CA in text

    # (a) Now every manifest names the model's members: the next run calls no kubeadm, no crictl, no
    # /readyz, and changes nothing.
    (root / "events.log").unlink()
    rc, out = run(root)
    assert rc == 0, out[-6000:]
    assert events(root) == []
    recap = [line.split() for line in out.splitlines() if line.startswith(tuple(NODES)) and "changed=" in line]
    assert len(recap) == 3 and all("changed=0" in line for line in recap), recap


def test_check_mode_reports_and_changes_nothing(root):
    """(c) --check names each control plane and flag that would change and runs nothing."""
    drifted(root)
    before = {name: (root / name / "manifests" / "kube-apiserver.yaml").read_text() for name in NODES}
    rc, out = run(root, "--check")
    assert rc == 0, out[-6000:]
    assert events(root) == []
    assert not (root / "kubeadm-config.yaml").exists()
    assert before == {name: (root / name / "manifests" / "kube-apiserver.yaml").read_text() for name in NODES}
    text = " ".join(out.split())
    for name in NODES:
        assert "kube-apiserver on %s would be regenerated" % name in text
    assert "--etcd-servers: running %s, model %s" % (OLD, WANTED) in text
    assert "--etcd-cafile: running /etc/kubernetes/pki/etcd/old-ca.crt" in text


def test_an_api_server_that_does_not_come_back_stops_before_the_next(root):
    """cp2's /readyz answers 500: the play fails naming cp2, and cp3 is left as it was."""
    drifted(root)
    (root / "readyz-fail").write_text("127.0.0.2\n")
    before = (root / "cp3" / "manifests" / "kube-apiserver.yaml").read_text()
    rc, out = run(root)
    assert rc != 0
    text = " ".join(out.split())
    assert "kube-apiserver on cp2 is not back 2 s after kubeadm regenerated" in text
    assert "https://127.0.0.2:%d/readyz answered 500" % api_port(root) in text
    assert [e["node"] for e in events(root, "kubeadm")] == ["cp1", "cp1", "cp2"]
    assert (root / "cp3" / "manifests" / "kube-apiserver.yaml").read_text() == before


def test_a_failing_kubeadm_shows_its_error(root):
    drifted(root)
    (root / "kubeadm-fail").write_text("")
    rc, out = run(root)
    assert rc != 0
    assert "error execution phase control-plane/apiserver: stand-in failure" in out
    assert [e["node"] for e in events(root, "kubeadm")] == ["cp1"]


def test_after_node_remove_takes_an_etcd_member_out_the_api_servers_left_drop_it(root):
    """node_remove.yml's play for the API servers left: the model without cp3 (day2_without), render, reconfigure,
    on cp1 and cp2 only. Their manifests named all three members; after the run they name cp1 and cp2, the
    kubeadm-config ConfigMap too, and cp3 (being removed) is not touched."""
    reset(root, {"cp1": WANTED, "cp2": WANTED, "cp3": WANTED})
    before = (root / "cp3" / "manifests" / "kube-apiserver.yaml").read_text()
    left = "https://127.0.0.1:2379,https://127.0.0.2:2379"
    rc, out = run(root, "-e", json.dumps({"reconfigure_removed": ["cp3"]}))
    assert rc == 0, out[-6000:]
    assert [(e["tool"], e.get("node") or e.get("address")) for e in events(root, "kubeadm", "readyz")] == [
        ("kubeadm", "cp1"), ("kubeadm", "cp1"), ("readyz", "127.0.0.1"), ("kubeadm", "cp2"), ("readyz", "127.0.0.2")]
    for name in ("cp1", "cp2"):
        assert flags_of(root, name)["etcd-servers"] == left
    with open(root / "kubeadm-config.yaml", encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["etcd"]["external"]["endpoints"] == left.split(",")
    assert (root / "cp3" / "manifests" / "kube-apiserver.yaml").read_text() == before
    assert "--etcd-servers: running %s, model %s" % (WANTED, left) in " ".join(out.split())


def test_node_remove_runs_the_same_steps_as_this_test():
    """The play above mirrors playbooks/node_remove.yml's: same model, same role steps, same order."""
    with open(os.path.join(TOP, "playbooks", "node_remove.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    (play,) = [p for p in plays if p.get("hosts") == "node_remove_api_servers"]
    steps = [(list(t)[1], t.get("ansible.builtin.include_role", {}).get("tasks_from")) for t in play["tasks"]]
    assert steps == [("ansible.builtin.set_fact", None), ("ansible.builtin.stat", None),
                     ("ansible.builtin.include_role", "render"), ("ansible.builtin.include_role", "reconfigure")]
    assert "day2_without(hostvars['localhost'].node_remove_plan.hosts)" in play["tasks"][0]["ansible.builtin.set_fact"][
        "kos_cluster"]
