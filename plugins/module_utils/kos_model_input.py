# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Reading the cluster model input the same way from every source, before kos_model checks it.

Values reach preflight from YAML (inventory, group_vars, ``-e @file``) with their types, and from
``-e key=value`` as strings. ``normalize`` reads both the same way: a string of digits where a
whole number is expected is that number, a boolean word is a boolean, a string where a list is
expected is a one-item list (or a comma list, or a YAML list ``[a, b]``; never its characters), a
YAML mapping string ``{a: 1}`` is a mapping. Anything else is left as it is, and the checks in
kos_model report it with the expected type and an example.

Variables the model does not know but that look like its own (``cluster_*`` typos, a role's
prefix misspelt, kubespray's well-known names) are reported with the closest known name; the
known names come from every role's meta/argument_specs.yml, so they cannot drift.

Required variables and defaults (the documented choice, README "The cluster model"):

* ``cluster_name`` and ``cluster_node_cidr`` are required: the name tags cloud resources and
  names the cluster's CA directory on the controller, and the node network is the site's own.
* ``cluster_pod_cidr`` and ``cluster_service_cidr`` are required as soon as the model has BGP
  routers (group bgp_routers or cluster_external_bgp_peers): the ranges are then announced to the
  data centre. Without routers they default to 10.244.0.0/16 and 10.96.0.0/16, printed as
  "using default ... for ...".
* ``cluster_domain`` defaults to cluster.local, printed the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import difflib
import glob
import os
import re

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    HAS_YAML = False

INT_KEYS = ("as_number", "pod_block_prefix", "api_port", "api_vip_bgp_port", "api_local_proxy_port")
LIST_KEYS = ("external_ip_cidrs", "loadbalancer_ip_cidrs", "external_bgp_peers", "route_reflectors")
DICT_KEYS = ("rack_as_numbers",)
HOST_INT_KEYS = ("node_as_number", "bgp_router_as_number")
HOST_LIST_KEYS = ("bgp_router_racks",)
REQUIRED = {
    "name": "name the cluster with a DNS label, e.g. kos-prod1 (it tags the cloud resources and names the "
            "cluster's CA directory on the controller, so there is no default)",
}
# Defaults that are used, but said: the announced ones only while nothing is announced.
PRINTED_DEFAULTS = {"domain": "cluster.local", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/16"}
ANNOUNCED = ("pod_cidr", "service_cidr")
# kubespray's names for what the model calls otherwise (kubespray's inventory/sample group_vars).
KUBESPRAY = {
    "kube_pods_subnet": "cluster_pod_cidr",
    "kube_service_addresses": "cluster_service_cidr",
    "kube_network_node_prefix": "cluster_pod_block_prefix",
    "dns_domain": "cluster_domain",
    "kube_version": "cluster_kubernetes_version",
    "kube_apiserver_port": "cluster_api_port",
    "loadbalancer_apiserver": "cluster_api_endpoint",
    "apiserver_loadbalancer_domain_name": "cluster_api_endpoint",
    "global_as_num": "cluster_as_number",
    "local_as": "node_as_number",
    "peers": "cluster_external_bgp_peers",
    "calico_pool_blocksize": "cluster_pod_block_prefix",
    "nodeToNodeMeshEnabled": "cluster_node_to_node_mesh",
    "calico_node_to_node_mesh": "cluster_node_to_node_mesh",
    "kube_network_plugin": None,
    "container_manager": None,
    "etcd_deployment_type": None,
    "kube_proxy_mode": None,
}
# Host variables the model reads (plugins/filter/cluster.py picks them out of hostvars).
HOST_VARIABLES = ("node_ip", "node_name", "node_rack", "node_as_number", "node_pod_block",
                  "bgp_router_as_number", "bgp_router_racks", "bgp_router_password", "bgp_router_upstream_peers")
# Variables of other layers that preflight checks before anything changes.
SETTINGS = ("keystone_auth_keystone_url", "tenancy_role_mapping", "tenancy_level_cluster_roles", "etcd_install_method")
TENANCY_LEVELS = ("admin", "edit", "view")
URL = re.compile(r"^https?://[A-Za-z0-9\[][^/\s?#]*(/\S*)?$")
HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d+$")
ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
SIMILARITY = 0.85


# --------------------------------------------------------------------------- types
def _int(value):
    if isinstance(value, str) and re.match(r"^\s*\d+\s*$", value):
        return int(value)
    return value


def _list(value):
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return []
    if text.startswith("[") and HAS_YAML:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            return value
        return parsed if isinstance(parsed, list) else value
    return [item.strip() for item in text.split(",") if item.strip()]


def _dict(value):
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text == "":
        return {}
    if text.startswith("{") and HAS_YAML:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            return value
        return parsed if isinstance(parsed, dict) else value
    return value


def _announced(model_input, cluster):
    groups = model_input.get("groups") or {}
    peers = cluster.get("external_bgp_peers")
    return bool(groups.get("bgp_routers")) or (isinstance(peers, list) and bool(peers))


def normalize(model_input):
    """A copy of the model input with -e strings read as the type each variable has."""
    if not isinstance(model_input, dict):
        return model_input
    result = copy.copy(model_input)
    cluster = dict(model_input.get("cluster") or {})
    for key in INT_KEYS:
        if key in cluster:
            cluster[key] = _int(cluster[key])
    for key in LIST_KEYS:
        if key in cluster:
            cluster[key] = _list(cluster[key])
    for key in DICT_KEYS:
        if key in cluster:
            cluster[key] = _dict(cluster[key])
    if isinstance(cluster.get("rack_as_numbers"), dict):
        cluster["rack_as_numbers"] = {k: _int(v) for k, v in cluster["rack_as_numbers"].items()}
    if isinstance(cluster.get("external_bgp_peers"), list):
        peers = []
        for peer in cluster["external_bgp_peers"]:
            if isinstance(peer, dict):
                peer = dict(peer)
                if "as_number" in peer:
                    peer["as_number"] = _int(peer["as_number"])
                if "racks" in peer:
                    peer["racks"] = _list(peer["racks"])
            peers.append(peer)
        cluster["external_bgp_peers"] = peers
    if not _announced(model_input, cluster):
        for key in ANNOUNCED:
            if cluster.get(key) in (None, ""):
                cluster[key] = PRINTED_DEFAULTS[key]
    result["cluster"] = cluster
    hosts = {}
    for name, host in (model_input.get("hosts") or {}).items():
        host = dict(host or {})
        for key in HOST_INT_KEYS:
            if key in host:
                host[key] = _int(host[key])
        for key in HOST_LIST_KEYS:
            if key in host:
                host[key] = _list(host[key])
        hosts[name] = host
    result["hosts"] = hosts
    return result


def notices(model_input):
    """The defaults a model uses without saying so in the inventory, one line each."""
    if fatal(model_input):
        return []
    raw = (model_input or {}).get("cluster") or {}
    lines = []
    for key in ("domain", "pod_cidr", "service_cidr"):
        if raw.get(key) in (None, "") and not (key in ANNOUNCED and _announced(model_input, raw)):
            lines.append("using default %s for cluster_%s (set cluster_%s in the inventory to choose)"
                         % (PRINTED_DEFAULTS[key], key, key))
    # A notice, not an error: preflight contacts no host, so it cannot know the package's version (a
    # distribution may ship etcd >= 3.5.24), and the lab and molecule, where kubeadm never runs, use it.
    # kubernetes_control_plane checks the running etcd before kubeadm (tasks/etcd_version.yml).
    settings = (model_input or {}).get("settings") or {}
    planes = ((model_input or {}).get("groups") or {}).get("kube_control_plane") or []
    if settings.get("etcd_install_method") == "package" and planes:
        lines.append("etcd_install_method is package with Kubernetes control planes: kubeadm needs an external etcd "
                     ">= 3.5.24 (Debian 12's etcd-server is 3.4); kubernetes_control_plane stops before kubeadm on "
                     "an older one. Remove it (or set archive) for the version matrix's etcd release")
    return lines


# --------------------------------------------------------------------------- names
_KNOWN = {}


def known_variables(roles_dir=ROLES_DIR):
    """Every variable a role documents in meta/argument_specs.yml (any entry point), plus host variables."""
    if roles_dir in _KNOWN:
        return _KNOWN[roles_dir]
    names = set(HOST_VARIABLES) | set(SETTINGS)
    for path in glob.glob(os.path.join(roles_dir, "*", "meta", "argument_specs.yml")):
        try:
            with open(path) as handle:
                doc = yaml.safe_load(handle) if HAS_YAML else {}
        except (OSError, yaml.YAMLError):
            continue  # the role's own argument validation reports a broken file
        for entry in ((doc or {}).get("argument_specs") or {}).values():
            names.update(((entry or {}).get("options") or {}).keys())
    _KNOWN[roles_dir] = frozenset(names)
    return _KNOWN[roles_dir]


def role_prefixes(roles_dir=ROLES_DIR):
    return sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                  for p in glob.glob(os.path.join(roles_dir, "*", "meta", "argument_specs.yml")))


def _closest(name, candidates, cutoff):
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=cutoff)
    return match[0] if match else None


def unknown_variable_errors(names, known=None, prefixes=None):
    """Problems with variable names that look like the model's but are not known to it."""
    known = known_variables() if known is None else known
    prefixes = role_prefixes() if prefixes is None else prefixes
    errors = []
    for name in sorted(set(names or ())):
        if not isinstance(name, str) or name in known or name.startswith(("_", "ansible_")):
            continue
        if name in KUBESPRAY:
            ours = KUBESPRAY[name]
            if ours:
                errors.append("%s is kubespray's name; kos.platform reads %s: rename it (see inventories/sample)"
                              % (name, ours))
            else:
                errors.append("%s is a kubespray setting that kos.platform does not have: remove it "
                              "(see inventories/sample for the model's variables)" % name)
            continue
        if name.startswith("cluster_"):
            guess = _closest(name[len("cluster_"):], [k[len("cluster_"):] for k in known if k.startswith("cluster_")],
                             0.7)
            if guess:
                guess = "cluster_" + guess
                errors.append("%s is not a variable of the cluster model: did you mean %s?" % (name, guess))
            else:
                errors.append("%s is not a variable of the cluster model: remove it, or see "
                              "roles/preflight/meta/argument_specs.yml for the model's variables" % name)
            continue
        guess = _closest(name, known, SIMILARITY)
        if guess:
            errors.append("%s is not a kos.platform variable: did you mean %s?" % (name, guess))
            continue
        if any(name.startswith(p + "_") for p in prefixes):
            continue
        for prefix in prefixes:  # a misspelt role prefix: calcio_version for calico_version
            head = name[:len(prefix)]
            if name[len(prefix):len(prefix) + 1] != "_" or difflib.SequenceMatcher(None, head, prefix).ratio() < 0.8:
                continue
            guess = _closest(prefix + name[len(prefix):], [k for k in known if k.startswith(prefix + "_")], 0.8)
            if guess:
                errors.append("%s is not a kos.platform variable (the prefix looks like role %s): did you mean %s?"
                              % (name, prefix, guess))
                break
    return errors


# --------------------------------------------------------------------------- checks
def fatal(model_input):
    """A problem that makes every other message noise: an inventory without hosts."""
    groups = (model_input or {}).get("groups")
    if isinstance(groups, dict) and "all" in groups and not groups.get("all"):
        return ["the inventory has no hosts: check the -i path (a typo there gives an empty inventory and "
                "no group_vars) or add the cluster's hosts to it"]
    return []


def _labels_problem(value):
    for label in value.split("."):
        if len(label) > 63:
            return "its label %r has %d characters; a DNS label has at most 63" % (label[:20] + "...", len(label))
    return None


def _url_problem(value):
    if not isinstance(value, str):
        return "is %r, not a URL" % (value,)
    if not URL.match(value):
        return "is %r, not an http(s) URL" % (value,)
    return None


def errors(model_input):
    """Problems of the input that kos_model's own checks do not see, each naming the variable and the fix."""
    result = []
    raw = (model_input or {}).get("cluster") or {}
    for key, fix in sorted(REQUIRED.items()):
        if raw.get(key) in (None, ""):
            result.append("cluster_%s is not set: %s" % (key, fix))
    names = list((model_input or {}).get("variables") or [])
    for host in ((model_input or {}).get("hosts") or {}).values():
        names += (host or {}).get("variables") or []
    if names:
        result.extend(unknown_variable_errors(names))
    domain = raw.get("domain")
    if isinstance(domain, str) and _labels_problem(domain):
        result.append("cluster_domain is %r: %s; shorten it" % (domain, _labels_problem(domain)))
    name = raw.get("name")
    if isinstance(name, str) and "." in name and raw.get("domain") in (None, ""):
        result.append("cluster_name is %r, a DNS domain: kubespray's cluster_name is the domain, here it names the "
                      "cluster; set cluster_domain: %s and a cluster_name such as kos-prod1" % (name, name))
    mirror = raw.get("artifact_mirror")
    if mirror not in (None, ""):
        problem = _url_problem(mirror)
        if problem:
            result.append("cluster_artifact_mirror %s: write it with its scheme, e.g. "
                          "https://artifactory.example.com/artifactory" % problem)
    port = raw.get("api_port", 6443)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        result.append("cluster_api_port is %r, not a TCP port: give a whole number from 1 to 65535, e.g. 6443"
                      % (port,))
    result.extend(_endpoint_errors(raw.get("api_endpoint")))
    result.extend(_host_name_errors(model_input))
    result.extend(_settings_errors((model_input or {}).get("settings") or {}))
    return result


def merge_errors(errors, own):
    """Add this module's messages to kos_model's; a form problem of cluster_api_endpoint said here
    (a URL, a port) replaces the generic "neither an IP address nor a DNS name" of kos_api_endpoint."""
    if any(m.startswith("cluster_api_endpoint is ") for m in own):
        errors[:] = [e for e in errors if not (e.startswith("cluster_api_endpoint is ") and "neither an IP" in e)]
    errors.extend(own)


def _endpoint_errors(endpoint):
    if not isinstance(endpoint, str) or not endpoint:
        return []
    if "://" in endpoint:
        host = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", endpoint).split("/")[0]
        host, _sep, port = host.rpartition(":") if HOST_PORT.match(host) else (host, "", "")
        return ["cluster_api_endpoint is %r, a URL: give only the host name or address (%s); the scheme is always "
                "https and the port is cluster_api_port%s" % (endpoint, host, " (%s)" % port if port else "")]
    if HOST_PORT.match(endpoint):
        host, _sep, port = endpoint.rpartition(":")
        return ["cluster_api_endpoint is %r, with a port: give only the host name or address (%s) and set "
                "cluster_api_port: %s" % (endpoint, host, port)]
    return []


def _host_name_errors(model_input):
    groups = (model_input or {}).get("groups") or {}
    hosts = (model_input or {}).get("hosts") or {}
    seen = set()
    result = []
    for group in ("etcd", "kube_control_plane", "kube_node", "bgp_routers", "image_builders"):
        for name in groups.get(group) or []:
            if name in seen:
                continue
            seen.add(name)
            node_name = str((hosts.get(name) or {}).get("node_name") or name)
            problem = _labels_problem(node_name)
            if problem:
                var = "node_name of %s" % name if (hosts.get(name) or {}).get("node_name") else "host name %s" % name
                result.append("%s is too long for a host name: %s; rename it (or set node_name)"
                              % (var, problem))
    return result


def _settings_errors(settings):
    result = []
    url = settings.get("keystone_auth_keystone_url")
    if url not in (None, ""):
        problem = _url_problem(url)
        if problem:
            result.append("keystone_auth_keystone_url %s: give Keystone's v3 URL, the users' OS_AUTH_URL, e.g. "
                          "https://keystone.example.com:5000/v3" % problem)
        elif not re.search(r"/v3/?$", url):
            result.append("keystone_auth_keystone_url is %r, not Keystone's v3 API: end it with /v3, e.g. "
                          "https://keystone.example.com:5000/v3" % (url,))
    mapping = settings.get("tenancy_role_mapping")
    if mapping is not None:
        mapping = _dict(mapping)
        if not isinstance(mapping, dict):
            result.append("tenancy_role_mapping is %r, not a mapping: give {Keystone role: level}, e.g. "
                          "{admin: admin, member: edit, reader: view}" % (mapping,))
        else:
            for role, level in sorted(mapping.items(), key=lambda kv: str(kv[0])):
                if level == "cluster-admin" or str(level).startswith("system:"):
                    result.append("tenancy_role_mapping maps Keystone role %r onto %r: tenancy never grants "
                                  "cluster-admin or system: roles (they reach past every namespace); map it to "
                                  "admin, edit or view" % (role, level))
                elif level not in TENANCY_LEVELS:
                    result.append("tenancy_role_mapping maps Keystone role %r onto %r, not a permission level: "
                                  "use admin, edit or view" % (role, level))
    levels = settings.get("tenancy_level_cluster_roles")
    if isinstance(levels, dict):
        for level, role in sorted(levels.items(), key=lambda kv: str(kv[0])):
            if role == "cluster-admin" or str(role).startswith("system:"):
                result.append("tenancy_level_cluster_roles maps level %r onto %r: tenancy never grants "
                              "cluster-admin or system: roles; bind a namespaced ClusterRole such as %s"
                              % (level, role, level if level in TENANCY_LEVELS else "edit"))
    return result


def image_builder_address_errors(model_input, nets, host_ip, ip):
    """Image builders' addresses: their own, outside the cluster's virtual ranges."""
    groups = (model_input or {}).get("groups") or {}
    hosts = (model_input or {}).get("hosts") or {}
    others = {}
    for group in ("etcd", "kube_control_plane", "kube_node", "bgp_routers"):
        for name in groups.get(group) or []:
            addr = ip(host_ip(hosts, name) or "")
            if addr is not None:
                others.setdefault(str(addr), name)
    result = []
    for name in groups.get("image_builders") or []:
        raw = host_ip(hosts, name)
        addr = ip(raw or "")
        if addr is None:
            if (hosts.get(name) or {}).get("node_ip") not in (None, ""):
                result.append("node_ip of image builder %s is %r, not an IP address: give its address"
                              % (name, raw))
            continue
        if str(addr) in others and others[str(addr)] != name:
            result.append("image builder %s has the address %s of host %s: give each host its own address"
                          % (name, addr, others[str(addr)]))
        for var, net in sorted(nets.items()):
            if var != "cluster_node_cidr" and net.version == addr.version and addr in net:
                result.append("image builder %s has the address %s, inside %s (%s): host addresses must lie "
                              "outside the pod, service and external ranges" % (name, addr, var, net.cidr))
    return result


# --------------------------------------------------------------------------- image pipelines
# Ansible's own variables in every play's scope; never the user's typos.
MAGIC = frozenset(("groups", "group_names", "hostvars", "inventory_hostname", "inventory_hostname_short",
                   "inventory_dir", "inventory_file", "omit", "play_hosts", "playbook_dir", "role_name",
                   "role_names", "role_path", "environment", "vars"))


def image_errors(names, values, known=None, prefixes=None):
    """Preflight of the image pipelines: unknown variable names and the forms of URLs and registries."""
    result = unknown_variable_errors([n for n in names if n not in MAGIC], known, prefixes)
    for name, value in sorted((values or {}).items()):
        if value in (None, "") or not isinstance(name, str):
            continue
        if name.endswith("_url") or name == "cluster_artifact_mirror":
            problem = _url_problem(value)
            if problem:
                result.append("%s %s: write it with its scheme, e.g. https://artifactory.example.com/artifactory"
                              % (name, problem))
        elif name.endswith("_registry"):
            if not isinstance(value, str) or not re.match(
                    r"^([a-z]+://)?[A-Za-z0-9][A-Za-z0-9.-]*(:\d+)?(/\S*)?$", value.strip()):
                result.append("%s is %r, not a registry: give host[:port] or host/<repository-key>, e.g. "
                              "artifactory.example.com" % (name, value))
    return result
