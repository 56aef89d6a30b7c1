"""The version-matrix filters as Ansible calls them (plugins/filter/versions.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.filter import versions
from ansible_collections.kos.platform.plugins.module_utils import kos_versions

URLS = {"calicoctl-linux-amd64": "https://mirror.example/calico/v3.32.1/calicoctl-linux-amd64"}


@pytest.mark.parametrize("word, trusted", [("false", False), ("no", False), (False, False), ("true", True),
                                           (True, True), ("yes", True)])
def test_trust_is_read_as_a_boolean_word(word, trusted):
    """-e calico_trust_mirror_checksums=false arrives as the string 'false': it must not mean trust."""
    checksum = versions.artifact_checksums(URLS, {}, word)["calicoctl-linux-amd64"]
    assert bool(checksum) is trusted
    assert (versions.refused_downloads(URLS, {}, word, "calico") == []) is trusted


def test_a_non_boolean_trust_names_the_variable():
    with pytest.raises(AnsibleFilterError, match="calico_trust_mirror_checksums is 'maybe'"):
        versions.refused_downloads(URLS, {}, "maybe", "calico")


def test_kubernetes_versions_outside_the_matrix_is_a_filter_error_naming_the_matrix():
    assert versions.kubernetes_versions("v1.37.1") == kos_versions.for_kubernetes("1.37.1")
    with pytest.raises(AnsibleFilterError, match="outside the supported-version matrix"):
        versions.kubernetes_versions("1.31.4")


def test_filters_are_registered():
    assert set(versions.FilterModule().filters()) == {
        "kubernetes_versions", "artifact_checksums", "refused_downloads", "unpinned_artifacts"}
