"""Unit tests of the supported-version matrix (plugins/module_utils/kos_versions.py)."""

import hashlib
import os
import re

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_versions

CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
UPSTREAM = os.path.join(CHECKOUT, "..", "shared", "upstream")
KEYS = {"kubernetes", "kubeadm_api", "calico", "coredns", "pause", "etcd", "containerd_min",
        "cloud_provider_openstack", "csi_sidecars", "checksums", "unconfirmed", "sources"}
# Keys whose value is read from an upstream file of the release (or is listed as unconfirmed).
SOURCED = {"kubernetes", "kubeadm_api", "calico", "coredns", "pause", "etcd", "containerd_min",
           "cloud_provider_openstack", "csi_sidecars"}
# "<owner/repo> <path> @ <tag> (<commit>): ..." or "pypi <package>==<version> ...".
UPSTREAM_FILE = re.compile(r"^[\w.-]+/[\w.-]+ \S+ @ v?\d[\w.-]* \([0-9a-f]{12,40}\)")
PYPI = re.compile(r"^pypi [\w.-]+==(\S+) ")
SIDECARS = {"provisioner", "attacher", "resizer", "snapshotter", "node-driver-registrar", "livenessprobe"}


def upstream(*parts):
    path = os.path.join(UPSTREAM, *parts)
    if not os.path.exists(path):
        pytest.fail("upstream reference file missing: shared/upstream/%s" % "/".join(parts))
    return path


def test_matrix_covers_the_supported_minors_and_defaults_to_the_newest():
    assert sorted(kos_versions.MATRIX) == ["1.35", "1.36", "1.37"]
    assert kos_versions.DEFAULT_MINOR == "1.37"
    assert kos_versions.DEFAULT_VERSION == kos_versions.MATRIX["1.37"]["kubernetes"]


@pytest.mark.parametrize("minor", ["1.35", "1.36", "1.37"])
def test_every_entry_is_complete_and_well_formed(minor):
    entry = kos_versions.MATRIX[minor]
    assert set(entry) == KEYS
    assert entry["kubernetes"].startswith(minor + ".")
    assert re.match(r"^\d+\.\d+\.\d+$", entry["kubernetes"])
    assert entry["kubeadm_api"].startswith("kubeadm.k8s.io/v1beta")
    for key in ("calico", "coredns", "cloud_provider_openstack"):
        assert re.match(r"^v\d+\.\d+\.\d+$", entry[key]), key
    assert set(entry["csi_sidecars"]) == SIDECARS
    assert set(entry["unconfirmed"]) <= KEYS
    for artifact, digest in entry["checksums"].items():
        assert artifact in kos_versions.ARTIFACTS
        assert re.match(r"^[0-9a-f]{64}$", digest)


@pytest.mark.parametrize("minor", ["1.35", "1.36", "1.37"])
def test_every_value_names_its_upstream_source_or_why_it_is_unconfirmed(minor):
    """Confirmed values cite file, tag and commit; unconfirmed ones say which upstream file or tag is missing."""
    entry = kos_versions.MATRIX[minor]
    assert set(entry["sources"]) == SOURCED, minor
    assert set(entry["unconfirmed"]) <= SOURCED
    for key in sorted(SOURCED):
        source = entry["sources"][key]
        if key in entry["unconfirmed"]:
            assert source.startswith("UNCONFIRMED: "), (minor, key)
            # ... and names what the stored upstream index lacks.
            assert re.search(r"stored only|not stored|holds no|has no|no v1\.\d+", source), (minor, key, source)
            continue
        assert "UNCONFIRMED" not in source, (minor, key)
        if key == "containerd_min":
            assert UPSTREAM_FILE.match(source.split("); ", 1)[1]), (minor, key, source)
            continue
        pypi = PYPI.match(source)
        if pypi:
            assert key == "kubernetes" and pypi.group(1) == entry["kubernetes"], (minor, key, source)
            continue
        assert UPSTREAM_FILE.match(source), (minor, key, source)
        value = entry[key]
        if isinstance(value, str) and key not in ("kubeadm_api", "kubernetes"):
            # The cited note carries the value itself (v-prefix and etcd's "-0" suffix aside).
            assert value.lstrip("v") in source, (minor, key, value, source)


def test_the_unconfirmed_values_are_the_ones_the_index_lacks():
    """What the stored upstream index could not confirm, per minor (kos_versions sources say why)."""
    assert kos_versions.MATRIX["1.35"]["unconfirmed"] == ["pause"]
    assert kos_versions.MATRIX["1.36"]["unconfirmed"] == []
    assert set(kos_versions.MATRIX["1.37"]["unconfirmed"]) == {
        "calico", "coredns", "pause", "etcd", "cloud_provider_openstack", "csi_sidecars"}


@pytest.mark.parametrize("asked, minor, patch", [
    ("1.37", "1.37", None), ("1.37.2", "1.37", "1.37.2"), ("v1.37.2", "1.37", "1.37.2"), ("1.35.0", "1.35", "1.35.0"),
])
def test_for_kubernetes_accepts_minor_patch_and_v_prefix(asked, minor, patch):
    entry = kos_versions.for_kubernetes(asked)
    assert entry["minor"] == minor
    assert entry["kubernetes"] == (patch or kos_versions.MATRIX[minor]["kubernetes"])
    assert kos_versions.errors(asked) == []


def test_for_kubernetes_returns_a_copy():
    entry = kos_versions.for_kubernetes("1.37")
    entry["csi_sidecars"]["provisioner"] = "changed"
    entry["checksums"]["calico.yaml"] = "changed"
    assert kos_versions.MATRIX["1.37"]["csi_sidecars"]["provisioner"] != "changed"
    assert kos_versions.MATRIX["1.37"]["checksums"]["calico.yaml"] != "changed"


@pytest.mark.parametrize("version", ["1.31.4", "1.34", "1.38.0", "v2.0.1"])
def test_versions_outside_the_matrix_are_rejected_naming_variable_and_matrix(version):
    problems = kos_versions.errors(version)
    assert len(problems) == 1
    assert "cluster_kubernetes_version" in problems[0]
    assert version in problems[0]
    for minor in ("1.35", "1.36", "1.37"):
        assert minor in problems[0]
    with pytest.raises(KeyError):
        kos_versions.for_kubernetes(version)


@pytest.mark.parametrize("version", [None, 137, "latest", "1.37.x", ""])
def test_malformed_versions_are_rejected_with_an_example(version):
    problems = kos_versions.errors(version)
    assert len(problems) == 1 and "cluster_kubernetes_version" in problems[0]
    assert kos_versions.DEFAULT_VERSION in problems[0]


def test_calico_manifest_pins_equal_the_upstream_manifests():
    """Pins are the sha256 of projectcalico/calico manifests/calico.yaml at each tag (shared/upstream/calico)."""
    for tag, digest in kos_versions.CALICO_MANIFEST_SHA256.items():
        with open(upstream("calico", tag, "calico.yaml"), "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == digest, tag
    for minor, entry in kos_versions.MATRIX.items():
        assert entry["checksums"]["calico.yaml"] == kos_versions.CALICO_MANIFEST_SHA256[entry["calico"]], minor


def test_versions_name_releases_held_upstream():
    """Every Calico and cloud-provider-openstack release of the matrix has its upstream files (VERSIONS)."""
    with open(upstream("calico", "VERSIONS")) as handle:
        calico_tags = {line.split()[0] for line in handle if line.strip()}
    with open(upstream("cloud-provider-openstack", "VERSIONS")) as handle:
        cpo_tags = {line.split()[0] for line in handle if line.strip()}
    for minor, entry in kos_versions.MATRIX.items():
        assert entry["calico"] in calico_tags, minor
        assert entry["cloud_provider_openstack"] in cpo_tags, minor


def test_csi_sidecars_are_the_tags_of_the_upstream_manifests():
    """cloud-provider-openstack <tag> manifests/cinder-csi-plugin/*.yaml carry the sidecar tags."""
    images = re.compile(r"image:\s*\S+/(csi-provisioner|csi-attacher|csi-resizer|csi-snapshotter|"
                        r"csi-node-driver-registrar|livenessprobe):(\S+)")
    for minor, entry in kos_versions.MATRIX.items():
        tag = entry["cloud_provider_openstack"]
        found = {}
        for name in ("cinder-csi-controllerplugin.yaml", "cinder-csi-nodeplugin.yaml"):
            with open(upstream("cloud-provider-openstack", tag, "manifests", "cinder-csi-plugin", name)) as handle:
                for image, version in images.findall(handle.read()):
                    found[image.replace("csi-", "", 1) if image != "csi-node-driver-registrar"
                          else "node-driver-registrar"] = version
        assert found == entry["csi_sidecars"], (minor, tag)


def test_checksum_prefers_the_operator_pin_and_normalizes():
    matrix_pin = kos_versions.checksum("1.37.1", "calico.yaml")
    assert matrix_pin == "sha256:" + kos_versions.MATRIX["1.37"]["checksums"]["calico.yaml"]
    own = "ab" * 32
    assert kos_versions.checksum("1.37.1", "calico.yaml", {"calico.yaml": own}) == "sha256:" + own
    assert kos_versions.checksum("1.37.1", "calicoctl-linux-amd64") == ""
    assert kos_versions.checksum("1.31.4", "calico.yaml") == ""
    assert kos_versions.checksum("1.37.1", "calicoctl-linux-amd64", {"calicoctl-linux-amd64": "bad"}) == ""


def test_unpinned_lists_every_artifact_without_a_pin():
    assert kos_versions.unpinned("1.37.1") == sorted(set(kos_versions.ARTIFACTS) - {"calico.yaml"})
    pins = {name: "cd" * 32 for name in kos_versions.ARTIFACTS}
    assert kos_versions.unpinned("1.37.1", pins) == []
    report = kos_versions.unpinned_report("1.37.1", trusted_roles=("kubernetes_node",))
    assert any("calicoctl-linux-amd64" in line and "calico_trust_mirror_checksums" in line and "refuses" in line
               for line in report)
    assert any("kubelet-linux-amd64" in line and "accepted" in line for line in report)


def test_pin_errors_name_the_variable():
    problems = kos_versions.pin_errors({"calicoctl-linux-amd64": "1234", "calico.yaml": "ef" * 32},
                                       "calico_checksums")
    assert len(problems) == 1
    assert "calico_checksums" in problems[0] and "calicoctl-linux-amd64" in problems[0]


URLS = {"calico.yaml": "https://mirror.example/calico/v3.32.1/calico.yaml",
        "calicoctl-linux-amd64": "https://mirror.example/calico/v3.32.1/calicoctl-linux-amd64"}


def test_downloads_without_pin_are_refused_unless_the_mirror_is_trusted():
    pins = {"calico.yaml": "ef" * 32}
    assert kos_versions.download_checksums(URLS, pins, False) == {
        "calico.yaml": "sha256:" + "ef" * 32, "calicoctl-linux-amd64": ""}
    assert kos_versions.download_checksums(URLS, pins, True)["calicoctl-linux-amd64"] == (
        "sha256:https://mirror.example/calico/v3.32.1/calicoctl-linux-amd64.sha256")
    refused = kos_versions.refused_downloads(URLS, pins, False, "calico")
    assert len(refused) == 1
    assert "calicoctl-linux-amd64" in refused[0]
    assert "calico_checksums" in refused[0] and "calico_trust_mirror_checksums: true" in refused[0]
    assert kos_versions.refused_downloads(URLS, pins, True, "calico") == []


def test_an_empty_or_malformed_pin_is_no_pin():
    for bad in ("", None, "sha256:", "abc", "sha1:" + "a" * 40):
        assert kos_versions.download_checksums(URLS, {"calico.yaml": bad}, False)["calico.yaml"] == ""


def test_the_cluster_model_rejects_versions_outside_the_matrix_and_carries_the_entry():
    """kos_model.validate() reports the matrix's message; derive() puts the entry in kos_cluster.versions."""
    from ansible_collections.kos.platform.plugins.module_utils import kos_model

    from .test_kos_model import good_input

    data = good_input()
    data["cluster"]["kubernetes_version"] = "1.31.4"
    problems = kos_model.validate(data)
    assert kos_versions.errors("1.31.4")[0] in problems
    data["cluster"]["kubernetes_version"] = "v1.36.4"
    assert kos_model.validate(data) == []
    model = kos_model.derive(data)
    assert model["versions"] == kos_versions.for_kubernetes("1.36.4")
    assert model["versions"]["kubernetes"] == model["kubernetes_version"] == "1.36.4"
