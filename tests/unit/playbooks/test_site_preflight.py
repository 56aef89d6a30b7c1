"""site.yml stops in preflight, before any host is contacted, when the model is invalid."""

import json
import os
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def run_site(inventory, *extra, playbook="site.yml"):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
               ANSIBLE_FACT_CACHING="memory")
    proc = subprocess.run(["ansible-playbook", "-i", inventory, playbook, *extra], cwd=TOP, env=env,
                          capture_output=True, text=True, timeout=300)
    return proc, json.loads(proc.stdout)


def test_overlapping_cidrs_stop_in_preflight_before_any_host():
    proc, result = run_site(os.path.join(TOP, "tests/unit/inventories/overlap"))
    assert proc.returncode == 2
    plays = result["plays"]
    # Only the first play ran: the controller-side model check.
    assert len(plays) == 1 and plays[0]["play"]["name"].startswith("Preflight - validate the cluster model")
    failed = [(task["task"]["name"], res) for task in plays[0]["tasks"] for res in task["hosts"].values()
              if res.get("failed")]
    assert len(failed) == 1
    name, res = failed[0]
    assert name.endswith("Validate the cluster model")
    message = "\n".join(res["msg"])
    assert "cluster_pod_cidr (10.96.0.0/16) overlaps cluster_service_cidr (10.96.0.0/12)" in message
    assert "cluster_node_cidr (192.0.2.0/24) overlaps cluster_external_ip_cidrs[0] (192.0.2.128/25)" in message
    assert "group etcd" not in message
    # No host was ever unreachable: nothing tried to connect.
    stats = result["stats"]
    assert all(s["unreachable"] == 0 for s in stats.values())
    assert all(s["changed"] == 0 for s in stats.values())


def test_sample_inventory_derives_the_documented_model():
    # model.yml runs only the controller-side preflight: the sample's hosts are never contacted.
    proc, result = run_site(os.path.join(TOP, "inventories/sample"),
                            playbook=os.path.join(TOP, "tests/unit/playbooks/model.yml"))
    assert proc.returncode == 0, proc.stderr
    shown = [res["msg"] for task in result["plays"][0]["tasks"] for res in task["hosts"].values()
             if task["task"]["name"] == "Show the model"]
    model = shown[0]
    assert sorted(model["nodes"]) == ["cp1", "cp2", "cp3", "node1", "node2", "node3"]
    assert model["service_ips"]["dns"] == "10.96.0.10"
    assert model["etcd"]["client_urls"] == "https://192.0.2.11:2379,https://192.0.2.12:2379,https://192.0.2.13:2379"
    # The data-centre model: each node peers with the two routers of its rack, no mesh.
    assert [p["name"] for p in model["routers"]["tor1a"]["peers"]] == ["cp1", "node1"]
    assert [p["name"] for p in model["routers"]["tor2b"]["peers"]] == ["cp2", "node2"]
    assert model["bgp"]["node_to_node_mesh"] is False and model["bgp"]["routes_from_routers"] == "pod_blocks"
    # every host of the play got the same fact (6 Kubernetes hosts, 6 routers, 1 builder)
    assert len(shown) == 13


# --- every entry point stops in its preflight, with nothing contacted ------------------------------
# The runs share one Python process that imported Ansible once (tests/unit/preflight/playbook_pool.py).
OVERLAP = os.path.join(TOP, "tests/unit/inventories/overlap")
OVERLAP_MESSAGE = ("cluster_pod_cidr (10.96.0.0/16) overlaps cluster_service_cidr (10.96.0.0/12): every cluster "
                   "range must be disjoint; move one of them")
ENTRY_POINTS = [
    # id, inventory, playbook, extra arguments, message
    ("site.yml inventory path typo", os.path.join(TOP, "inventories", "smaple"), "site.yml", [],
     "the inventory has no hosts: check the -i path (a typo there gives an empty inventory and no group_vars) "
     "or add the cluster's hosts to it"),
    ("site.yml -e string types", OVERLAP, "site.yml", ["-e", "cluster_as_number=64513", "-e", "cluster_api_port=6443",
                                                      "-e", "cluster_pod_block_prefix=25"], OVERLAP_MESSAGE),
    ("provision.yml", OVERLAP, "playbooks/provision.yml", ["-e", "openstack_infra_cloud=kos-nowhere"],
     OVERLAP_MESSAGE),
    ("provision.yml inventory path typo", os.path.join(TOP, "inventories", "no-such"), "playbooks/provision.yml",
     ["-e", "openstack_infra_cloud=kos-nowhere"],
     "the inventory has no hosts: check the -i path (a typo there gives an empty inventory and no group_vars) "
     "or add the cluster's hosts to it"),
    ("tenancy.yml", OVERLAP, "playbooks/tenancy.yml",
     ["-e", '{"tenancy_role_mapping": {"admin": "cluster-admin"}, "tenancy_cloud": "kos-nowhere"}'],
     "tenancy_role_mapping maps Keystone role 'admin' onto 'cluster-admin': tenancy never grants cluster-admin "
     "or system: roles (they reach past every namespace); map it to admin, edit or view"),
    ("etcd_backup.yml", OVERLAP, "playbooks/etcd_backup.yml", [], OVERLAP_MESSAGE),
    ("etcd_restore.yml", OVERLAP, "playbooks/etcd_restore.yml",
     ["-e", "etcd_restore_snapshot=/nonexistent.db", "-e", "etcd_restore_confirm=true"], OVERLAP_MESSAGE),
    ("verify.yml", OVERLAP, "playbooks/verify.yml", [], OVERLAP_MESSAGE),
    ("images/vm.yml", None, "playbooks/images/vm.yml",
     ["-e", "packer_image_servce=billing", "-e", "packer_image_artifactory_url=artifactory.example.com"],
     "packer_image_servce is not a kos.platform variable: did you mean packer_image_service?"),
    ("images/container.yml", None, "playbooks/images/container.yml",
     ["-e", "container_image_registry=https://", "-e", "container_image_name=services/billing"],
     "container_image_registry is 'https://', not a registry: give host[:port] or host/<repository-key>, e.g. "
     "artifactory.example.com"),
    ("images/baremetal.yml", None, "playbooks/images/baremetal.yml",
     ["-e", "dib_image_artifactory_url=artifactory.example.com/artifactory"],
     "dib_image_artifactory_url is 'artifactory.example.com/artifactory', not an http(s) URL: write it with its "
     "scheme, e.g. https://artifactory.example.com/artifactory"),
]


@pytest.fixture(scope="module")
def entry_point_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("entry-points")
    clouds = tmp / "clouds.yaml"  # a cloud on a closed loopback port: reaching it would fail the run differently
    clouds.write_text("clouds:\n  kos-nowhere:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n")
    jobs = []
    for index, (_, inventory, playbook, extra, _) in enumerate(ENTRY_POINTS):
        args = (["-i", inventory] if inventory else []) + [os.path.join(TOP, playbook)] + extra
        jobs.append({"args": args, "out": str(tmp / ("run%02d.json" % index))})
    (tmp / "jobs.json").write_text(json.dumps(jobs))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
               ANSIBLE_FACT_CACHING="memory", OS_CLIENT_CONFIG_FILE=str(clouds))
    env.pop("OS_CLOUD", None)
    subprocess.run([sys.executable, os.path.join(TOP, "tests/unit/preflight/playbook_pool.py"),
                    str(tmp / "jobs.json"), "2"], cwd=TOP, env=env, check=True, timeout=600)
    return {entry[0]: job["out"] for entry, job in zip(ENTRY_POINTS, jobs, strict=True)}


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_invalid_input_stops_every_entry_point_in_preflight(entry_point_runs, entry):
    out = entry_point_runs[entry[0]]
    rc = open(out + ".rc").read()
    result = json.loads(open(out).read())
    assert rc == "2", open(out + ".err").read()
    plays = result["plays"]
    assert len(plays) == 1 and plays[0]["play"]["name"].startswith("Preflight"), [p["play"]["name"] for p in plays]
    failed = [res for task in plays[0]["tasks"] for res in task["hosts"].values() if res.get("failed")]
    assert len(failed) == 1
    assert entry[4] in failed[0]["msg"], failed[0]["msg"]
    # -e cluster_as_number=64513, cluster_api_port=6443, cluster_pod_block_prefix=25 are read as numbers
    assert [m for m in failed[0]["msg"] if "whole number" in m or "TCP port" in m] == []
    assert all(s["unreachable"] == 0 and s["changed"] == 0 for s in result["stats"].values())


def test_command_line_numbers_are_read_as_numbers_end_to_end():
    # -e key=value gives the play strings; preflight reads them as the numbers they spell.
    proc, result = run_site(os.path.join(TOP, "inventories/sample"), "-e", "cluster_api_port=6443",
                            "-e", "cluster_pod_block_prefix=25", "-e", "cluster_as_number=64513",
                            playbook=os.path.join(TOP, "tests/unit/playbooks/model.yml"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    shown = [res["msg"] for task in result["plays"][0]["tasks"] for res in task["hosts"].values()
             if task["task"]["name"] == "Show the model"]
    model = shown[0]
    assert model["api"]["port"] == 6443
    assert model["networks"]["pod_block_prefix"] == 25
    # cluster_as_number=64513 was accepted too (the run passed preflight)


def test_os_families_from_the_command_line_are_a_list_not_characters():
    # This controller runs Debian: "NotDebian" must not match it as a substring would, "Debian,RedHat" must.
    playbook = os.path.join(TOP, "tests/unit/playbooks/os_check.yml")
    proc, result = run_site("localhost,", "-e", "preflight_supported_os_families=NotDebian", playbook=playbook)
    assert proc.returncode == 2, proc.stdout[-2000:]
    failed = [res for task in result["plays"][0]["tasks"] for res in task["hosts"].values() if res.get("failed")]
    # One check for all hosts: a list with one line per unsupported host, each naming the host.
    assert len(failed) == 1 and len(failed[0]["msg"]) == 1
    assert failed[0]["msg"][0].startswith("localhost runs ")
    assert "which kos.platform does not support: use a host of the NotDebian family" in failed[0]["msg"][0]
    proc, result = run_site("localhost,", "-e", "preflight_supported_os_families=Debian,RedHat", playbook=playbook)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_site_runs_the_model_preflight_once_though_tenancy_yml_has_its_own():
    # site.yml imports playbooks/tenancy.yml, whose first play is the same preflight (for tenancy.yml run
    # alone). In site.yml's run kos_cluster is already derived: that play ends at its first task instead
    # of validating and deriving the model a second time. site_hosts matches no host and the converter is
    # off, so nothing is contacted.
    proc, result = run_site(os.path.join(TOP, "inventories/sample"), "--tags", "tenancy",
                            "-e", "site_hosts=no-such-host", "-e", "tenancy_enabled=false")
    assert proc.returncode == 0, proc.stderr
    preflights = [p for p in result["plays"] if p["play"]["name"].startswith("Preflight - validate the cluster model")]
    assert len(preflights) == 2
    ran = [t["task"]["name"] for p in preflights for t in p["tasks"] if t["hosts"]]
    validated = [n for n in ran if n.endswith("Validate the cluster model")]
    assert validated == ["kos.platform.preflight : Validate the cluster model"]
    assert [t["task"]["name"] for t in preflights[1]["tasks"]] == [
        "End here when this run's preflight has already derived kos_cluster"]
    # tenancy.yml run alone still stops in its own preflight: ENTRY_POINTS above.


def test_no_play_of_site_yml_gathers_facts_itself():
    """The survey of the preflight play gives every layer its facts (min and virtual subsets, the swap
    total); a play left with gather_facts on gathered every fact of every host again under Ansible's
    default `gathering = implicit` (and under `smart`, when the survey had not marked them gathered)."""
    import yaml

    for path in ("site.yml", "playbooks/tenancy.yml"):
        with open(os.path.join(TOP, path), encoding="utf-8") as handle:
            plays = yaml.safe_load(handle)
        gathering = [play["name"] for play in plays
                     if "import_playbook" not in play and "ansible.builtin.import_playbook" not in play
                     and play.get("gather_facts", True) is not False]
        assert gathering == [], "%s: plays that gather facts: %s" % (path, gathering)
