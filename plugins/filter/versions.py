# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters over the supported-version matrix (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.kos.platform.plugins.module_utils import kos_versions


def kubernetes_versions(version):
    """The supported-version matrix entry of a Kubernetes release."""
    try:
        return kos_versions.for_kubernetes(str(version))
    except KeyError as exc:
        raise AnsibleFilterError(str(exc.args[0])) from exc


def _trust(value, role="the role"):
    """A boolean word read strictly: -e name=false is the string 'false', which is not trust."""
    try:
        return boolean(value, strict=True)
    except TypeError as exc:
        raise AnsibleFilterError("%s_trust_mirror_checksums is %r: give true or false" % (role, value)) from exc


def artifact_checksums(urls, pins=None, trust_mirror=False):
    """get_url checksum arguments of downloads {artifact: url}: a pin, the mirror's .sha256 if trusted, or ''."""
    return kos_versions.download_checksums(urls, pins or {}, _trust(trust_mirror))


def refused_downloads(urls, pins, trust_mirror, role):
    """Messages for downloads that have no pin and whose role does not trust the mirror."""
    return kos_versions.refused_downloads(urls, pins or {}, _trust(trust_mirror, role), role)


def unpinned_artifacts(version, pins=None, trusted_roles=None):
    """One line per artifact of the version without a pinned sha256 (for preflight)."""
    return kos_versions.unpinned_report(str(version), pins or {}, tuple(trusted_roles or ()))


class FilterModule(object):
    def filters(self):
        return {
            "kubernetes_versions": kubernetes_versions,
            "artifact_checksums": artifact_checksums,
            "refused_downloads": refused_downloads,
            "unpinned_artifacts": unpinned_artifacts,
        }
