"""Shared by the tests that run a playbook of this directory for real on the controller."""

import json
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(name="local_playbook")
def fixture_local_playbook():
    """local_playbook(name, work) runs tests/unit/playbooks/<name> on localhost (connection local, facts
    cached in memory for the run only) with -e work=<work>; it asserts the run passed and returns
    {task name: [the localhost result of each task of that name, in run order]}."""
    def run(name, work):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
                   ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
                   ANSIBLE_CACHE_PLUGIN="memory")
        proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-e", "work=%s" % work,
                               os.path.join(TOP, "tests/unit/playbooks", name)],
                              cwd=TOP, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        results = {}
        for play in json.loads(proc.stdout)["plays"]:
            for task in play["tasks"]:
                results.setdefault(task["task"]["name"], []).append(task["hosts"]["localhost"])
        return results
    return run
