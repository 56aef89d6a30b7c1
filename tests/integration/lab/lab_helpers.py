"""Helpers of the lab suite (the session's lab itself is the lab_up fixture in conftest.py).

Test files run in name order against the same lab: test_lab.py (make lab, summary, idempotence,
check mode), then the topic files (test_lab_<topic>.py), and test_zz_lab_down.py last. A topic file
that changes the lab (stops a host, adds a node, edits a file) leaves it converged again when done.
"""

import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB_HOSTS = ["kos-lab-builder1", "kos-lab-cp1", "kos-lab-cp2", "kos-lab-cp3", "kos-lab-tor1", "kos-lab-tor2"]


def run(*argv, **kwargs):
    return subprocess.run(list(argv), cwd=TOP, capture_output=True, text=True, timeout=1800, check=False, **kwargs)


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^\s*(kos-lab-\S+)\s+:\s+(ok=.*)$", output, re.M)}


def lab_objects():
    containers = run("docker", "ps", "-aq", "--filter", "label=kos.platform/lab=lab").stdout.split()
    networks = run("docker", "network", "ls", "-q", "--filter", "label=kos.platform/lab=lab").stdout.split()
    volumes = run("docker", "volume", "ls", "-q", "--filter", "label=kos.platform/lab=lab").stdout.split()
    return containers + networks + volumes


def site(*args, inventory="inventories/lab"):
    """ansible-playbook site.yml (or another playbook given in args) on the lab, without colour."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0")
    playbook = [a for a in args if a.endswith(".yml")] or ["site.yml"]
    rest = [a for a in args if not a.endswith(".yml")]
    return run("ansible-playbook", "-i", inventory, playbook[0], *rest, env=env)


def failures(output, context=12):
    """The failed tasks of an ansible-playbook output (header and result lines), for assertion messages: the
    output's tail shows the recap, not which task failed."""
    lines, found, task = output.splitlines(), [], ""
    for i, line in enumerate(lines):
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif line.startswith(("fatal:", "failed:")) or ("FAILED!" in line and not line.startswith(" ")):
            found.extend([task] + lines[i:i + context])
    return "\n".join(found) or "(no failed task in the output)"
