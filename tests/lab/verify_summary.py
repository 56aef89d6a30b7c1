"""Summarise a playbooks/verify.yml run (ansible.posix.json callback output) for `make lab`:
one line per live check with the hosts it passed or failed on, and the report each check prints
(etcd health, BGP sessions and prefixes per router). Exit code 0 when every check passed.
Usage: verify_summary.py VERIFY_JSON"""

import json
import sys

# Bookkeeping tasks of the verify plays: not checks of their own.
QUIET = ("Gathering Facts", "Validating arguments", "Load ", "Build ", "Compare ", "Check health and membership",
         "Check the router's sessions and routes")


def status(result):
    if result.get("unreachable"):
        return "unreachable"
    if result.get("failed"):
        return "failed"
    if result.get("skipped"):
        return "skipped"
    return "ok"


def message(result):
    msg = result.get("msg")
    if isinstance(msg, list):
        msg = "; ".join(str(m) for m in msg)
    if not msg and result.get("failed"):
        msg = (result.get("stderr") or result.get("stdout") or "").strip().splitlines()[-1:] or [""]
        msg = msg[0]
    return " ".join(str(msg or "").split()).replace(":; ", ": ")


def summarise(doc):
    lines, failed = [], 0
    for play in doc.get("plays", []):
        name = play["play"]["name"]
        if not name.startswith("Verify") or "derive" in name:
            continue
        for task in play.get("tasks", []):
            title = task["task"]["name"].split(" : ")[-1]  # without the role's prefix
            hosts = task.get("hosts", {})
            by_status = {}
            for host, result in sorted(hosts.items()):
                by_status.setdefault(status(result), []).append(host)
            if not hosts or set(by_status) == {"skipped"} and "Write" not in title and "Read" not in title:
                continue
            bad = by_status.get("failed", []) + by_status.get("unreachable", [])
            failed += len(bad)
            if title.startswith(QUIET) and not bad:
                continue
            state = "FAILED" if bad else ("skipped" if set(by_status) == {"skipped"} else "ok")
            where = ", ".join("%s on %s" % (s, " ".join(h)) for s, h in sorted(by_status.items()))
            lines.append("  %-7s %s (%s)" % (state, title, where))
            for host, result in sorted(hosts.items()):
                text = message(result)
                if text and (status(result) in ("failed", "unreachable") or title.startswith(("Report", "Say"))):
                    lines.append("            %s: %s" % (host, text[:400]))
    return lines, failed


def main(path):
    try:
        with open(path) as handle:
            text = handle.read()
        # Other callbacks (profile_tasks) may print around the JSON document: read the first object.
        doc = json.JSONDecoder().raw_decode(text[text.index("{"):])[0]
    except (OSError, ValueError) as exc:
        print("  verify.yml produced no readable result (%s); see %s" % (exc, path))
        return 1
    lines, failed = summarise(doc)
    print("\n".join(lines) if lines else "  no checks ran")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
