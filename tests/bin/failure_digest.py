"""Print, for every molecule scenario (and integration suite, once integration-all keeps its log in
.cache/integration-logs) that failed since a marker file was written, the lines of its log that say
what failed: pytest's short summary and assertion lines, Ansible's fatal task results, molecule's
errors. make test calls it last when its live part fails, so that the end of a
CI log (often the only part shown) names the failure and not just the scenario.

Usage: python3 tests/bin/failure_digest.py MARKER  (logs older than MARKER are from an earlier run and ignored)"""

import glob
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WANTED = re.compile(r"(^FAILED |^ERROR |^E   |fatal: \[|FAILED! =>|failed=[1-9]|Traceback|AssertionError|"
                    r"^\S*Error: |CRITICAL|did not|timed out|Timeout)")
PER_LOG = 40


def failed_logs(since):
    """(name, log path) of every scenario or suite whose result file (rc first) says it failed."""
    found = []
    for kind in ("molecule-logs", "integration-logs"):
        for result in sorted(glob.glob(os.path.join(TOP, ".cache", kind, "*.result"))):
            if os.path.getmtime(result) < since:
                continue
            with open(result, encoding="utf-8") as handle:
                words = handle.read().split()
            if words and words[0] != "0":
                found.append((kind.split("-", maxsplit=1)[0] + " " + os.path.basename(result)[:-len(".result")],
                              result[:-len(".result")] + ".log"))
    return found


def digest(path):
    """The telling lines of a log: pytest's short summary whole, else every wanted line (the last PER_LOG)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [ANSI.sub("", line.rstrip()) for line in handle]
    except OSError as exc:
        return ["(no log: %s)" % exc]
    summary = [i for i, line in enumerate(lines) if "short test summary info" in line]
    picked = [line for line in lines if WANTED.search(line)]
    if summary:
        picked += lines[summary[-1]:summary[-1] + PER_LOG]
    # pytest's summary repeats the FAILED lines already picked: each line once, in its first place.
    return [line[:400] for line in dict.fromkeys(picked[-PER_LOG * 2:])]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__.rsplit("\n\n", maxsplit=1)[-1] + "\n")
        return 2
    since = os.path.getmtime(argv[1]) if os.path.exists(argv[1]) else 0.0
    failures = failed_logs(since)
    print("== failure digest: %d failed" % len(failures))
    for name, path in failures:
        print("--- %s (%s)" % (name, os.path.relpath(path, TOP)))
        for line in digest(path):
            print("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
