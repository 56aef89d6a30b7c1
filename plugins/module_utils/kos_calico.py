# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Calico in routed BGP mode: its resources built as data from the cluster model, and validated.

Pure functions over plain data, unit-tested directly; plugins/filter/calico.py wraps them.

- ``resources(kos_cluster, options)`` -> {"calico": [IPPool, BGPConfiguration, BGPPeer ...]
  (projectcalico.org/v3, applied with calicoctl), "core": [Secret, Role, RoleBinding] and
  "nodes": [Node patches: rack label, AS and route-reflector annotations] (applied with
  kubernetes.core.k8s)}.
- ``schema_errors(objects, schemas)``: Calico resources against the JSON schemas of the CRD fields
  we emit (roles/calico/files/schemas); ``core_errors(objects, version)``: core objects with
  kubernetes-validate in strict mode.
- ``patch_manifest(documents, options)``: the upstream calico.yaml, routed (no IPIP, no VXLAN),
  no default pool, images from the mirror.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

API = "projectcalico.org/v3"
RACK_LABEL = "kos.platform/rack"
RR_LABEL = "kos.platform/route-reflector"
AS_ANNOTATION = "projectcalico.org/ASNumber"
RR_ANNOTATION = "projectcalico.org/RouteReflectorClusterID"
IPPOOL_MODES = ("per_node", "shared")
NAME = re.compile(r"[^a-z0-9.-]")

OPTION_DEFAULTS = {
    "ippool_mode": "per_node",
    "nat_outgoing": False,
    # None: the model's (cluster_route_reflectors, kos_cluster.bgp.route_reflectors).
    "route_reflectors": None,
    "route_reflector_cluster_id": "244.0.0.1",
    "passwords": {},
    "password_secret": "calico-bgp-passwords",
    "namespace": "kube-system",
    "service_account": "calico-node",
    "advertise_cluster_ips": True,
    "advertise_external_ips": True,
    "advertise_loadbalancer_ips": True,
    "log_severity": "Info",
    # Graceful restart time the routers keep a restarting node's routes (BGPPeer maxRestartTime).
    "max_restart_time": "120s",
}


class CalicoError(Exception):
    """The model and options cannot make valid Calico resources (names what to change)."""


def resource_name(*parts):
    """A Kubernetes/Calico resource name: lower case, digits, '-' and '.', at most 253."""
    name = "-".join(NAME.sub("-", str(p).lower()) for p in parts if p not in (None, ""))
    return name.strip("-.")[:253]


def _selector_value(value):
    return "'%s'" % str(value).replace("'", "")


def ip_pools(kos_cluster, opts):
    networks = kos_cluster["networks"]
    base = {"blockSize": int(networks["pod_block_prefix"]), "ipipMode": "Never", "vxlanMode": "Never",
            "natOutgoing": bool(opts["nat_outgoing"]), "disabled": False}
    if opts["ippool_mode"] == "shared":
        spec = dict(base, cidr=networks["pod"], nodeSelector="all()")
        return [{"apiVersion": API, "kind": "IPPool", "metadata": {"name": "kos-pods"}, "spec": spec}]
    pools = []
    for host, node in sorted(kos_cluster["nodes"].items()):
        spec = dict(base, cidr=node["pod_block"],
                    nodeSelector="kubernetes.io/hostname == %s" % _selector_value(node["node_name"]))
        pools.append({"apiVersion": API, "kind": "IPPool", "metadata": {"name": resource_name("kos-pods", host)},
                      "spec": spec})
    return pools


def bgp_configuration(kos_cluster, opts):
    networks = kos_cluster["networks"]
    bgp = kos_cluster["bgp"]
    spec = {"logSeverityScreen": opts["log_severity"], "nodeToNodeMeshEnabled": bool(bgp["node_to_node_mesh"]),
            "asNumber": int(bgp["cluster_as_number"])}
    if opts["advertise_cluster_ips"]:
        spec["serviceClusterIPs"] = [{"cidr": networks["service"]}]
    if opts["advertise_external_ips"] and networks.get("external"):
        spec["serviceExternalIPs"] = [{"cidr": c} for c in networks["external"]]
    if opts["advertise_loadbalancer_ips"] and networks.get("loadbalancer"):
        spec["serviceLoadBalancerIPs"] = [{"cidr": c} for c in networks["loadbalancer"]]
    return {"apiVersion": API, "kind": "BGPConfiguration", "metadata": {"name": "default"}, "spec": spec}


def bgp_peers(kos_cluster, opts):
    peers = []
    for name, router in sorted(kos_cluster.get("routers", {}).items()):
        spec = {"peerIP": router["ip"], "asNumber": int(router["as_number"])}
        if opts["max_restart_time"]:
            spec["maxRestartTime"] = str(opts["max_restart_time"])
        # The routers pass each node the blocks of its rack mates, whose AS path holds the node's
        # own AS when nodes share one (global or per-rack AS): accept it that many times.
        if kos_cluster["bgp"].get("allow_local_as"):
            spec["numAllowedLocalASNumbers"] = int(kos_cluster["bgp"]["allow_local_as"])
        racks = router.get("racks") or []
        if racks:
            spec["nodeSelector"] = "%s in { %s }" % (RACK_LABEL, ", ".join(_selector_value(r) for r in racks))
        if opts["passwords"].get(name):
            spec["password"] = {"secretKeyRef": {"name": opts["password_secret"], "key": resource_name(name)}}
        peers.append({"apiVersion": API, "kind": "BGPPeer", "metadata": {"name": resource_name("kos-router", name)},
                      "spec": spec})
    if opts["route_reflectors"]:
        peers.append({"apiVersion": API, "kind": "BGPPeer", "metadata": {"name": "kos-route-reflectors"},
                      "spec": {"nodeSelector": "all()", "peerSelector": "%s == 'true'" % RR_LABEL}})
    return peers


def node_patches(kos_cluster, opts):
    """Kubernetes Node metadata Calico reads in Kubernetes-datastore mode: the rack label (peer
    selectors), the node's AS when it differs from the cluster's, route-reflector marks."""
    patches = []
    mode = kos_cluster["bgp"]["mode"]
    reflectors = set(opts["route_reflectors"])
    for host, node in sorted(kos_cluster["nodes"].items()):
        labels, annotations = {}, {}
        if node.get("rack"):
            labels[RACK_LABEL] = resource_name(node["rack"])
        if mode != "global":
            annotations[AS_ANNOTATION] = str(node["as_number"])
        if host in reflectors:
            labels[RR_LABEL] = "true"
            annotations[RR_ANNOTATION] = str(opts["route_reflector_cluster_id"])
        if labels or annotations:
            metadata = {"name": node["node_name"]}
            if labels:
                metadata["labels"] = labels
            if annotations:
                metadata["annotations"] = annotations
            patches.append({"apiVersion": "v1", "kind": "Node", "metadata": metadata})
    return patches


def core_objects(kos_cluster, opts):
    """The Secret of BGP passwords and the RBAC that lets calico-node read it (only with passwords)."""
    passwords = {resource_name(k): v for k, v in sorted(opts["passwords"].items())
                 if v and k in kos_cluster.get("routers", {})}
    if not passwords:
        return []
    namespace, secret = opts["namespace"], opts["password_secret"]
    role = resource_name(secret, "reader")
    return [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": secret, "namespace": namespace}, "stringData": passwords},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": role, "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret],
                    "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": role, "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": opts["service_account"], "namespace": namespace}]},
    ]


def _options(options, kos_cluster=None):
    opts = dict(OPTION_DEFAULTS)
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    if opts["route_reflectors"] is None:
        opts["route_reflectors"] = list(((kos_cluster or {}).get("bgp") or {}).get("route_reflectors") or [])
    return opts


def option_errors(kos_cluster, options=None):
    """Problems in the calico_* options against the model, each naming the variable and the fix."""
    opts = _options(options, kos_cluster)
    errors = []
    if opts["ippool_mode"] not in IPPOOL_MODES:
        errors.append("calico_ippool_mode is %r: choose per_node (one pool per node, its model pod block) or "
                      "shared (one pool, Calico assigns blocks)" % (opts["ippool_mode"],))
    nodes = kos_cluster.get("nodes") or {}
    unknown = [n for n in opts["route_reflectors"] if n not in nodes]
    if unknown:
        errors.append("calico_route_reflectors names %s, not Kubernetes hosts of the model: list hosts of "
                      "kube_control_plane or kube_node" % ", ".join(sorted(unknown)))
    if opts["route_reflectors"] and kos_cluster["bgp"]["node_to_node_mesh"]:
        errors.append("calico_route_reflectors is set but cluster_node_to_node_mesh is true: route reflectors "
                      "replace the full mesh; set cluster_node_to_node_mesh to false")
    routers = kos_cluster.get("routers") or {}
    for name in sorted(opts["passwords"]):
        if name not in routers:
            errors.append("calico_bgp_passwords has a password for %s, which is not a router of the model "
                          "(%s)" % (name, ", ".join(sorted(routers)) or "none"))
    return errors


def resources(kos_cluster, options=None):
    """All the objects the calico role applies, as data."""
    errors = option_errors(kos_cluster, options)
    if errors:
        raise CalicoError("; ".join(errors))
    opts = _options(options, kos_cluster)
    return {
        "calico": ip_pools(kos_cluster, opts) + [bgp_configuration(kos_cluster, opts)] + bgp_peers(kos_cluster, opts),
        "core": core_objects(kos_cluster, opts),
        "nodes": node_patches(kos_cluster, opts),
    }


def schema_errors(objects, schemas):
    """Validate Calico resources against {kind: JSON schema}; returns ["Kind/name: message", ...]."""
    import jsonschema

    errors = []
    names = set()
    for obj in objects:
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        label = "%s/%s" % (kind, name)
        if kind not in schemas:
            errors.append("%s: no schema for kind %s (have %s)" % (label, kind, ", ".join(sorted(schemas))))
            continue
        if (kind, name) in names:
            errors.append("%s: defined twice" % label)
        names.add((kind, name))
        validator = jsonschema.Draft202012Validator(schemas[kind])
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(top)"
            errors.append("%s: %s: %s" % (label, where, error.message))
    return errors


def core_errors(objects, kubernetes_version):
    """Validate core Kubernetes objects with kubernetes-validate (strict) for a release."""
    import kubernetes_validate

    version = ".".join(str(kubernetes_version).lstrip("v").split(".")[:2]) + ".0"
    errors = []
    for obj in objects:
        label = "%s/%s" % (obj.get("kind"), (obj.get("metadata") or {}).get("name"))
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path) or "(top)"
            # Only the message: the instance may hold a password.
            errors.append("%s: %s: %s" % (label, where, exc.message))
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            errors.append("%s: cannot validate for Kubernetes %s: %s" % (label, version, exc))
    return errors


MANIFEST_ENV = {
    "CALICO_IPV4POOL_IPIP": "Never",
    "CALICO_IPV4POOL_VXLAN": "Never",
    "CALICO_IPV6POOL_VXLAN": "Never",
    "NO_DEFAULT_POOLS": "true",
    "CALICO_NETWORKING_BACKEND": "bird",
    "FELIX_IPINIPENABLED": "false",
    "FELIX_VXLANENABLED": "false",
}


def patch_manifest(documents, node_cidr, registry="", mtu=0):
    """The upstream calico.yaml documents, made routed: no IPIP or VXLAN, no default pool (the role
    creates the pools), node address from the node network, images from the mirror's registry."""
    result = copy.deepcopy([d for d in documents if d])
    found = False
    for doc in result:
        if doc.get("kind") == "ConfigMap" and doc["metadata"].get("name") == "calico-config":
            doc.setdefault("data", {})["calico_backend"] = "bird"
            if mtu:
                doc["data"]["veth_mtu"] = str(mtu)
        spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            image = container.get("image", "")
            if registry and image:
                container["image"] = registry.rstrip("/") + "/" + image.split("/", 1)[1] \
                    if image.startswith("docker.io/") else registry.rstrip("/") + "/" + image
            if doc.get("kind") == "DaemonSet" and container.get("name") == "calico-node":
                found = True
                wanted = dict(MANIFEST_ENV, IP_AUTODETECTION_METHOD="cidr=%s" % node_cidr)
                env = [e for e in container.get("env") or [] if e.get("name") not in wanted]
                env += [{"name": k, "value": v} for k, v in sorted(wanted.items())]
                container["env"] = env
    if not found:
        raise CalicoError("the Calico manifest has no calico-node DaemonSet container: is calico_manifest_url the "
                          "calico.yaml of a Calico release?")
    return result
