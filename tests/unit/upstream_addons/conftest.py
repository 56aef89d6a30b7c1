"""One render of the add-ons for every Kubernetes minor of the version matrix, shared by the tests here."""

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_versions

from .upstream import MINORS, render


@pytest.fixture(scope="session")
def rendered_all(tmp_path_factory):
    out = tmp_path_factory.mktemp("addons")
    render(str(out), MINORS)
    return out


@pytest.fixture(scope="session", params=MINORS)
def rendered(request, rendered_all):
    """(minor, matrix entry, output directory) of the add-ons rendered for the sample inventory."""
    minor = request.param
    return minor, kos_versions.for_kubernetes(minor), rendered_all / minor
