"""Run ``ansible-playbook`` many times from one process that imported Ansible once.

Usage: python playbook_pool.py JOBS.json WORKERS
JOBS.json is a list of {"args": [...ansible-playbook arguments...], "out": path}. Each job runs
in a forked child through ``ansible.cli.playbook.main``, the function the ``ansible-playbook``
command calls, with its stdout and stderr in ``out`` and ``out + ".err"`` and its exit code in
``out + ".rc"``. Forking after the import saves Python's and Ansible's start-up (about a
second per run), so a matrix of invalid models runs in minutes, not tens of minutes. The
environment (ANSIBLE_CONFIG, callbacks) must be set before this script starts: Ansible reads
its configuration when imported.
"""

import json
import os
import sys


def run_child(job, playbook_main):
    out = os.open(job["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(job["out"] + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    code = 250
    try:
        playbook_main(["ansible-playbook"] + job["args"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        with open(job["out"] + ".rc", "w") as handle:
            handle.write(str(code))
        os._exit(0)


def main():
    with open(sys.argv[1]) as handle:
        jobs = json.load(handle)
    workers = max(1, int(sys.argv[2]))
    from ansible.cli.playbook import main as playbook_main

    pending = list(jobs)
    running = set()
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                run_child(job, playbook_main)
            running.add(pid)
        pid, _ = os.wait()
        running.discard(pid)


if __name__ == "__main__":
    main()
