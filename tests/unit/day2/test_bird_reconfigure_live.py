"""Adding and removing a node on a real BIRD: `birdc configure` with the bgp_router role's bird.conf for
the lab's model with and without a fourth node leaves every other protocol untouched (same since-time:
not restarted) and adds or drops exactly the node's session and its two pipes.

BIRD 2.0.12 (Debian's bird2, installed by .ci/run) runs in a network namespace of its own with only a
loopback interface: its sessions try to connect and cannot leave the namespace (they stay in
Active/Connect, which is enough: a restarted protocol shows a new since-time). The daemon is stopped
by its PID and the namespace deleted, pass or fail.
"""

import datetime
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from ansible_collections.kos.platform.plugins.module_utils import kos_bird, kos_model
from ansible_collections.kos.platform.tests.unit.day2.test_kos_day2 import lab
from ansible_collections.kos.platform.tests.unit.roles.render import render

PROTOCOL = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)", re.M)
NODE4 = {"node_node4", "node_node4_pods", "node_node4_services"}


def config(tmp_path, nodes, match="own_block"):
    plan = kos_bird.router_plan(kos_model.derive(lab(nodes)), "tor1", {"pod_prefix_match": match})
    include = tmp_path / "kos.d"
    include.mkdir(exist_ok=True)
    variables = {"__bgp_router_plan": plan, "inventory_hostname": "tor1", "__bgp_router_include_dir": str(include)}
    text = render("bgp_router", "bird.conf.j2", variables)
    return text.replace("log syslog all;", "log \"%s\" all;" % (tmp_path / "bird.log"))


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture(params=["own_block", "any_block"])
def match(request):
    """bgp_router_pod_prefix_match: in any_block mode every session's limits once grew with the node count,
    so adding a node restarted every other session."""
    return request.param


@pytest.fixture
def bird(tmp_path, match):
    """BIRD on tor1's configuration in a namespace of its own; yields (netns, socket, config path)."""
    for tool in ("bird", "birdc", "ip"):
        if not shutil.which(tool):
            pytest.fail("%s is not installed here: apt-get install bird2 iproute2 (CI installs them in .ci/run)" % tool)
    netns = "kos-day2-bird-%d" % os.getpid()
    made = run("ip", "netns", "add", netns)
    assert made.returncode == 0, "a network namespace is needed (root): %s" % made.stderr
    pid = None
    try:
        assert run("ip", "-n", netns, "link", "set", "lo", "up").returncode == 0
        assert run("ip", "-n", netns, "addr", "add", "198.18.0.1/32", "dev", "lo").returncode == 0
        conf, sock, pidfile = tmp_path / "bird.conf", tmp_path / "bird.ctl", tmp_path / "bird.pid"
        conf.write_text(config(tmp_path, [], match))
        started = run("ip", "netns", "exec", netns, "bird", "-c", str(conf), "-s", str(sock), "-P", str(pidfile))
        assert started.returncode == 0, started.stderr
        for _attempt in range(50):  # bounded: BIRD answers within a second
            if pidfile.exists() and pidfile.read_text().strip():
                pid = int(pidfile.read_text())
            if pid and run("birdc", "-s", str(sock), "show", "status").returncode == 0:
                break
            time.sleep(0.1)
        assert pid, "BIRD did not start: %s" % started.stderr
        yield netns, sock, conf
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        run("ip", "netns", "delete", netns)


def protocols(sock):
    out = run("birdc", "-r", "-s", str(sock), "show", "protocols").stdout
    return {m.group(1): (m.group(2), m.group(5)) for m in PROTOCOL.finditer(out)}


def restarted(before, after):
    """Protocols of before whose state or since-time changed in after. BIRD prints a since-time from its
    monotonic clock converted to wall-clock time when asked, so the same protocol can show 1 ms apart
    from one `show protocols` to the next; a restart after the tests' 1.1 s pause is far beyond that."""
    def stamp(text):
        return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f")
    return sorted(name for name, (state, since) in before.items()
                  if name not in after or after[name][0] != state
                  or abs((stamp(after[name][1]) - stamp(since)).total_seconds()) > 0.5)


def reconfigure(sock, conf, text):
    conf.write_text(text)
    proc = run("birdc", "-s", str(sock), "configure")
    assert re.search("Reconfigured|Reconfiguration in progress", proc.stdout), proc.stdout + proc.stderr


def test_adding_and_removing_a_node_restarts_no_other_protocol(bird, tmp_path, match):
    _netns, sock, conf = bird
    before = protocols(sock)
    assert {"node_cp1", "node_cp1_pods", "node_cp2", "node_cp3_services", "kos_kernel"} <= set(before)
    time.sleep(1.1)  # a protocol restarted from now on gets another since-time
    reconfigure(sock, conf, config(tmp_path, ["node4"], match))
    added = protocols(sock)
    assert set(added) - set(before) == NODE4
    assert restarted(before, added) == [], "birdc configure restarted other protocols"
    time.sleep(1.1)
    reconfigure(sock, conf, config(tmp_path, [], match))
    after = protocols(sock)
    assert set(after) == set(before)
    assert restarted(before, after) == []


def test_the_check_can_fail_a_changed_session_restarts(bird, tmp_path, match):
    # The comparison above sees a restart: a changed neighbour AS restarts that session (BIRD reconfigures
    # a BGP protocol whose neighbour changed by restarting it).
    _netns, sock, conf = bird
    before = protocols(sock)
    time.sleep(1.1)
    changed = config(tmp_path, [], match).replace("neighbor 198.18.0.12 as 64512;", "neighbor 198.18.0.12 as 64513;")
    reconfigure(sock, conf, changed)
    after = protocols(sock)
    assert restarted(before, after) == ["node_cp2"]
