"""On lab hosts without an artifact mirror: the files are rendered on the hosts, nothing is installed."""

import testinfra
import yaml

CP = "docker://k8s-cp-1"
NODE = "docker://k8s-node-1"
testinfra_hosts = [CP, NODE]


def test_control_plane_kubeadm_configuration_follows_the_model():
    # Once, on the control plane (an early return on the other host used to report a PASSED test there).
    host = testinfra.get_host(CP)
    config = host.file("/etc/kubernetes/kos/kubeadm-init.yaml")
    assert config.mode == 0o640 and config.user == "root"
    init, cluster, kubelet, proxy = [d for d in yaml.safe_load_all(config.content_string) if d]
    assert init["localAPIEndpoint"]["advertiseAddress"] == "198.18.1.121"
    assert cluster["etcd"]["external"]["endpoints"] == ["https://198.18.1.121:2379"]
    args = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert args["authorization-mode"] == "Node,RBAC,ABAC"
    assert args["authorization-policy-file"] == "/etc/kubernetes/keystone/abac-policy.jsonl"
    assert kubelet["clusterDNS"] == ["10.96.0.10"]
    assert proxy["mode"] == "iptables"
    assert host.file("/etc/kubernetes/kos/addons/coredns/service.yaml").contains("clusterIP: 10.96.0.10")
    secret = host.file("/etc/kubernetes/kos/addons/openstack/cloud-config-secret.yaml")
    assert secret.mode == 0o600


def test_kubelet_unit_is_rendered_everywhere(host):
    assert host.file("/etc/systemd/system/kubelet.service").contains("ExecStart=/usr/local/bin/kubelet")
    assert host.file("/etc/systemd/system/kubelet.service.d/10-kubeadm.conf").contains("kubeadm-flags.env")


def test_gate_installed_and_joined_nothing(host):
    for binary in ("kubeadm", "kubelet", "kubectl"):
        assert not host.file("/usr/local/bin/" + binary).exists
    assert not host.file("/etc/kubernetes/kubelet.conf").exists
    assert not host.file("/etc/kubernetes/kos/kubeadm-join.yaml").exists
