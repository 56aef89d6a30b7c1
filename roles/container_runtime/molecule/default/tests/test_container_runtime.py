"""container_runtime on lab hosts: containerd on the Kubernetes node, Docker on the builder."""

import json
import os
import sys

import pytest

# The pause tag the cluster's Kubernetes release expects comes from the version matrix.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", ".collections"))
from ansible_collections.kos.platform.plugins.module_utils import kos_versions  # noqa: E402

PAUSE = kos_versions.MATRIX[kos_versions.DEFAULT_MINOR]["pause"]

testinfra_hosts = ["ansible://all"]
MIRROR = "https://artifactory.example.com/artifactory/api/docker/"


@pytest.fixture
def role(host):
    return "node" if host.backend.get_hostname() == "runtime-node" else "builder"


def test_containerd_runs_with_kubernetes_settings(host, role):
    if role != "node":
        pytest.skip("containerd is configured for Kubernetes on Kubernetes hosts only")
    service = host.service("containerd")
    assert service.is_running and service.is_enabled
    # What containerd itself parsed, not just the file we wrote.
    dump = host.check_output("containerd config dump")
    assert "SystemdCgroup = true" in dump
    assert 'sandbox_image = "registry.k8s.io/pause:%s"' % PAUSE in dump
    assert 'config_path = "/etc/containerd/certs.d"' in dump
    assert host.socket("unix:///run/containerd/containerd.sock").is_listening


@pytest.mark.parametrize("registry,repository", [
    ("docker.io", "docker-remote"),
    ("registry.k8s.io", "registry-k8s-io-remote"),
    ("quay.io", "quay-remote"),
])
def test_registry_mirrors_point_at_the_artifact_mirror(host, role, registry, repository):
    if role != "node":
        pytest.skip("containerd mirrors live on Kubernetes hosts")
    hosts_toml = host.file(f"/etc/containerd/certs.d/{registry}/hosts.toml").content_string
    assert f'[host."{MIRROR}{repository}"]' in hosts_toml
    assert 'capabilities = ["pull", "resolve"]' in hosts_toml


def test_docker_only_on_builders(host, role):
    installed = host.package("docker.io").is_installed
    assert installed == (role == "builder")


def test_docker_engine_runs_with_systemd_cgroups_and_mirror(host, role):
    if role != "builder":
        pytest.skip("Docker Engine runs on image builders")
    service = host.service("docker")
    assert service.is_running and service.is_enabled
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["CgroupDriver"] == "systemd"
    assert info["RegistryConfig"]["Mirrors"] == ["https://docker-remote.artifactory.example.com/"]
