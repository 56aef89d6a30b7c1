"""site.yml stops in preflight, before any host is contacted, when the model is invalid."""

import json
import os
import subprocess

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
