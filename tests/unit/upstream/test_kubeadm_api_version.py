"""The kubeadm API version follows the Kubernetes version (the supported-version matrix), and it is one
kubeadm of that minor reads and one tests/schemas holds.

Which kubeadm reads which API (kubernetes/kubernetes): v1beta4 enabled in 1.31 (PR #125029, "v1beta3 is
now marked as deprecated"); v1beta3 removed by PR #136016 ("The 1.35 kubeadm binary can be used to migrate to
v1beta4"; kubeadm.k8s.io/v1 is a placeholder that "cannot be used yet"), which is listed in
CHANGELOG/CHANGELOG-1.37.md @ v1.37.0-alpha.1 (df0a31e010ea, "Changelog since v1.36.0") and not in the v1.36.0
notes of CHANGELOG-1.36.md (008b3652959c): kubeadm 1.36 still reads v1beta3, 1.37 does not.
"""

import os

import yaml

from ansible_collections.kos.platform.plugins.module_utils import kos_versions
from tests.unit.upstream import config_types

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def kubeadm_reads(minor):
    major_minor = tuple(int(p) for p in minor.split(".")[:2])
    apis = set()
    if major_minor >= (1, 31):
        apis.add("kubeadm.k8s.io/v1beta4")
    if (1, 22) <= major_minor <= (1, 36):
        apis.add("kubeadm.k8s.io/v1beta3")
    return apis


def role_vars(role):
    with open(os.path.join(TOP, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_every_supported_minor_uses_an_api_its_kubeadm_reads_and_we_hold_a_schema_for():
    assert kos_versions.MATRIX
    for minor, entry in kos_versions.MATRIX.items():
        api = kos_versions.for_kubernetes(entry["kubernetes"])["kubeadm_api"]
        assert api in kubeadm_reads(minor), (minor, api)
        assert api in config_types.API_VERSIONS, (minor, api)
    assert kubeadm_reads("1.37") == {"kubeadm.k8s.io/v1beta4"}
    assert "kubeadm.k8s.io/v1beta3" in kubeadm_reads("1.36")


def test_roles_take_the_api_from_the_matrix_with_the_default_minors_value_as_fallback():
    default_api = kos_versions.for_kubernetes(kos_versions.DEFAULT_VERSION)["kubeadm_api"]
    for role, prefix in (("kubernetes_control_plane", "__kubernetes_control_plane"),
                         ("kubernetes_node", "__kubernetes_node")):
        variables = role_vars(role)
        assert "kos_cluster.versions.kubeadm_api" in variables[prefix + "_kubeadm_api"]
        assert variables[prefix + "_kubeadm_api_default"] == default_api
