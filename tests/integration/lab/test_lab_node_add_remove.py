"""Day two on the lab: playbooks/node_add.yml adds a fourth host, playbooks/node_remove.yml removes it.

Runs after test_lab.py (name order) on the session's converged lab and leaves it as it found it.
The new host, kos-lab-node4, is an inventory overlay (node_add/hosts.yml) used beside
inventories/lab; the lab role creates its container from that inventory like every other lab host.

BGP: the lab's nodes run no BGP speaker (Calico is skipped without a mirror), so the routers' node
sessions wait in Active/Connect while their pipes are up. A reconfigure that restarted a protocol
would give it a new since-time (`timeformat protocol iso long ms`): these tests compare each protocol's
age (BIRD's server time minus its since-time, read together) with the time that passed between two reads.
Two earlier runs compared the since-times themselves and saw every protocol of both routers move, device1
included, although node_add.yml changed only the routers' BIRD layer. The likely cause, not proven, is a
shift of BIRD's wall-clock conversion between the reads; ages taken from one BIRD at one moment do not move
with it, while a real restart still makes a protocol younger (the first run with ages passed).

Part of make test's lab suite (KOS_LAB_DAY2=0 leaves it out of a local run); about 2.5 minutes.
"""

import datetime
import os
import re
import time

import pytest
from lab_helpers import failures, recap, run

INVENTORY = ["-i", "inventories/lab", "-i", "tests/integration/lab/node_add"]
NEW = "kos-lab-node4"
NEW_PROTOCOLS = {"node_kos_lab_node4", "node_kos_lab_node4_pods", "node_kos_lab_node4_services"}
ROUTERS = ["kos-lab-tor1", "kos-lab-tor2"]
# Hosts node_add.yml and node_remove.yml must not contact at all.
UNTOUCHED = ["kos-lab-builder1", "kos-lab-cp2", "kos-lab-cp3"]
PREFLIGHT = "Preflight - validate the cluster model and derive kos_cluster"
NODE_PATCHES = "/etc/kubernetes/kos/addons/calico/node-patches.yaml"
pytestmark = pytest.mark.skipif(os.environ.get("KOS_LAB_DAY2") == "0", reason="KOS_LAB_DAY2=0 leaves it out")
STATUS = "(status)"
STATUS_TIME = re.compile(r"Current server time is (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")
PROTOCOL = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*(.*)$", re.M)


def playbook(*args):
    return run("ansible-playbook", *INVENTORY, *args, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0"))


def flat(output):
    """The output with YAML's line wrapping undone (messages are compared as text)."""
    return " ".join(output.split())


def protocols(router):
    """{name: (proto, state, age in seconds)} from birdc on the router, plus the key STATUS: BIRD's own
    `show status` (server time, last reboot, last reconfiguration) for the assertion messages.

    A protocol's age is BIRD's current server time minus its since-time, both printed by one BIRD in one
    moment: unlike the since-time alone it does not move when the machine's wall clock is stepped (BIRD
    converts its monotonic times to wall-clock time when asked). Between two reads a protocol that kept
    running has aged by the time that passed; a restart makes it younger."""
    proc = run("docker", "exec", router, "birdc", "-r", "show", "protocols")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status = run("docker", "exec", router, "birdc", "-r", "show", "status").stdout
    now = STATUS_TIME.search(status)
    assert now, status
    current = stamp(now.group(1))
    found = {m.group(1): (m.group(2), m.group(4), (current - stamp(m.group(5))).total_seconds())
             for m in PROTOCOL.finditer(proc.stdout)}
    found[STATUS] = (" ".join(status.split()), time.monotonic())
    return found


def stamp(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")


def restarted(before, after):
    """Protocols of before gone from after, in another state, or younger than before plus the time that passed
    between the two reads (1 s of tolerance for the reads themselves: a restart during node_add.yml makes a
    protocol tens of seconds younger)."""
    elapsed = after[STATUS][1] - before[STATUS][1]
    return sorted(name for name, value in before.items() if name != STATUS and (
        name not in after or after[name][:2] != value[:2] or after[name][2] < value[2] + elapsed - 1.0))


def explain(router, before, after):
    """The ages before and after of each protocol, and BIRD's status both times, for a failed check."""
    elapsed = after[STATUS][1] - before[STATUS][1]
    lines = ["%s: %.1f s passed between the reads" % (router, elapsed)]
    lines += ["  %s: age %.1f s -> %s" % (name, value[2], "%.1f s" % after[name][2] if name in after else "gone")
              for name, value in sorted(before.items()) if name != STATUS]
    return "\n".join(lines + ["  status before: " + before[STATUS][0], "  status after: " + after[STATUS][0]])


def plays_with(output, host, results=("changed",)):
    """Names of the plays in which a task reported one of results on host (itself, not delegated)."""
    plays, play = set(), None
    pattern = re.compile(r"^(%s): \[%s[\] ]" % ("|".join(results), re.escape(host)))
    for line in output.splitlines():
        started = re.match(r"^PLAY \[(.*)\] \**$", line)
        if started:
            play = started.group(1)
        elif pattern.match(line):
            plays.add(play)
    return plays


def contacted(output, host):
    """Plays that ran a task for host, apart from the preflight (a controller-side set_fact for all hosts)."""
    return plays_with(output, host, ("ok", "changed", "skipping", "failed", "fatal", "unreachable")) - {PREFLIGHT}


def node_patches():
    return run("docker", "exec", "kos-lab-cp1", "sh", "-c", "sha256sum %s 2>/dev/null; true" % NODE_PATCHES).stdout


@pytest.fixture(scope="module")
def added(lab_up):
    """The lab's routers before, the node_add.yml run, the routers after; the new host goes at the end."""
    assert lab_up.returncode == 0, failures(lab_up.stdout + lab_up.stderr) + "\n...\n" + lab_up.stdout[-2000:]
    lab = {router: protocols(router) for router in ROUTERS}
    patches = node_patches()
    create = run("ansible-playbook", *INVENTORY, "playbooks/lab.yml")
    try:
        assert create.returncode == 0, failures(create.stdout + create.stderr) + "\n...\n" + create.stdout[-2000:]
        # After the new host's container exists (the cloud's part), before node_add.yml (what is tested).
        before = {router: protocols(router) for router in ROUTERS}
        proc = playbook("playbooks/node_add.yml", "-e", "node_add_hosts=" + NEW)
        yield {"lab": lab, "before": before, "proc": proc, "after": {router: protocols(router) for router in ROUTERS},
               "patches": patches}
    finally:
        # Pass or fail: the lab leaves with its own hosts only (test_lab_removes_the_node did the rest).
        run("docker", "rm", "-f", NEW)


def test_node_add_converges_only_the_new_host_and_its_routers(added):
    proc = added["proc"]
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    stats = recap(proc.stdout)
    assert stats[NEW]["changed"] > 0 and stats[NEW]["failed"] == 0
    assert {h: contacted(proc.stdout, h) for h in UNTOUCHED} == {h: set() for h in UNTOUCHED}
    assert all(stats[h]["changed"] == 0 for h in UNTOUCHED if h in stats)
    # The routers change only their BIRD configuration; the first control plane only Calico's
    # rendered node patches (the new node's labels), a cluster-wide layer.
    for router in ROUTERS:
        assert plays_with(proc.stdout, router) == {
            "Routers - BIRD on the data-centre routers, peering with their racks' nodes"}, proc.stdout[-6000:]
    assert plays_with(proc.stdout, "kos-lab-cp1") <= {"Network - Calico in routed BGP mode"}, proc.stdout[-6000:]
    assert "kos-lab-node4" in run("docker", "exec", "kos-lab-cp1", "cat", NODE_PATCHES).stdout


def test_node_add_routers_learn_the_neighbour_and_keep_the_other_sessions(added):
    for router in ROUTERS:
        before, after = added["before"][router], added["after"][router]
        assert set(after) - set(before) == NEW_PROTOCOLS, sorted(after)
        assert restarted(before, after) == [], "a reconfigure restarted other protocols:\n" + explain(
            router, before, after) + "\n" + added["proc"].stdout[-3000:]
        detail = run("docker", "exec", router, "birdc", "-r", "show", "protocols", "all", "node_kos_lab_node4").stdout
        assert re.search(r"Neighbor address:\s+198\.18\.0\.14\b", detail), detail


def test_creating_the_new_lab_host_left_the_routers_running(added):
    """The lab's own step (playbooks/lab.yml creating the fourth container) must not touch the routers either:
    a router restarted there would hide or fake a restart by node_add.yml."""
    for router in ROUTERS:
        assert restarted(added["lab"][router], added["before"][router]) == [], explain(
            router, added["lab"][router], added["before"][router])


def test_node_add_again_changes_nothing(added):
    proc = playbook("playbooks/node_add.yml", "-e", "node_add_hosts=" + NEW)
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    assert {h: s["changed"] for h, s in recap(proc.stdout).items() if s["changed"]} == {}, proc.stdout[-6000:]


def test_node_remove_check_mode_prints_the_plan_and_changes_nothing(added):
    proc = playbook("playbooks/node_remove.yml", "-e", "node_remove_hosts=" + NEW, "--check")
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    assert "kubectl drain (PodDisruptionBudgets respected)" in flat(proc.stdout)
    assert "Then delete kos-lab-node4 from the inventory." in flat(proc.stdout)
    for router in ROUTERS:
        assert NEW_PROTOCOLS <= set(protocols(router))


def test_node_remove_drops_exactly_the_neighbour(added):
    proc = playbook("playbooks/node_remove.yml", "-e", "node_remove_hosts=" + NEW)
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    # No Kubernetes API in the lab: the kubectl steps say so instead of pretending.
    assert "SKIPPED LAYER node_remove kubernetes" in flat(proc.stdout)
    stats = recap(proc.stdout)
    assert {h: contacted(proc.stdout, h) for h in UNTOUCHED} == {h: set() for h in UNTOUCHED}
    assert all(stats[h]["changed"] == 0 for h in UNTOUCHED if h in stats)
    for router in ROUTERS:
        now = protocols(router)
        assert set(now) == set(added["before"][router]), "the routers did not return to their sessions before"
        assert restarted(added["before"][router], now) == [], "a reconfigure restarted other protocols:\n" + explain(
            router, added["before"][router], now) + "\n" + proc.stdout[-3000:]
    # Calico's node patches are the lab's again.
    assert node_patches() == added["patches"]
    again = playbook("playbooks/node_remove.yml", "-e", "node_remove_hosts=" + NEW)
    assert again.returncode == 0, failures(again.stdout + again.stderr) + "\n...\n" + again.stdout[-2000:]
    assert {h: s["changed"] for h, s in recap(again.stdout).items() if s["changed"]} == {}, again.stdout[-6000:]


def test_node_remove_refuses_the_last_control_plane(added):
    proc = playbook("playbooks/node_remove.yml", "-e", "node_remove_hosts=kos-lab-cp1,kos-lab-cp2,kos-lab-cp3")
    assert proc.returncode != 0
    assert "would remove the last control plane: refused" in flat(proc.stdout + proc.stderr)
    assert "TASK [Print the plan]" not in proc.stdout
    assert all(s["changed"] == 0 for s in recap(proc.stdout).values())
