"""CoreDNS as the role renders it, held to CoreDNS's reference deployment.

Upstream: coredns/deployment kubernetes/coredns.yaml.sed at 7853d4a (shared/upstream/coredns-deployment/VERSIONS),
and kubeadm's CoreDNS version per release (cmd/kubeadm/app/constants/constants.go CoreDNSVersion) through
the version matrix. Rendered for every Kubernetes minor of the matrix; CoreDNS cannot run here."""

import json

import pytest

from .upstream import by_kind, kubernetes_validate, load_all, rule_set, upstream_path

UPSTREAM_FILE = ("coredns-deployment", "coredns.yaml.sed")


@pytest.fixture(scope="module")
def upstream():
    # The .sed file is a template (CLUSTER_DOMAIN, CLUSTER_DNS_IP ...) but valid YAML as it stands.
    return load_all(upstream_path(*UPSTREAM_FILE))


def ours(rendered, name):
    return load_all(str(rendered[2] / "coredns" / name))


def container(deployment):
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def test_image_is_the_matrix_coredns_release(rendered):
    minor, entry, out = rendered
    (deployment,) = ours(rendered, "deployment.yaml")
    assert container(deployment)["image"].rsplit(":", 1)[1] == entry["coredns"]
    assert container(deployment)["image"].split("@")[0].endswith("registry.k8s.io/coredns/coredns:" + entry["coredns"])
    assert json.loads((out / "versions.json").read_text())["coredns"] == entry["coredns"]


def test_rbac_rules_are_upstreams(rendered, upstream):
    objects = ours(rendered, "rbac.yaml")
    (role,) = by_kind(objects, "ClusterRole", "system:coredns")
    (theirs,) = by_kind(upstream, "ClusterRole", "system:coredns")
    assert rule_set(role["rules"]) == rule_set(theirs["rules"])
    (binding,) = by_kind(objects, "ClusterRoleBinding", "system:coredns")
    (their_binding,) = by_kind(upstream, "ClusterRoleBinding", "system:coredns")
    assert binding["roleRef"] == their_binding["roleRef"]
    assert binding["subjects"] == their_binding["subjects"]
    (account,) = by_kind(objects, "ServiceAccount", "coredns")
    assert account["metadata"]["namespace"] == "kube-system"


def test_container_security_ports_probes_and_args_are_upstreams(rendered, upstream):
    (deployment,) = ours(rendered, "deployment.yaml")
    (theirs,) = by_kind(upstream, "Deployment", "coredns")
    mine, their = container(deployment), container(theirs)
    assert mine["args"] == their["args"]
    assert mine["ports"] == their["ports"]
    assert mine["volumeMounts"] == their["volumeMounts"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert mine[probe]["httpGet"] == their[probe]["httpGet"], probe
    security, their_security = mine["securityContext"], their["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and their_security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert set(security["capabilities"]["add"]) <= set(their_security["capabilities"]["add"])
    # Capability names are case-insensitive for the runtimes; upstream writes "all", Kubernetes "ALL".
    assert [c.upper() for c in security["capabilities"]["drop"]] == [c.upper() for c in their_security[
        "capabilities"]["drop"]] == ["ALL"]
    assert "privileged" not in security


def test_pod_spec_keeps_upstreams_required_fields(rendered, upstream):
    (deployment,) = ours(rendered, "deployment.yaml")
    (theirs,) = by_kind(upstream, "Deployment", "coredns")
    pod, their_pod = deployment["spec"]["template"]["spec"], theirs["spec"]["template"]["spec"]
    for field in ("priorityClassName", "serviceAccountName", "dnsPolicy", "nodeSelector"):
        assert pod[field] == their_pod[field], field
    assert pod["volumes"] == their_pod["volumes"]
    for toleration in their_pod["tolerations"]:
        assert toleration in pod["tolerations"]
    assert deployment["spec"]["strategy"] == theirs["spec"]["strategy"]
    # kubeadm's CoreDNS selects on k8s-app only (cmd/kubeadm/app/phases/addons/dns/manifests.go); the
    # selector is immutable, so a kubeadm cluster keeps it. Upstream's labels are still on the pods.
    assert deployment["spec"]["selector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert {k: v for k, v in theirs["spec"]["template"]["metadata"]["labels"].items() if k in labels} == \
        theirs["spec"]["template"]["metadata"]["labels"]


def test_service_ports_and_address_follow_upstream_and_the_model(rendered, upstream):
    (service,) = ours(rendered, "service.yaml")
    (theirs,) = by_kind(upstream, "Service", "kube-dns")
    assert service["spec"]["ports"] == theirs["spec"]["ports"]
    assert service["spec"]["clusterIP"] == "10.96.0.10"  # the tenth address of the sample's Service CIDR
    assert service["spec"]["selector"]["k8s-app"] == "kube-dns"
    assert service["metadata"]["annotations"] == theirs["metadata"]["annotations"]


def test_corefile_has_every_upstream_plugin(rendered, upstream):
    (config,) = ours(rendered, "configmap.yaml")
    (theirs,) = by_kind(upstream, "ConfigMap", "coredns")

    def plugins(corefile):
        body = corefile.replace("STUBDOMAINS", "").split("{", 1)[1]  # a sed placeholder upstream
        depth, names = 0, []
        for line in body.splitlines():
            words = line.split()
            if words and depth == 0 and words[0] != "}":
                names.append(words[0])
            depth += line.count("{") - line.count("}")
        return names

    assert plugins(config["data"]["Corefile"]) == plugins(theirs["data"]["Corefile"])
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in config["data"]["Corefile"]


def test_every_object_passes_kubernetes_validate_strict(rendered):
    minor, _, out = rendered
    files = sorted(str(p) for p in (out / "coredns").glob("*.yaml"))
    assert len(files) == 4
    proc = kubernetes_validate(minor, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
