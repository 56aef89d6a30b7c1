"""A lab host lost mid-converge, and a converge interrupted by SIGINT (issue 18, items 4 and 5).

Faults are injected at a named task of a real site.yml run: the run's output is read line by line and
the fault fires when the task's header appears (no sleeps). The host is "lost" the hard way, by
SIGKILL of its container's init PID (a power cut, not a clean shutdown); the run is interrupted by
SIGINT to ansible-playbook's PID. Each test leaves the lab converged (the next file relies on it).

Before the fix, a host lost during the PKI layer cost 30 etcd health-check retries and a failure
naming no member; after `docker start` the next run failed on `sysctl: permission denied`, because a
restarted lab container had lost what the lab set up at its creation (/proc/sys writable).

Part of make test's lab suite (KOS_LAB_FAULTS=0 leaves it out of a local run). Its time is about five
site.yml runs on the converged lab (two of them cut short): 5-7 minutes on the 2-core build machine.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
import yaml
from lab_helpers import TOP, failures, lab_objects, recap, run, site

pytestmark = pytest.mark.skipif(os.environ.get("KOS_LAB_FAULTS") == "0", reason="KOS_LAB_FAULTS=0 leaves it out")

VICTIM = "kos-lab-cp2"
VICTIM_URL = "https://198.18.0.12:2379"
ETCDCTL = ["etcdctl", "--endpoints", "https://198.18.0.11:2379", "--cacert", "/etc/kubernetes/pki/etcd/ca.crt",
           "--cert", "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
           "--key", "/etc/kubernetes/pki/etcd/healthcheck-client.key"]
# The fault run waits as long as this before the old code gave up (retries x delay): the run must end,
# naming the member, well before a wait this long could even have ended.
FAULT_RETRIES = 150
RUN_BOUND = 1800  # seconds: every playbook run of this file is killed past this (bounded test)


def etcd_defaults():
    with open(os.path.join(TOP, "roles", "etcd", "defaults", "main.yml")) as fh:
        return yaml.safe_load(fh)


def members():
    proc = run("docker", "exec", "kos-lab-cp1", *ETCDCTL, "member", "list", "-w", "json")
    assert proc.returncode == 0, proc.stderr
    return {m["name"]: m["ID"] for m in json.loads(proc.stdout)["members"]}


def healthy_endpoints():
    proc = run("docker", "exec", "kos-lab-cp1", *ETCDCTL, "endpoint", "health", "--cluster")
    return sorted(re.findall(r"^(\S+) is healthy", proc.stdout + proc.stderr, re.M))


def site_with_fault(task, inject, *args, until=None):
    """Run site.yml; call inject() once, when the header of `task` (role : name) is printed.

    Returns (returncode, output, the output after the injection, seconds from the injection to the
    first line containing `until` (or to the end of the run); None when the task never started)."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(["ansible-playbook", "-i", "inventories/lab", "site.yml", *args], cwd=TOP, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    watchdog = threading.Timer(RUN_BOUND, proc.kill)
    watchdog.start()
    lines, injected_at, seen_at, after = [], None, None, 0
    try:
        for line in proc.stdout:
            lines.append(line)
            if injected_at is None and line.startswith("TASK [%s]" % task):
                inject(proc)
                injected_at, after = time.monotonic(), len(lines)
            elif injected_at is not None and seen_at is None and until and until in line:
                seen_at = time.monotonic()
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    took = None
    if injected_at is not None:
        took = (seen_at or time.monotonic()) - injected_at
    return proc.returncode, "".join(lines), "".join(lines[after:]), took


def kill_host(name):
    pid = int(run("docker", "inspect", "-f", "{{.State.Pid}}", name).stdout.strip())
    assert pid > 0, "%s is not running" % name
    os.kill(pid, signal.SIGKILL)


def start_host(name):
    assert run("docker", "start", name).returncode == 0
    for _attempt in range(60):  # bounded: systemd in a lab host is up in about a second
        state = run("docker", "exec", name, "systemctl", "is-system-running", "--wait").stdout.strip()
        if state in ("running", "degraded"):
            return state
        time.sleep(1)
    raise AssertionError("systemd in %s did not come up after docker start" % name)


def flat(text):
    return " ".join(text.split())


def converged(proc):
    stats = recap(proc.stdout)
    assert proc.returncode == 0, failures(proc.stdout + proc.stderr) + "\n...\n" + proc.stdout[-2000:]
    assert all(s["failed"] == 0 and s["unreachable"] == 0 for s in stats.values()), stats
    return stats


def test_host_lost_during_pki_named_at_once_then_rerun_completes(lab_up):
    assert lab_up.returncode == 0
    objects, ids = sorted(lab_objects()), members()
    assert sorted(ids) == ["kos-lab-cp1", "kos-lab-cp2", "kos-lab-cp3"]
    delay = etcd_defaults()["etcd_health_delay"]

    try:
        rc, out, later, took = site_with_fault("kos.platform.pki : Stage the private keys",
                                               lambda _proc: kill_host(VICTIM),
                                               "-e", "etcd_health_retries=%d" % FAULT_RETRIES, until="etcd lost")
    finally:
        # Whatever happened, the next steps (and the next test files) need the host back.
        if run("docker", "inspect", "-f", "{{.State.Running}}", VICTIM).stdout.strip() != "true":
            start_host(VICTIM)
    print("host %s killed during the PKI layer; the run named it %.0f s later (rc %s)" % (VICTIM, took or -1, rc))
    assert took is not None, "the task never started: " + out[-3000:]
    assert rc != 0
    stats = recap(out)
    assert stats[VICTIM]["unreachable"] + stats[VICTIM]["failed"] >= 1, stats
    assert stats["kos-lab-cp1"]["failed"] == 1 and stats["kos-lab-cp3"]["failed"] == 1, stats
    # The failure names the host and its etcd member, and nothing waited on the lost member.
    assert "etcd lost 1 of 3 members during this run: host %s (etcd member %s, %s) dropped out" % (
        VICTIM, VICTIM, VICTIM_URL) in flat(out), out[-6000:]
    # No task retried anything after the fault (the callback prints no role name in this line).
    assert "FAILED - RETRYING" not in later, later[-6000:]
    assert took < FAULT_RETRIES * delay, "the failure came no sooner than the silent wait it replaces"

    # The host came back with what the lab set up at its creation (/proc/sys writable for net.*).
    mounts = run("docker", "exec", VICTIM, "grep", " /proc/sys ", "/proc/mounts").stdout
    assert " /proc/sys proc rw" in mounts, mounts

    again = site()
    converged(again)
    quiet = site()
    stats = converged(quiet)
    assert {h: s["changed"] for h, s in stats.items() if s["changed"]} == {}, quiet.stdout[-8000:]
    # Same containers, networks and volumes; the same etcd members (none removed and re-added), all healthy.
    assert sorted(lab_objects()) == objects
    assert members() == ids
    assert healthy_endpoints() == ["https://198.18.0.11:2379", VICTIM_URL, "https://198.18.0.13:2379"]


def test_sigint_during_the_etcd_layer_then_rerun_completes(lab_up):
    ids = members()
    # kos_layer_cache=false: on a converged lab every layer's gate would end the etcd play before its
    # tasks (nothing to do), and the interruption must land in a layer that runs; --tags etcd: the layers
    # before it are not what is tested (the next run, the whole site.yml, must complete).
    rc, out, _later, took = site_with_fault("kos.platform.etcd : Configure etcd",
                                            lambda proc: os.kill(proc.pid, signal.SIGINT),
                                            "-e", "kos_layer_cache=false", "--tags", "etcd")
    assert took is not None, "the task never started: " + out[-3000:]
    # Ansible says "User interrupted execution" - or, when the signal lands while the strategy queues a
    # task, ansible-core 2.19 crashes on its own clean-up: plugins/strategy/__init__.py closes a slot's
    # finished worker before it stores the new one, and TaskQueueManager._cleanup_processes then calls
    # is_alive() on the closed process ("ValueError: process object is closed", exit code 250; seen in a
    # CI rehearsal). Either way the run was interrupted mid-layer, which is what the rerun must survive.
    assert rc != 0, out[-3000:]
    assert "User interrupted execution" in out or (rc == 250 and "process object is closed" in out), out[-3000:]
    again = site()
    converged(again)
    quiet = site()
    stats = converged(quiet)
    assert {h: s["changed"] for h, s in stats.items() if s["changed"]} == {}, quiet.stdout[-8000:]
    assert members() == ids
