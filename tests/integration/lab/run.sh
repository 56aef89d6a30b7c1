#!/usr/bin/env bash
# The local lab end to end: make lab's steps, a second site.yml run that must change nothing,
# and lab-down leaving no container, network or volume behind (pass or fail).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
tests/lab/engine.sh up
cleanup() { ansible-playbook -i inventories/lab playbooks/lab_down.yml >/dev/null 2>&1 || true; }
trap cleanup EXIT
pytest -q -p no:cacheprovider --durations=12 "$here" "$@"  # e.g. -k sigint
