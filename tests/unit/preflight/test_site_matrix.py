"""The whole matrix of invalid models (cases.py) through ``ansible-playbook site.yml``.

Each case becomes an inventory (hosts.yml + group_vars), ``-e @file`` and ``-e key=value``
arguments, so the role's input collection, the -e string types and the filters all run as an
operator runs them. Every run must stop in the first play (preflight, on the controller) with the
case's exact message, and no host may be contacted: the inventory's addresses are documentation
addresses nobody holds, so any connection attempt would count as unreachable in the stats.

The runs share one Python process that imported Ansible once (playbook_pool.py) and two workers;
about 1-2 minutes for the matrix on a 2-core machine.
"""

import json
import os
import subprocess
import sys

from .cases import CASES, TOP, write_inventory

POOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbook_pool.py")


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"),
                ANSIBLE_COLLECTIONS_PATH=os.path.join(TOP, ".collections"),
                ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",
                ANSIBLE_FACT_CACHING="memory", ANSIBLE_RETRY_FILES_ENABLED="false")


def failure_messages(report):
    return [res for play in report["plays"] for task in play["tasks"] for res in task["hosts"].values()
            if res.get("failed")]


def test_every_invalid_model_stops_site_yml_in_preflight(tmp_path):
    jobs = []
    cases = [c for c in CASES if os.environ.get("KOS_MATRIX_ONLY", "") in c["id"]]
    for index, case in enumerate(cases):
        directory = tmp_path / ("case%03d" % index)
        inventory, extra = write_inventory(case, str(directory))
        jobs.append({"args": ["-i", inventory, os.path.join(TOP, "site.yml")] + extra,
                     "out": str(directory / "out.json")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    subprocess.run([sys.executable, POOL, str(tmp_path / "jobs.json"), "2"], cwd=TOP, env=ansible_env(),
                   check=True, timeout=900)
    problems = []
    for case, job in zip(cases, jobs, strict=True):
        rc = open(job["out"] + ".rc").read()
        try:
            report = json.loads(open(job["out"]).read())
        except ValueError:
            problems.append("%s: no JSON report (rc %s): %s" % (case["id"], rc, open(job["out"] + ".err").read()))
            continue
        failed = failure_messages(report)
        messages = [m for res in failed for m in (res.get("msg") if isinstance(res.get("msg"), list) else [])]
        if rc != "2":
            problems.append("%s: rc %s" % (case["id"], rc))
        if len(report["plays"]) != 1 or not report["plays"][0]["play"]["name"].startswith("Preflight"):
            problems.append("%s: ran past preflight: %s" % (case["id"], [p["play"]["name"] for p in report["plays"]]))
        if case["message"] not in messages:
            problems.append("%s: message missing; got %s" % (case["id"], messages or failed))
        if any(s["unreachable"] or s["changed"] for s in report["stats"].values()):
            problems.append("%s: a host was contacted or changed: %s" % (case["id"], report["stats"]))
    assert problems == [], "\n".join(problems)
