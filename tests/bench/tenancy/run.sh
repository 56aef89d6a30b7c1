#!/usr/bin/env bash
# Tenancy benchmark: the converter against a Keystone with >= 1,000 projects, 10,000 users and
# 20,000 role assignments (user, group and inherited), beside the naive per-project/per-user
# approach, measured in the same run. Prints ratios; never asserts on time (it fails only if the
# two approaches disagree on the output).
#
# The seeded Keystone (sqlite + keys) is cached under .cache/ keyed by the seed parameters, so
# only the first run seeds (through Keystone's own Python backend, in-process: about two
# minutes, against about twelve through the REST API).
# Usage: tests/bench/tenancy/run.sh   (env: BENCH_PROJECTS, BENCH_USERS, BENCH_GRANTS, KOS_BENCH_KEYSTONE_PORT,
#        BENCH_KEYSTONE_EFFECTIVE=0 skips the last, slowest part: the converter asking Keystone for effectiveness)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"

projects=${BENCH_PROJECTS:-1000}
users=${BENCH_USERS:-10000}
direct=${BENCH_GRANTS:-19000}   # user grants; plus 1,000 group grants and 5 inherited ones
groups=100 group_size=10 group_grants=1000 inherited=5
key="p$projects-u$users-g$direct-G$groups-$group_size-$group_grants-i$inherited"

KEYSTONE_TOP=$top
KEYSTONE_PORT=${KOS_BENCH_KEYSTONE_PORT:-35358}
KEYSTONE_STATE=$top/.cache/keystone-bench-$key
# Keystone computes ~55,000 effective rows in one request: minutes with sqlite on 2 cores.
KEYSTONE_GUNICORN_TIMEOUT=1800
# shellcheck source=tests/integration/keystone/keystone-lib.sh
. "$top/tests/integration/keystone/keystone-lib.sh"

KEYSTONE_PID=
trap keystone_stop EXIT INT TERM

keystone_venv
if [ ! -f "$KEYSTONE_STATE/.seeded" ]; then
  echo "bench: seeding $key (once; cached in $(basename "$KEYSTONE_STATE"))"
  rm -rf "$KEYSTONE_STATE"
  mkdir -p "$KEYSTONE_STATE"
  keystone_configure
  keystone_bootstrap
  "$KEYSTONE_VENV/bin/python" "$here/seed_backend.py" "$KEYSTONE_STATE/keystone.conf" \
    "$projects" "$users" "$direct" "$groups" "$group_size" "$group_grants" "$inherited" 2>"$KEYSTONE_STATE/seed.log"
  touch "$KEYSTONE_STATE/.seeded"
else
  keystone_configure  # paths only; database and keys are reused
  echo "bench: reusing the seeded Keystone $key"
fi
keystone_start

if [ -x "$top/.venv/bin/python" ]; then PY=$top/.venv/bin/python; else PY=python3; fi
export KOS_KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT/v3"
export KOS_KEYSTONE_ADMIN_PASSWORD=$KEYSTONE_ADMIN_PASSWORD
"$PY" -W ignore "$here/bench.py"
