"""keystone_auth on a lab control plane host: the files the API server and kubelet will read."""

import json
import os
import sys

import yaml

# The k8s-keystone-auth tag comes from the version matrix: the cloud-provider-openstack release of the
# scenario's Kubernetes version (preflight's default cluster_kubernetes_version, the matrix's newest).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".collections"))
from ansible_collections.kos.platform.plugins.module_utils import kos_versions  # noqa: E402

KEYSTONE_AUTH_TAG = kos_versions.MATRIX[kos_versions.DEFAULT_MINOR]["cloud_provider_openstack"]

testinfra_hosts = ["ansible://kube_control_plane"]


def test_webhook_static_pod(host):
    pod = host.file("/etc/kubernetes/manifests/k8s-keystone-auth.yaml")
    assert pod.mode == 0o600 and pod.user == "root"
    spec = yaml.safe_load(pod.content_string)["spec"]
    container = spec["containers"][0]
    assert container["image"] == ("artifactory.example.com/registry.k8s.io/provider-os/k8s-keystone-auth:"
                                  + KEYSTONE_AUTH_TAG)
    assert KEYSTONE_AUTH_TAG.startswith("v")  # the image tag form upstream publishes (vX.Y.Z)
    assert "--keystone-url=https://keystone.example.com:5000/v3" in container["args"]
    assert spec["hostNetwork"] is True
    # No ConfigMap named (k8s-keystone-auth exits at start when one is missing), no admin kubeconfig.
    assert not any("configmap" in a or a.startswith("--kubeconfig") for a in container["args"])


def test_authentication_webhook_config(host):
    config = host.file("/etc/kubernetes/keystone/webhook-authn.kubeconfig")
    assert config.mode == 0o600
    data = yaml.safe_load(config.content_string)
    assert data["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:8443/webhook"
    assert not host.file("/etc/kubernetes/keystone/webhook-authz.kubeconfig").exists


def test_abac_policy_installed(host):
    policy = host.file("/etc/kubernetes/keystone/abac-policy.jsonl")
    assert policy.mode == 0o600
    lines = [json.loads(line) for line in policy.content_string.splitlines()]
    assert [(p["spec"]["user"], p["spec"]["resource"]) for p in lines] == [("alice", "configmaps"),
                                                                           ("alice", "deployments")]
