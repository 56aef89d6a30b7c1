"""The strict schemas in tests/schemas are what config_types generates from upstream's Go types, and
they refuse what kubeadm, the kubelet and kube-proxy refuse (sources in config_types' docstring)."""

import json
import os

import jsonschema

from tests.unit.upstream import config_types

SCHEMAS = os.path.join(os.path.dirname(__file__), "..", "..", "schemas")


def errors(doc):
    path = os.path.join(SCHEMAS, doc["apiVersion"].replace("/", "_"), doc["kind"] + ".json")
    with open(path, encoding="utf-8") as handle:
        return [e.message for e in jsonschema.Draft202012Validator(json.load(handle)).iter_errors(doc)]


def test_committed_schemas_are_the_generated_ones():
    for relative, schema in config_types.schema_files().items():
        path = os.path.join(SCHEMAS, relative)
        assert os.path.exists(path), "missing %s: run python -m tests.unit.upstream.config_types" % relative
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == config_types.dump(schema), "%s is stale: regenerate it" % relative
    found = {os.path.relpath(os.path.join(d, f), SCHEMAS) for d, _, fs in os.walk(SCHEMAS) for f in fs}
    assert found == set(config_types.schema_files())


def test_every_struct_is_strict():
    for schema in config_types.schema_files().values():
        assert schema["additionalProperties"] is False
        for name, definition in schema.get("$defs", {}).items():
            assert definition["additionalProperties"] is False, name


def test_v1beta4_extra_args_are_a_list_and_v1beta3_ones_a_map():
    v4 = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
          "apiServer": {"extraArgs": [{"name": "authorization-mode", "value": "Node,RBAC"}]}}
    assert errors(v4) == []
    assert errors(dict(v4, apiServer={"extraArgs": {"authorization-mode": "Node,RBAC"}}))
    v3 = dict(v4, apiVersion="kubeadm.k8s.io/v1beta3")
    assert errors(v3)
    assert errors(dict(v3, apiServer={"extraArgs": {"authorization-mode": "Node,RBAC"}})) == []


def test_fields_of_another_api_version_are_errors():
    # v1beta4-only fields (v1beta4/doc.go, kubernetes/kubernetes#125029) in a v1beta3 document.
    init3 = {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration",
             "timeouts": {"controlPlaneComponentHealthCheck": "4m"}}
    assert any("timeouts" in e for e in errors(init3))
    init4 = dict(init3, apiVersion="kubeadm.k8s.io/v1beta4")
    assert errors(init4) == []
    # v1beta3-only apiServer.timeoutForControlPlane in a v1beta4 document.
    cluster4 = {"apiVersion": "kubeadm.k8s.io/v1beta4", "kind": "ClusterConfiguration",
                "apiServer": {"timeoutForControlPlane": "4m0s"}}
    assert any("timeoutForControlPlane" in e for e in errors(cluster4))
    assert errors(dict(cluster4, apiVersion="kubeadm.k8s.io/v1beta3")) == []


def test_unknown_nested_fields_and_wrong_values_are_errors():
    kubelet = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
               "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt", "clientCA": "x"}},
               "authorization": {"mode": "RBAC"}, "syncFrequency": "one minute"}
    messages = errors(kubelet)
    assert any("clientCA" in m for m in messages)
    assert any("RBAC" in m for m in messages)
    assert any("one minute" in m for m in messages)
    proxy = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
             "mode": "userspace", "iptables": {"masqueradeBits": 14}}
    assert len(errors(proxy)) == 2


def test_kubelet_fields_follow_the_1_37_types_go():
    """staging/src/k8s.io/kubelet/config/v1beta1/types.go @ 001332b0422071acf4860769f18e34b5e9b7c1bc (1.37 line):
    the 1.36 fields exist, and the typed enums ImagePullCredentialsVerificationPolicy and
    MemoryReservationPolicy accept only their declared constants."""
    kubelet = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
               "tlsCurvePreferences": [23, 4588], "memoryReservationPolicy": "TieredReservation",
               "topologyManagerPolicyOptions": {"prefer-closest-numa-nodes": "true"},
               "draManagerReconcilePeriod": "60s",
               "imagePullCredentialsVerificationPolicy": "NeverVerifyPreloadedImages"}
    assert errors(kubelet) == []
    wrong = dict(kubelet, memoryReservationPolicy="Tiered", imagePullCredentialsVerificationPolicy="Sometimes",
                 tlsCurvePreferences=["X25519"])
    messages = errors(wrong)
    assert any("'Tiered'" in m for m in messages)
    assert any("'Sometimes'" in m for m in messages)
    assert any("'X25519'" in m for m in messages)
    assert set(config_types.KUBELET_SINCE) <= {f for f, _ in config_types.KUBELET_V1BETA1["KubeletConfiguration"]}
