# -*- coding: utf-8 -*-
# Copyright: kos.platform contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Day two: which hosts an add, remove or replace touches, what it refuses, and the commands it runs.

Pure data in, data out (no Ansible, no network), so playbooks/node_add.yml, node_remove.yml and
control_plane_replace.yml print the same plan under --check that they carry out, and the unit tests
hold every refusal and every command line to upstream's definitions:

- kubectl cordon / drain / delete node: kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/drain/drain.go
  (NewCmdDrain flags; evictions respect PodDisruptionBudgets unless --disable-eviction, never passed here).
- calicoctl delete node and calicoctl ipam release: projectcalico/calico calicoctl/calicoctl/commands/.
- etcd membership: a cluster of n voting members needs floor(n/2)+1 of them (etcd's raft quorum);
  a removal is allowed only when the members left still form a quorum of the smaller cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def as_host_list(value):
    """A host list from a list or a comma-separated string (-e node_add_hosts=a,b)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(name).strip() for name in value if str(name).strip()]


def routers_of(kos_cluster, hosts):
    """Routers that peer with any of hosts (kos_cluster.routers[*].peers), in name order."""
    wanted = set(as_host_list(hosts))
    routers = (kos_cluster or {}).get("routers") or {}
    return sorted(name for name, router in routers.items()
                  if wanted & {peer.get("name") for peer in router.get("peers") or []})


def _group(groups, name):
    return list((groups or {}).get(name) or [])


def node_add_problems(hosts, groups, given=True):
    """Every reason node_add.yml cannot add hosts (empty: it can). groups: Ansible's groups."""
    names = as_host_list(hosts)
    if not given or not names:
        return ["node_add_hosts is not set: give the new hosts, e.g. -e node_add_hosts=node4,node5 "
                "(they must be in the inventory's kube_node group already)"]
    problems = []
    everyone = set(_group(groups, "all"))
    for name in names:
        if name not in everyone:
            problems.append("%s is not in the inventory: add it to kube_node (with node_ip and node_rack) first"
                            % name)
            continue
        if name not in _group(groups, "kube_node"):
            problems.append("%s is not in the kube_node group: node_add.yml adds Kubernetes nodes only" % name)
        if name in _group(groups, "etcd") or name in _group(groups, "kube_control_plane"):
            problems.append("%s is in etcd or kube_control_plane: a control plane joins through "
                            "playbooks/control_plane_replace.yml, an etcd member through site.yml --tags etcd" % name)
    if len(set(names)) != len(names):
        problems.append("node_add_hosts names a host twice: %s" % ", ".join(names))
    return problems


def quorum(members):
    """Members a cluster of that many voting members needs to accept writes."""
    return members // 2 + 1


def etcd_removal_problems(members, removing):
    """Every reason removing members from etcd would break it (empty: safe).

    members: the cluster's member list as etcd reports it, [{name, healthy}], healthy meaning the
    member answered its health check; removing: names to remove.
    """
    remove = set(as_host_list(removing))
    names = [m.get("name") for m in members]
    healthy = [m.get("name") for m in members if m.get("healthy")]
    problems = []
    if len(healthy) < quorum(len(names)):
        problems.append("etcd has lost its quorum (%d of %d members healthy, %d needed): no member can be removed; "
                        "restore the cluster from a snapshot with playbooks/etcd_restore.yml"
                        % (len(healthy), len(names), quorum(len(names))))
        return problems
    left = [n for n in names if n not in remove]
    if not left:
        problems.append("removing %s would leave etcd without members: refused" % ", ".join(sorted(remove)))
        return problems
    healthy_left = [n for n in healthy if n not in remove]
    if len(healthy_left) < quorum(len(left)):
        problems.append("removing %s would leave %d healthy of %d members, below the quorum of %d: bring the "
                        "unhealthy members back first (%s)"
                        % (", ".join(sorted(remove)), len(healthy_left), len(left), quorum(len(left)),
                           ", ".join(sorted(set(left) - set(healthy_left))) or "none"))
    return problems


def node_remove_problems(hosts, groups, given=True):
    """Every reason node_remove.yml refuses before touching anything (the etcd quorum is checked live)."""
    names = as_host_list(hosts)
    if not given or not names:
        return ["node_remove_hosts is not set: give the hosts to remove, e.g. -e node_remove_hosts=node4"]
    problems = []
    everyone = set(_group(groups, "all"))
    for name in names:
        if name not in everyone:
            problems.append("%s is not in the inventory: remove hosts while they are still listed, then delete "
                            "them from the inventory" % name)
        elif name not in _group(groups, "k8s_cluster") and name not in _group(groups, "etcd"):
            problems.append("%s is neither a Kubernetes host nor an etcd member: nothing to remove" % name)
    planes = _group(groups, "kube_control_plane")
    if planes and not [p for p in planes if p not in names]:
        problems.append("removing %s would remove the last control plane: refused (replace it with "
                        "playbooks/control_plane_replace.yml)" % ", ".join(names))
    etcd = _group(groups, "etcd")
    if etcd and not [m for m in etcd if m not in names]:
        problems.append("removing %s would remove every etcd member: refused" % ", ".join(names))
    return problems


def kubectl_node_argv(kubectl, kubeconfig, node, drain_timeout=300, grace_period=-1):
    """kubectl command lines that take a node out: cordon, drain, delete (in this order).

    drain uses the Eviction API (PodDisruptionBudgets respected: a budget that allows no disruption
    makes it wait, then fail at --timeout, the node staying cordoned); DaemonSet pods are left (their
    controller ignores unschedulable), emptyDir data is deleted with its pod.
    """
    base = [kubectl, "--kubeconfig", kubeconfig]
    return {
        "cordon": base + ["cordon", node],
        "drain": base + ["drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                         "--timeout=%ds" % int(drain_timeout), "--grace-period=%d" % int(grace_period)],
        "delete": base + ["delete", "node", node, "--ignore-not-found"],
    }


def calicoctl_node_argv(calicoctl, node):
    """calicoctl command lines that release a removed node's Calico state.

    `calicoctl delete node` removes the Calico Node resource; Calico's IPAM then releases the node's
    block affinities and addresses (the node is gone from the datastore). `calicoctl ipam check
    --show-problem-ips` reports addresses leaked anyway (`calicoctl ipam release --from-report` frees
    them, an operator's decision). get_node tells whether there is anything to delete (delete with
    --skip-not-exists counts a missing resource as deleted, so its output cannot tell).
    """
    env = ["env", "DATASTORE_TYPE=kubernetes"]
    commands = {
        "get_node": env + [calicoctl, "get", "node", node],
        "delete_node": env + [calicoctl, "delete", "node", node, "--skip-not-exists"],
        "ipam_check": env + [calicoctl, "ipam", "check", "--show-problem-ips"],
    }
    return commands


def remove_plan(kos_cluster, groups, hosts):
    """What node_remove.yml does, host by host, and which routers drop which neighbours."""
    names = as_host_list(hosts)
    model_nodes = (kos_cluster or {}).get("nodes") or {}
    plan = []
    for name in names:
        steps = []
        if name in _group(groups, "k8s_cluster"):
            steps += ["kubectl cordon", "kubectl drain (PodDisruptionBudgets respected)", "kubectl delete node",
                      "calicoctl delete node (releases its IPAM block)"]
        if name in _group(groups, "etcd"):
            steps += ["etcd quorum check", "etcdctl member remove", "stop etcd on the host"]
        steps.append("BGP neighbour removed from %s" % (", ".join(routers_of(kos_cluster, [name])) or "no router"))
        if name in _group(groups, "kube_control_plane") and ((kos_cluster or {}).get("api") or {}).get("mode") \
                == "bgp_vip":
            steps.append("API VIP session removed from its routers")
        node = model_nodes.get(name) if isinstance(model_nodes, dict) else None
        plan.append({"host": name, "steps": steps, "pod_block": (node or {}).get("pod_block")})
    return plan


def plan(kos_cluster, groups, operation, hosts, given=True):
    """The plan node_add.yml or node_remove.yml prints and follows: {hosts, problems, routers, steps}."""
    names = as_host_list(hosts)
    if operation == "add":
        problems = node_add_problems(names, groups, given)
        steps = [{"host": name, "steps": ["every per-host layer of site.yml"]} for name in names]
    elif operation == "remove":
        problems = node_remove_problems(names, groups, given)
        steps = remove_plan(kos_cluster, groups, names)
    else:
        raise ValueError("operation is %r: add or remove" % (operation,))
    routers = routers_of(kos_cluster, names) if not problems else []
    api_servers, proxies = [], []
    if operation == "remove" and not problems:
        api_servers, proxies = followers(kos_cluster, groups, names)
    touched = set(names) | set(routers) | set(api_servers) | set(proxies)
    return {"hosts": names, "problems": problems, "routers": routers, "steps": steps,
            "api_servers": api_servers, "proxies": proxies,
            "untouched": [h for h in _group(groups, "all") if h not in touched]}


def followers(kos_cluster, groups, names):
    """(control planes left whose API server names a removed etcd member in --etcd-servers,
    Kubernetes hosts left whose local API proxy lists a removed control plane)."""
    gone = set(names)
    planes_left = [h for h in _group(groups, "kube_control_plane") if h not in gone]
    api_servers = planes_left if gone & set(_group(groups, "etcd")) else []
    proxies = []
    if gone & set(_group(groups, "kube_control_plane")) and ((kos_cluster or {}).get("api") or {}).get("mode") \
            == "local_proxy":
        proxies = [h for h in _group(groups, "k8s_cluster") if h not in gone]
    return api_servers, proxies


def node_commands(node, options=None):
    """The kubectl and calicoctl command lines that take a node out of the cluster, by step name."""
    options = dict(options or {})
    commands = kubectl_node_argv(options.get("kubectl", "kubectl"),
                                 options.get("kubeconfig", "/etc/kubernetes/admin.conf"), node,
                                 options.get("drain_timeout", 300), options.get("grace_period", -1))
    for step, argv in calicoctl_node_argv(options.get("calicoctl", "calicoctl"), node).items():
        commands["calico_" + step] = argv
    if options.get("kubeconfig"):
        for step in ("calico_get_node", "calico_delete_node", "calico_ipam_check"):
            commands[step].insert(2, "KUBECONFIG=%s" % options["kubeconfig"])
    return commands


def members_health(member_list, health):
    """etcdctl `member list -w json` and `endpoint health -w json` as [{name, id, client_url, healthy}].

    id is the member ID in hex, as `etcdctl member remove` takes it; a member that was added but never
    started has no name and no client URL, and counts as an unhealthy member.
    """
    healthy = {entry.get("endpoint") for entry in health or [] if entry.get("health")}
    members = []
    for member in (member_list or {}).get("members") or []:
        urls = member.get("clientURLs") or []
        members.append({"name": member.get("name") or "", "id": "%x" % int(member["ID"]),
                        "client_url": urls[0] if urls else "",
                        "healthy": bool(set(urls) & healthy)})
    return members


def without_hosts(kos_cluster, hosts):
    """kos_cluster as it is once hosts are gone: out of every router's peers, the nodes, the groups, the etcd
    members, the API VIP sessions and the certificates' SANs.

    node_remove.yml renders the routers' configuration from it while the hosts are still in the
    inventory (they are deleted from it after the run).
    """
    gone = set(as_host_list(hosts))
    model = dict(kos_cluster or {})
    model["routers"] = {name: dict(router, peers=[p for p in router.get("peers") or [] if p.get("name") not in gone])
                        for name, router in (model.get("routers") or {}).items()}
    model["nodes"] = {name: node for name, node in (model.get("nodes") or {}).items() if name not in gone}
    model["groups"] = {name: [h for h in members if h not in gone]
                       for name, members in (model.get("groups") or {}).items()}
    if model.get("etcd"):
        # The API servers' --etcd-servers and kubeadm's ClusterConfiguration come from these members.
        members = [m for m in model["etcd"].get("members") or [] if m.get("name") not in gone]
        model["etcd"] = dict(model["etcd"], members=members,
                             initial_cluster=",".join("%s=%s" % (m["name"], m["peer_url"]) for m in members),
                             client_urls=",".join(m["client_url"] for m in members))
    if model.get("api"):
        model["api"] = _api_without(model["api"], gone)
    if model.get("sans"):
        model["sans"] = {name: sans for name, sans in model["sans"].items() if name not in gone}
    return model


def _api_without(api, gone):
    """kos_cluster.api without the gone control planes: the local proxies' servers, the routers' VIP sessions,
    and an external URL that named a gone control plane (local_proxy without a DNS name) moved to the first left."""
    api = dict(api)
    servers = api.get("servers") or []
    left = [s for s in servers if s.get("name") not in gone]
    gone_ips = {s.get("ip") for s in servers if s.get("name") in gone}
    api["servers"] = left
    if api.get("bgp"):
        api["bgp"] = dict(api["bgp"], sessions=[s for s in api["bgp"].get("sessions") or []
                                                if s.get("control_plane") not in gone])
    url = api.get("external_url") or ""
    host = url.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if url and host in gone_ips and left:
        ip = left[0]["ip"]
        api["external_url"] = "https://%s:%d" % ("[%s]" % ip if ":" in ip else ip, left[0]["port"])
    return api


def replace_problems(lost, new, groups, given=(True, True)):
    """Every reason control_plane_replace.yml refuses before touching anything.

    The operator has already put the new host in the inventory in the lost one's place (the lost
    host is out of the inventory: the cluster model, the routers and the etcd membership are then
    those after the replacement, and the etcd group keeps its odd count).
    """
    lost_names, new_names = as_host_list(lost), as_host_list(new)
    problems = []
    if not given[0] or not lost_names:
        problems.append("control_plane_replace_lost is not set: name the lost control plane "
                        "(-e control_plane_replace_lost=cp3), already deleted from the inventory")
    if not given[1] or not new_names:
        problems.append("control_plane_replace_new is not set: name the new control plane "
                        "(-e control_plane_replace_new=cp4), already in kube_control_plane in the inventory")
    everyone = set(_group(groups, "all"))
    planes = _group(groups, "kube_control_plane")
    for name in lost_names:
        if name in everyone:
            problems.append("%s is still in the inventory: delete it and put the new control plane in its place "
                            "(the model after the replacement is what site.yml converges)" % name)
    for name in new_names:
        if name not in planes:
            problems.append("%s is not in kube_control_plane: add it there (and to etcd, kube_node as the lost one "
                            "was)" % name)
        elif planes and planes[0] == name:
            problems.append("%s is the first host of kube_control_plane, where site.yml runs kubeadm init: list it "
                            "after a running control plane" % name)
    if planes and not [p for p in planes if p not in new_names]:
        problems.append("no running control plane is left in kube_control_plane: with every control plane lost, "
                        "restore etcd from a snapshot (playbooks/etcd_restore.yml) and run site.yml")
    return problems


def replace_plan(kos_cluster, groups, lost, new, given=(True, True)):
    """What control_plane_replace.yml does: {lost, new, problems, etcd, routers, api, steps}."""
    lost_names, new_names = as_host_list(lost), as_host_list(new)
    problems = replace_problems(lost_names, new_names, groups, given)
    etcd = _group(groups, "etcd")
    survivors = [m for m in etcd if m not in new_names]
    planes = [p for p in _group(groups, "kube_control_plane") if p not in new_names]
    new_etcd = [n for n in new_names if n in etcd]
    steps = ["kubectl delete node %s (on %s; no drain: the host is lost)"
             % (", ".join(lost_names), planes[0] if planes else "-"),
             "etcd: quorum check, etcdctl member remove %s (on %s)"
             % (", ".join(lost_names), survivors[0] if survivors else "-")]
    steps.append("site.yml on %s%s: PKI, %skubeadm join --control-plane, node layers" % (
        ", ".join(new_names), (" and the routers " + ", ".join(routers_of(kos_cluster, new_names)))
        if routers_of(kos_cluster, new_names) else "",
        "etcd member add and start, " if new_etcd else ""))
    return {"lost": lost_names, "new": new_names, "problems": problems,
            "etcd": survivors[0] if survivors and not problems else "",
            "api": planes[0] if planes and not problems else "",
            "routers": routers_of(kos_cluster, new_names) if not problems else [],
            "steps": steps}
