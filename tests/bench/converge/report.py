"""Report of the converge benchmark (run.sh).

report.py changed LOG     exits 1 unless the PLAY RECAP of LOG shows changed=0, failed=0 on every host
report.py table TSV       size, first and no-op seconds per line (then, optional, the controller's CPU
                          seconds of each) -> the table, ratios and goals
report.py timed OUT LOG -- ARGV...
                          runs ARGV with its output in LOG; writes "wall cpu" to OUT, cpu being the user
                          and system seconds of the controller's processes (ansible-playbook, its forks and
                          the docker CLI it runs); the hosts' own work runs in their containers, not here
report.py median TIME...  prints the TIME file (of `timed`) with the median wall time (the upper one of an
                          even count): one no-op lasts 3-7 s, and a single one moved 3.1 -> 4.0 s between runs
"""

import re
import resource
import subprocess
import sys
import time

NOOP_GOAL = 0.10
FIRST_GROWTH_GOAL = 3.0
NOOP_GROWTH_GOAL = 2.0


def recap(text):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", text, re.M)}


def changed(log):
    with open(log, errors="replace") as f:
        stats = recap(f.read())
    if not stats:
        print("    no PLAY RECAP in %s" % log)
        return 1
    bad = {h: s for h, s in stats.items() if s.get("changed") or s.get("failed") or s.get("unreachable")}
    if bad:
        print("    the no-op converge was not a no-op: %s" % bad)
        return 1
    print("    no-op converge: changed=0 on all %d hosts" % len(stats))
    return 0


def table(tsv):
    rows, cpu = [], {}
    with open(tsv) as f:
        for line in f:
            cells = line.split()
            rows.append((int(cells[0]), float(cells[1]), float(cells[2])))
            if len(cells) >= 5:
                cpu[int(cells[0])] = (float(cells[3]), float(cells[4]))
    if not rows:
        print("no results")
        return 1
    base = rows[0]
    print()
    print("Converge benchmark (Kubernetes hosts + 2 routers + 1 image builder; seconds)")
    heads = ("hosts", "first", "no-op", "no-op/first", "first/first@%d" % base[0], "no-op/no-op@%d" % base[0])
    print("%6s %10s %10s %12s %14s %14s" % heads)
    for size, first, noop in rows:
        cells = (size, first, noop, noop / first, first / base[1], noop / base[2])
        print("%6d %10.1f %10.1f %12.3f %14.2f %14.2f" % cells)
    for size, first, noop in rows:
        if size in cpu:
            print("%6d hosts: the controller's CPU %.0f s of the first converge's %.0f s, %.0f s of the no-op's %.0f s"
                  % (size, cpu[size][0], first, cpu[size][1], noop))
    ratio = base[2] / base[1]
    verdict = "met" if ratio <= NOOP_GOAL else "NOT met"
    print("no-op ratio at %d hosts: %.3f (goal <= %.2f: %s)" % (base[0], ratio, NOOP_GOAL, verdict))
    if len(rows) > 1:
        size, first, noop = rows[-1]
        grow_first, grow_noop = first / base[1], noop / base[2]
        print("growth %d -> %d hosts: first %.2fx (goal <= %.0fx: %s), no-op %.2fx (goal <= %.0fx: %s)"
              % (base[0], size, grow_first, FIRST_GROWTH_GOAL, "met" if grow_first <= FIRST_GROWTH_GOAL else "NOT met",
                 grow_noop, NOOP_GROWTH_GOAL, "met" if grow_noop <= NOOP_GROWTH_GOAL else "NOT met"))
    return 0


def timed(out, log, argv):
    # RUSAGE_CHILDREN counts every child this process ever waited for: the difference is this run's.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    with open(log, "w") as f:
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    with open(out, "w") as f:
        f.write("%.1f %.1f\n" % (wall, cpu))
    return rc


def median(paths):
    """The one of ``paths`` (TIME files of ``timed``) whose wall time is their median."""
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append((float(f.read().split()[0]), path))
    runs.sort()
    return runs[len(runs) // 2][1]


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "timed" and sys.argv[4] == "--":
        sys.exit(timed(sys.argv[2], sys.argv[3], sys.argv[5:]))
    if len(sys.argv) >= 3 and sys.argv[1] == "median":
        print(median(sys.argv[2:]))
        sys.exit(0)
    if len(sys.argv) != 3 or sys.argv[1] not in ("changed", "table"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(changed(sys.argv[2]) if sys.argv[1] == "changed" else table(sys.argv[2]))
