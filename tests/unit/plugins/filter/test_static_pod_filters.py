"""The static Pod manifest filters (plugins/filter/static_pod.py) on manifests shaped as kubeadm writes
them: the whole command line in `command`, one `--flag=value` word per flag
(getAPIServerCommand, kubernetes/kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go at
ad7cb45bb24a21d7f391c10985d0af850471f426, the newest commit the index stores; the same citation as
tests/unit/roles/control_plane_standins.py)."""

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import static_pod

ETCD = {"etcd-servers": "https://10.0.0.1:2379,https://10.0.0.2:2379",
        "etcd-cafile": "/etc/kubernetes/pki/etcd/ca.crt",
        "etcd-certfile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
        "etcd-keyfile": "/etc/kubernetes/pki/apiserver-etcd-client.key"}


def manifest(command, name="kube-apiserver", args=None):
    container = {"name": name, "image": "registry.k8s.io/kube-apiserver:v1.37.1", "command": command}
    if args is not None:
        container["args"] = args
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "kube-system"},
           "spec": {"hostNetwork": True, "containers": [{"name": "sidecar", "command": ["--etcd-servers=x"]},
                                                        container]}}
    return yaml.safe_dump(pod)


def command(**flags):
    return ["kube-apiserver", "--allow-privileged=true", "--enable-bootstrap-token-auth"] + \
        ["--%s=%s" % item for item in flags.items()]


def test_flags_of_the_named_container_only():
    flags = static_pod.static_pod_flags(manifest(command(**ETCD)), "kube-apiserver")
    assert flags["etcd-servers"] == ETCD["etcd-servers"]  # not the sidecar's value
    assert flags["allow-privileged"] == "true"
    assert flags["enable-bootstrap-token-auth"] == ""  # a flag without '='
    assert "kube-apiserver" not in flags  # the binary is not a flag


def test_a_value_with_an_equals_sign_is_kept_whole_and_the_last_repeat_wins():
    text = manifest(command(**ETCD) + ["--admission-control-config-file=/a=b", "--etcd-servers=https://10.0.0.9:2379"])
    flags = static_pod.static_pod_flags(text, "kube-apiserver")
    assert flags["admission-control-config-file"] == "/a=b"
    assert flags["etcd-servers"] == "https://10.0.0.9:2379"


def test_no_drift_when_every_etcd_flag_matches():
    assert static_pod.static_pod_flag_drift(manifest(command(**ETCD)), "kube-apiserver", ETCD) == []


def test_a_changed_member_list_and_a_missing_flag_are_both_reported_sorted():
    running = dict(ETCD)
    running["etcd-servers"] = "https://10.0.0.1:2379"
    del running["etcd-keyfile"]
    drift = static_pod.static_pod_flag_drift(manifest(command(**running)), "kube-apiserver", ETCD)
    assert drift == [
        {"flag": "etcd-keyfile", "running": "(not set)", "wanted": ETCD["etcd-keyfile"]},
        {"flag": "etcd-servers", "running": "https://10.0.0.1:2379", "wanted": ETCD["etcd-servers"]},
    ]


def test_flags_in_args_count_too():
    text = manifest(["kube-apiserver"], args=["--%s=%s" % item for item in ETCD.items()])
    assert static_pod.static_pod_flag_drift(text, "kube-apiserver", ETCD) == []


def test_no_manifest_means_nothing_to_reconfigure_but_a_manifest_without_the_container_drifts_everywhere():
    assert static_pod.static_pod_flag_drift("", "kube-apiserver", ETCD) == []
    drift = static_pod.static_pod_flag_drift(manifest(command(**ETCD), name="etcd"), "kube-apiserver", ETCD)
    assert [d["flag"] for d in drift] == sorted(ETCD)


@pytest.mark.parametrize("text, message", [("a: [", "not YAML"), ("- a\n- b\n", "not a Pod")])
def test_a_broken_manifest_is_a_filter_error(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        static_pod.static_pod_flag_drift(text, "kube-apiserver", ETCD)


def test_wanted_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="wanted must be a mapping"):
        static_pod.static_pod_flag_drift(manifest(command(**ETCD)), "kube-apiserver", ["etcd-servers"])
