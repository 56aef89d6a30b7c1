"""Calico: the manifest of the release the version matrix names, held to upstream's calico.yaml, and
the role's downloads verified against pins (issue 13 item 5).

Upstream: projectcalico/calico manifests/calico.yaml at the matrix's tag (copy and commit in
shared/upstream/calico/<tag>/ and its VERSIONS). The downloads are served by a real HTTP server on
loopback that the test starts and stops; Calico itself cannot run here."""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_calico, kos_versions

from .upstream import MINORS, TOP, kubernetes_validate, upstream_path

PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calico_download.yml")
DEFAULT = kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION)


def manifest(tag):
    with open(upstream_path("calico", tag, "calico.yaml"), encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def images(documents):
    found = []
    for doc in documents:
        spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        found += [c["image"] for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
    return found


@pytest.mark.parametrize("minor", MINORS)
def test_the_matrix_release_manifest_carries_the_matrix_tag_after_patching(minor):
    entry = kos_versions.for_kubernetes(minor)
    patched = kos_calico.patch_manifest(manifest(entry["calico"]), "192.0.2.0/24", "artifactory.example.com")
    found = images(patched)
    assert found and {image.rsplit(":", 1)[1] for image in found} == {entry["calico"]}
    assert all(image.startswith("artifactory.example.com/") for image in found)


def test_patched_manifest_passes_kubernetes_validate_strict(tmp_path):
    """Every object of the routed manifest, CRDs included, for each minor's schemas."""
    for minor in MINORS:
        entry = kos_versions.for_kubernetes(minor)
        path = tmp_path / ("calico-%s.yaml" % minor)
        path.write_text(yaml.safe_dump_all(kos_calico.patch_manifest(manifest(entry["calico"]), "192.0.2.0/24")))
        proc = kubernetes_validate(minor, str(path))
        assert proc.returncode == 0, minor + ": " + (proc.stdout + proc.stderr)[-3000:]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    """A loopback HTTP mirror serving calico/<tag>/calico.yaml (upstream's) and a stand-in calicoctl."""
    root = tmp_path / "mirror"
    release = root / "calico" / DEFAULT["calico"]
    release.mkdir(parents=True)
    shutil.copy(upstream_path("calico", DEFAULT["calico"], "calico.yaml"), release / "calico.yaml")
    # A stand-in file: calicoctl's content does not matter to the verification, its digest does.
    (release / "calicoctl-linux-amd64").write_bytes(b"#!/bin/sh\necho calicoctl stand-in\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield release, "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def download(out, mirror_url, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1")
    cmd = ["ansible-playbook", "-i", os.path.join(TOP, "inventories", "sample"), PLAYBOOK,
           "-e", "render_root=%s" % out, "-e", "cluster_artifact_mirror=%s" % mirror_url,
           "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable, "--limit", "kube_control_plane[0]", *extra]
    return subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=1200)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_downloads_need_a_pin_or_explicit_trust(mirror, tmp_path):
    release, url = mirror
    out = tmp_path / "out"

    # Default: calico.yaml is pinned by the matrix, calicoctl by nobody: refused, nothing downloaded.
    proc = download(out, url)
    text = " ".join(proc.stdout.split())
    assert proc.returncode != 0
    assert "calicoctl-linux-amd64" in text and "calico_checksums" in text and \
        "calico_trust_mirror_checksums: true" in text
    assert not (out / "calico-upstream.yaml").exists() and not (out / "calicoctl").exists()
    # Preflight said so before any role ran: calicoctl unpinned and refused, calico.yaml pinned.
    assert "calicoctl-linux-amd64 (Kubernetes %s, role calico) has no pinned sha256: the role refuses it" \
        % DEFAULT["kubernetes"] in text
    assert "calico.yaml (Kubernetes" not in text

    # The operator pins calicoctl: both download, each verified.
    pins = {"calico_checksums": {"calicoctl-linux-amd64": sha256(release / "calicoctl-linux-amd64")}}
    proc = download(out, url, "-e", json.dumps(pins))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sha256(out / "calico-upstream.yaml") == DEFAULT["checksums"]["calico.yaml"]
    assert (out / "calicoctl").read_bytes() == (release / "calicoctl-linux-amd64").read_bytes()


def test_a_tampered_manifest_fails_its_matrix_pin(mirror, tmp_path):
    release, url = mirror
    with open(release / "calico.yaml", "a", encoding="utf-8") as handle:
        handle.write("# tampered\n")
    pins = {"calico_checksums": {"calicoctl-linux-amd64": sha256(release / "calicoctl-linux-amd64")}}
    proc = download(tmp_path / "out", url, "-e", json.dumps(pins))
    assert proc.returncode != 0
    assert "checksum" in proc.stdout.lower()
    assert not (tmp_path / "out" / "calico-upstream.yaml").exists()


def test_the_mirror_checksum_file_is_used_only_when_trusted(mirror, tmp_path):
    release, url = mirror
    tool = release / "calicoctl-linux-amd64"
    (release / "calicoctl-linux-amd64.sha256").write_text(sha256(tool) + "\n")
    proc = download(tmp_path / "out", url, "-e", "calico_trust_mirror_checksums=true")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "out" / "calicoctl").exists()
    # A mirror whose file and checksum disagree is refused even when trusted.
    (release / "calicoctl-linux-amd64.sha256").write_text("0" * 64 + "\n")
    proc = download(tmp_path / "again", url, "-e", "calico_trust_mirror_checksums=true")
    assert proc.returncode != 0
    assert not (tmp_path / "again" / "calicoctl").exists()
