# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters for Calico in routed BGP mode (documentation in the .yml files beside this one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

from ansible.errors import AnsibleFilterError

from ansible_collections.kos.platform.plugins.module_utils import kos_calico


def calico_resources(kos_cluster, options=None):
    """Calico resources, core objects and Node patches of the cluster, as data."""
    try:
        return kos_calico.resources(kos_cluster, options)
    except kos_calico.CalicoError as exc:
        raise AnsibleFilterError("calico_resources: %s" % exc) from exc
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("calico_resources: kos_cluster lacks %s; run the preflight role first" % exc) from exc


def _schemas(schema_dir):
    schemas = {}
    for path in sorted(glob.glob(os.path.join(schema_dir, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            schemas[os.path.splitext(os.path.basename(path))[0]] = json.load(handle)
    if not schemas:
        raise AnsibleFilterError("calico_resource_errors: no JSON schema in %s" % schema_dir)
    return schemas


def calico_resource_errors(objects, schema_dir):
    """Problems of Calico resources against the JSON schemas (<Kind>.json) in schema_dir."""
    try:
        return kos_calico.schema_errors(objects, _schemas(schema_dir))
    except ImportError as exc:
        raise AnsibleFilterError("calico_resource_errors needs the Python library jsonschema on the controller: "
                                 "pip install jsonschema (%s)" % exc) from exc


def calico_core_errors(objects, kubernetes_version):
    """Problems of core Kubernetes objects (kubernetes-validate --strict) for a release."""
    try:
        return kos_calico.core_errors(objects, kubernetes_version)
    except ImportError as exc:
        raise AnsibleFilterError("calico_core_errors needs kubernetes-validate on the controller: "
                                 "pip install kubernetes-validate (%s)" % exc) from exc


def calico_manifest(documents, node_cidr, registry=""):
    """The upstream calico.yaml documents, routed (no IPIP/VXLAN), no default pool, mirrored images."""
    try:
        return kos_calico.patch_manifest(list(documents), node_cidr, registry)
    except kos_calico.CalicoError as exc:
        raise AnsibleFilterError("calico_manifest: %s" % exc) from exc


class FilterModule(object):
    def filters(self):
        return {
            "calico_resources": calico_resources,
            "calico_resource_errors": calico_resource_errors,
            "calico_core_errors": calico_core_errors,
            "calico_manifest": calico_manifest,
        }
