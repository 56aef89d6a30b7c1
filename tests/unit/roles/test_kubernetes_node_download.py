"""kubernetes_node's downloads (issue: artifact integrity): kubeadm, kubelet and kubectl are
installed only when each is verified against a pinned sha256 (the operator's
kubernetes_node_checksums over the version matrix's), or, with kubernetes_node_trust_mirror_checksums:
true and only then, against the mirror's own .sha256. A loopback HTTP server stands in for the
artifact mirror; the binaries it serves are stand-in files (their content does not matter to the
verification, their digest does)."""

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(TOP, "tests", "unit", "roles", "kubernetes_node_download.yml")
sys.path.insert(0, os.path.join(TOP, ".collections"))
from ansible_collections.kos.platform.plugins.module_utils import kos_versions  # noqa: E402

VERSION = kos_versions.DEFAULT_VERSION
BINARIES = ("kubeadm", "kubelet", "kubectl")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    release = root / "dl.k8s.io" / "release" / ("v" + VERSION) / "bin" / "linux" / "amd64"
    release.mkdir(parents=True)
    for name in BINARIES:
        (release / name).write_bytes(("#!/bin/sh\necho %s stand-in\n" % name).encode())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield release, "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(out, mirror_url, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"), ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           "-i", os.path.join(TOP, "inventories", "sample"), PLAYBOOK,
           "-e", "render_root=%s" % out, "-e", "cluster_artifact_mirror=%s" % mirror_url,
           "-e", "ansible_connection=local", "-e", "ansible_become=false",
           "-e", "ansible_python_interpreter=%s" % sys.executable, "--limit", "kube_control_plane[0]", *extra]
    return subprocess.run(cmd, cwd=TOP, env=env, capture_output=True, text=True, timeout=900, check=False)


def test_binaries_without_a_pin_are_refused_and_nothing_is_downloaded(mirror, tmp_path):
    url = mirror[1]
    out = tmp_path / "out"
    out.mkdir()
    proc = download(out, url)
    text = " ".join(proc.stdout.split())
    assert proc.returncode != 0
    for name in BINARIES:
        assert "%s-linux-amd64" % name in text
    assert "kubernetes_node_checksums" in text and "kubernetes_node_trust_mirror_checksums: true" in text
    assert list(out.iterdir()) == []


def test_pinned_binaries_download_and_a_wrong_pin_fails(mirror, tmp_path):
    release, url = mirror
    out = tmp_path / "out"
    out.mkdir()
    pins = {"kubernetes_node_checksums": {"%s-linux-amd64" % n: sha256(release / n) for n in BINARIES}}
    proc = download(out, url, "-e", json.dumps(pins))
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name in BINARIES:
        assert (out / name).read_bytes() == (release / name).read_bytes()
    (release / "kubelet").write_bytes(b"#!/bin/sh\necho tampered\n")
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    proc = download(tampered, url, "-e", json.dumps(pins))
    assert proc.returncode != 0 and "checksum" in proc.stdout.lower()
    assert not (tampered / "kubelet").exists()


def test_the_mirror_checksum_file_is_used_only_when_trusted(mirror, tmp_path):
    release, url = mirror
    for name in BINARIES:
        (release / (name + ".sha256")).write_text(sha256(release / name) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = download(out, url, "-e", "kubernetes_node_trust_mirror_checksums=true")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(BINARIES)
