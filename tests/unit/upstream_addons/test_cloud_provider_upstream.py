"""The OpenStack cloud controller manager and Cinder CSI as the role renders them, held to
cloud-provider-openstack's own manifests of the release the version matrix pairs with each Kubernetes
minor (kubernetes/cloud-provider-openstack manifests/ at that tag; copies and commits in
shared/upstream/cloud-provider-openstack/<tag>/ and its VERSIONS). Neither can run here."""

import pytest

from .upstream import by_kind, flag_names, kubernetes_validate, load_all, rule_set, upstream_path, wider_than

CCM = "controller-manager"
CSI = "cinder-csi-plugin"

# Flags the role adds to upstream's, each with its reason (everything else must be upstream's).
ADDED_FLAGS = {
    # Calico owns pod routes and Services are advertised over BGP: only the node controllers run.
    "openstack-cloud-controller-manager": {"--controllers"},
    # The controller pod serves the CSI controller service only (the node plugin runs per node).
    "cinder-csi-plugin@controller": {"--provide-node-service"},
}
# Upstream volumes the role leaves out, with the reason.
LEFT_OUT_VOLUMES = {
    # /etc/kubernetes/pki holds the cluster CA and service-account keys; the CCM uses its in-cluster
    # service account (--use-service-account-credentials=false) and needs none of them.
    "openstack-cloud-controller-manager": {"k8s-certs"},
}


def theirs(entry, folder, name):
    return load_all(upstream_path("cloud-provider-openstack", entry["cloud_provider_openstack"], "manifests",
                                  folder, name))


def ours(rendered, name):
    return load_all(str(rendered[2] / "openstack" / name))


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def containers(workload):
    return {c["name"]: c for c in pod_spec(workload)["containers"]}


def volumes(workload):
    return {v["name"]: {k: v[k] for k in v if k != "name"} for v in pod_spec(workload)["volumes"]}


def normalized(volume):
    """emptyDir: null (upstream) and emptyDir: {} (ours) are the same volume."""
    return {k: (v or {}) for k, v in volume.items()}


def test_images_are_the_matrix_releases(rendered):
    _, entry, _ = rendered
    release = entry["cloud_provider_openstack"]
    images = []
    for name in ("ccm-daemonset.yaml", "csi-controller.yaml", "csi-nodeplugin.yaml"):
        for workload in ours(rendered, name):
            images += [c["image"] for c in pod_spec(workload)["containers"]]
    tags = {image.rsplit("/", 1)[1].split(":")[0]: image.rsplit(":", 1)[1] for image in images}
    assert tags["openstack-cloud-controller-manager"] == release
    assert tags["cinder-csi-plugin"] == release
    sidecars = {"csi-" + k if k not in ("livenessprobe",) else k: v for k, v in entry["csi_sidecars"].items()}
    assert {k: v for k, v in tags.items() if k not in ("openstack-cloud-controller-manager",
                                                       "cinder-csi-plugin")} == sidecars


def test_sidecar_images_equal_upstreams(rendered):
    """Every image of upstream's CSI manifests, tag included, is the role's (registry aside)."""
    _, entry, _ = rendered
    for ours_name, their_name in (("csi-controller.yaml", "cinder-csi-controllerplugin.yaml"),
                                  ("csi-nodeplugin.yaml", "cinder-csi-nodeplugin.yaml")):
        (mine,) = ours(rendered, ours_name)
        (their,) = theirs(entry, CSI, their_name)
        strip = lambda image: image.split("registry.k8s.io/", 1)[1]  # noqa: E731 - the mirror prefixes
        assert {n: strip(c["image"]) for n, c in containers(mine).items()} == \
            {n: strip(c["image"]) for n, c in containers(their).items()}, ours_name


def test_ccm_rbac_is_not_wider_than_upstream(rendered):
    _, entry, _ = rendered
    (role,) = by_kind(ours(rendered, "ccm-rbac.yaml"), "ClusterRole", "system:cloud-controller-manager")
    (their,) = by_kind(theirs(entry, CCM, "cloud-controller-manager-roles.yaml"), "ClusterRole",
                       "system:cloud-controller-manager")
    assert wider_than(rule_set(role["rules"]), rule_set(their["rules"])) == []
    (binding,) = by_kind(ours(rendered, "ccm-rbac.yaml"), "ClusterRoleBinding", "system:cloud-controller-manager")
    (their_binding,) = by_kind(theirs(entry, CCM, "cloud-controller-manager-role-bindings.yaml"),
                               "ClusterRoleBinding", "system:cloud-controller-manager")
    assert binding["subjects"] == their_binding["subjects"] and binding["roleRef"] == their_binding["roleRef"]


def test_csi_rbac_is_not_wider_than_upstream(rendered):
    """Per service account: ours grants nothing that upstream's roles bound to that account do not."""
    _, entry, _ = rendered
    mine = ours(rendered, "csi-rbac.yaml")
    upstream = theirs(entry, CSI, "cinder-csi-controllerplugin-rbac.yaml") + \
        theirs(entry, CSI, "cinder-csi-nodeplugin-rbac.yaml")

    def granted(objects, account):
        roles = {r["metadata"]["name"]: r for r in by_kind(objects, "ClusterRole")}
        result = set()
        for binding in by_kind(objects, "ClusterRoleBinding"):
            if any(s["name"] == account and s["namespace"] == "kube-system" for s in binding["subjects"]):
                result |= rule_set(roles[binding["roleRef"]["name"]]["rules"])
        return result

    for account in ("csi-cinder-controller-sa", "csi-cinder-node-sa"):
        assert granted(mine, account), account
        assert wider_than(granted(mine, account), granted(upstream, account)) == [], account


@pytest.mark.parametrize("ours_name, folder, their_name, suffix", [
    ("ccm-daemonset.yaml", CCM, "openstack-cloud-controller-manager-ds.yaml", ""),
    ("csi-controller.yaml", CSI, "cinder-csi-controllerplugin.yaml", "@controller"),
    ("csi-nodeplugin.yaml", CSI, "cinder-csi-nodeplugin.yaml", "@node"),
])
def test_containers_flags_volumes_and_security_follow_upstream(rendered, ours_name, folder, their_name, suffix):
    _, entry, _ = rendered
    (mine,) = [o for o in ours(rendered, ours_name) if o["kind"] in ("DaemonSet", "Deployment")]
    (their,) = [o for o in theirs(entry, folder, their_name) if o["kind"] in ("DaemonSet", "Deployment")]
    assert sorted(containers(mine)) == sorted(containers(their))
    for name, container in containers(mine).items():
        upstream_container = containers(their)[name]
        added = ADDED_FLAGS.get(name + suffix, ADDED_FLAGS.get(name, set()))
        assert set(flag_names(container["args"])) == set(flag_names(upstream_container["args"])) | added, name
        assert [a for a in container["args"] if not a.startswith("-")] == \
            [a for a in upstream_container["args"] if not a.startswith("-")], name
        # Not more privileged than upstream.
        security = container.get("securityContext", {})
        their_security = upstream_container.get("securityContext", {})
        if security.get("privileged"):
            assert their_security.get("privileged"), name
        assert set(security.get("capabilities", {}).get("add", [])) <= \
            set(their_security.get("capabilities", {}).get("add", [])), name
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        their_mounts = {m["name"]: m for m in upstream_container.get("volumeMounts", [])}
        left_out = LEFT_OUT_VOLUMES.get(name, set())
        assert set(mounts) == set(their_mounts) - left_out, name
        for mount_name, mount in mounts.items():
            assert mount["mountPath"] == their_mounts[mount_name]["mountPath"] or name == "liveness-probe", mount_name
            assert mount.get("mountPropagation") == their_mounts[mount_name].get("mountPropagation"), mount_name
            assert mount.get("readOnly", False) >= their_mounts[mount_name].get("readOnly", False), mount_name
    left_out = set().union(*(LEFT_OUT_VOLUMES.get(n, set()) for n in containers(mine)))
    assert {k: normalized(v) for k, v in volumes(mine).items()} == \
        {k: normalized(v) for k, v in volumes(their).items() if k not in left_out}
    assert pod_spec(mine).get("hostNetwork") == pod_spec(their).get("hostNetwork")
    assert pod_spec(mine).get("securityContext") == pod_spec(their).get("securityContext")


def test_csi_driver_is_upstreams(rendered):
    _, entry, _ = rendered
    (mine,) = ours(rendered, "csi-driver.yaml")
    (their,) = theirs(entry, CSI, "csi-cinder-driver.yaml")
    assert mine["spec"] == their["spec"] and mine["metadata"]["name"] == their["metadata"]["name"]


def test_every_object_passes_kubernetes_validate_strict(rendered):
    minor, _, out = rendered
    files = sorted(str(p) for p in (out / "openstack").glob("*.yaml"))
    assert len(files) == 8
    proc = kubernetes_validate(minor, *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
