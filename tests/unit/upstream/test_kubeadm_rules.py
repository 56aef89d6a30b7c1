"""The checkers of kubeadm_rules / component_flags against cases taken from upstream's own rules.

Each case names the upstream function it follows (kubernetes/kubernetes
cmd/kubeadm/app/apis/kubeadm/validation/validation.go @ 00d24de699fe4409b5829a5e51b73c1fc7bcba12;
pkg/kubeapiserver/options/authorization.go @ 4e880891c5c6cd9ffb97864046ad29e4863fb24a; commits and
what they cover in kubeadm_rules' and component_flags' docstrings).
"""

import copy

from ansible_collections.kos.platform.plugins.module_utils import kos_versions
from tests.unit.upstream import component_flags, kubeadm_rules

CLUSTER = {
    "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
    "controlPlaneEndpoint": "198.18.0.100:6443", "certificatesDir": "/etc/kubernetes/pki",
    "etcd": {"external": {"endpoints": ["https://198.18.0.11:2379"], "caFile": "/etc/kubernetes/pki/etcd/ca.crt",
                          "certFile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                          "keyFile": "/etc/kubernetes/pki/apiserver-etcd-client.key"}},
    "networking": {"dnsDomain": "cluster.local", "podSubnet": "10.244.0.0/16", "serviceSubnet": "10.96.0.0/16"},
    "apiServer": {"certSANs": ["198.18.0.100", "api.example.com"],
                  "extraArgs": [{"name": "authorization-mode", "value": "Node,RBAC"}]},
    "controllerManager": {"extraArgs": [{"name": "allocate-node-cidrs", "value": "false"}]},
}
JOIN = {
    "apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "JoinConfiguration",
    "discovery": {"bootstrapToken": {"apiServerEndpoint": "198.18.0.100:6443", "token": "abcdef.0123456789abcdef",
                                     "caCertHashes": ["sha256:" + "0" * 64]}},
    "nodeRegistration": {"name": "cp2", "criSocket": "unix:///run/containerd/containerd.sock"},
    "controlPlane": {"localAPIEndpoint": {"advertiseAddress": "198.18.0.12", "bindPort": 6443},
                     "certificateKey": "a" * 64},
}


def test_config_mixed_with_a_refused_flag_is_an_error():
    # isAllowedFlag: --certificate-key is not in the list, --upload-certs and --skip-* are.
    old_init = ["kubeadm", "init", "--config=/etc/kubernetes/kos/kubeadm-init.yaml", "--upload-certs",
                "--certificate-key=" + "f" * 64]
    errors = kubeadm_rules.command_line_errors(old_init)
    assert any("can not mix '--config' with arguments ['certificate-key']" in e for e in errors)
    assert any("puts a secret on the command line" in e for e in errors)
    assert kubeadm_rules.command_line_errors(
        ["kubeadm", "init", "--config=x.yaml", "--skip-token-print", "--skip-certificate-key-print"]) == []
    assert kubeadm_rules.command_line_errors(
        ["kubeadm", "init", "phase", "upload-certs", "--upload-certs", "--config=x.yaml"]) == []
    assert kubeadm_rules.command_line_errors(["kubeadm", "join", "--config=x", "--discovery-token-ca-cert-hash=y"])
    # Without --config every flag is allowed by ValidateMixedArguments (but a token is still a secret).
    assert kubeadm_rules.command_line_errors(["kubeadm", "token", "create", "--print-join-command"]) == []
    assert kubeadm_rules.command_line_errors(["kubeadm", "join", "x:6443", "--token", "abcdef.0123456789abcdef"])


def test_upgrade_apply_may_confirm_with_yes_next_to_config_but_not_force():
    # isAllowedFlag @ 00d24de699fe lists "yes" (kubeadm upgrade apply's confirmation); --force is not listed.
    assert kubeadm_rules.command_line_errors(["kubeadm", "upgrade", "apply", "--config=u.yaml", "--yes"]) == []
    errors = kubeadm_rules.command_line_errors(["kubeadm", "upgrade", "apply", "--config=u.yaml", "--force"])
    assert any("['force']" in e for e in errors)


def test_per_node_apiserver_flag_in_cluster_configuration_is_an_error():
    assert kubeadm_rules.cluster_configuration_errors(CLUSTER) == []
    bad = copy.deepcopy(CLUSTER)
    bad["apiServer"]["extraArgs"].append({"name": "advertise-address", "value": "198.18.0.11"})
    assert any("advertise-address is one node's value" in e for e in kubeadm_rules.cluster_configuration_errors(bad))


def test_control_plane_endpoint_must_not_be_one_control_plane():
    planes = ["198.18.0.11", "198.18.0.12", "198.18.0.13"]
    assert kubeadm_rules.control_plane_endpoint_errors(CLUSTER, planes) == []
    first = dict(CLUSTER, controlPlaneEndpoint="198.18.0.11:6443")
    assert "single point of failure" in kubeadm_rules.control_plane_endpoint_errors(first, planes)[0]
    assert kubeadm_rules.control_plane_endpoint_errors(first, planes[:1]) == []  # one control plane: no HA
    assert kubeadm_rules.control_plane_endpoint_errors(dict(CLUSTER, controlPlaneEndpoint=""), planes)


def test_validate_etcd_external_combinations():
    # ValidateEtcd: cert without key, cert+key without CA, http with certificates, local and external.
    etcd = copy.deepcopy(CLUSTER["etcd"])
    del etcd["external"]["keyFile"]
    assert any("both or none" in e for e in kubeadm_rules.etcd_errors(etcd))
    etcd = copy.deepcopy(CLUSTER["etcd"])
    del etcd["external"]["caFile"]
    assert any("requires caFile" in e for e in kubeadm_rules.etcd_errors(etcd))
    etcd = copy.deepcopy(CLUSTER["etcd"])
    etcd["external"]["endpoints"] = ["http://198.18.0.11:2379", "198.18.0.12:2379"]
    errors = kubeadm_rules.etcd_errors(etcd)
    assert any("HTTPS" in e for e in errors) and any("without scheme" in e for e in errors)
    assert kubeadm_rules.etcd_errors({"local": {}, "external": {}})
    assert kubeadm_rules.etcd_errors({})


def test_validate_networking_and_endpoint():
    bad = copy.deepcopy(CLUSTER)
    bad["networking"].update(serviceSubnet="10.0.0.0/8", podSubnet="10.244.0.0")
    bad["controllerManager"]["extraArgs"] = []
    bad["controlPlaneEndpoint"] = "not_a_host:6443"
    errors = kubeadm_rules.cluster_configuration_errors(bad)
    assert any("service subnet is too large" in e for e in errors)  # ValidateServiceSubnetSize, 20 bits
    assert any("couldn't parse subnet" in e for e in errors)  # ValidateIPNetFromString
    assert any("controlPlaneEndpoint" in e for e in errors)  # ValidateHostPort
    mask = copy.deepcopy(CLUSTER)
    mask["networking"]["podSubnet"] = "10.244.0.0/25"
    mask["controllerManager"]["extraArgs"] = []  # allocate-node-cidrs on: default node mask 24
    assert any("ValidatePodSubnetNodeMask" in e for e in kubeadm_rules.cluster_configuration_errors(mask))


def test_validate_join_configuration():
    assert kubeadm_rules.join_configuration_errors(JOIN) == []
    bad = copy.deepcopy(JOIN)
    bad["discovery"]["bootstrapToken"].update(token="not-a-token", caCertHashes=[])
    bad["controlPlane"]["certificateKey"] = "ab" * 16  # 16 bytes, not 32
    bad["nodeRegistration"]["criSocket"] = "/run/containerd/containerd.sock"
    errors = kubeadm_rules.join_configuration_errors(bad)
    assert any("bootstrap token is invalid" in e for e in errors)
    assert any("without caCertHashes" in e for e in errors)
    assert any("invalid certificate key size 16" in e for e in errors)
    assert any("criSocket" in e for e in errors)


def test_apiserver_flags_are_real_and_authorization_is_consistent():
    assert component_flags.unknown_flag_errors("apiServer", {"authorization-mode": "Node,RBAC"}) == []
    assert component_flags.unknown_flag_errors("apiServer", {"authorization-policy": "x"})  # a typo
    assert component_flags.apiserver_authorization_errors({"authorization-mode": "Node,RBAC"}) == []
    assert component_flags.apiserver_authorization_errors({"authorization-mode": "Node,RBAC,ABAC"})
    assert component_flags.apiserver_authorization_errors({"authorization-mode": "Node,Webhook"})
    assert component_flags.apiserver_authorization_errors({"authorization-mode": "Node,Rbac"})
    assert component_flags.apiserver_authorization_errors(
        {"authorization-config": "/x", "authorization-mode": "Node"})


def test_external_etcd_below_kubeadms_minimum_fails_init_preflight():
    # ExternalEtcdVersionCheck (preflight/checks.go) against MinExternalEtcdVersion 3.5.24-0 (constants.go).
    assert kubeadm_rules.external_etcd_version_errors("3.5.17")
    assert "only supports external etcd version >= 3.5.24" in kubeadm_rules.external_etcd_version_errors("3.5.17")[0]
    assert kubeadm_rules.external_etcd_version_errors("3.5.24") == []
    assert kubeadm_rules.external_etcd_version_errors("v3.6.6") == []
    assert kubeadm_rules.external_etcd_version_errors("latest")
    # The etcd release the version matrix pairs with each Kubernetes minor passes.
    for minor, entry in kos_versions.MATRIX.items():
        assert kubeadm_rules.external_etcd_version_errors(entry["etcd"]) == [], minor
