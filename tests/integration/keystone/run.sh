#!/usr/bin/env bash
# Keystone tenancy suite: a real Keystone (PyPI keystone, sqlite, one gunicorn worker) on
# 127.0.0.1:${KOS_KEYSTONE_PORT:-35357}, the keystone_tenancy module and its command line run
# against it, then gunicorn is stopped by its PID whether the tests pass or fail.
# Usage: tests/integration/keystone/run.sh [pytest args]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"

KEYSTONE_TOP=$top
KEYSTONE_PORT=${KOS_KEYSTONE_PORT:-35357}
KEYSTONE_STATE=$top/.cache/keystone-it
# Keystone silently cuts unpaged lists at max_db_limit: a tiny cap here proves the converter pages
# (with the default 1000 the seed would need thousands of users to show it).
KEYSTONE_MAX_DB_LIMIT=3
# shellcheck source=tests/integration/keystone/keystone-lib.sh
. "$here/keystone-lib.sh"

KEYSTONE_PID=
trap keystone_stop EXIT INT TERM

# A fresh database every run: the tests seed and change it.
rm -rf "$KEYSTONE_STATE"
mkdir -p "$KEYSTONE_STATE"
keystone_venv
keystone_configure
keystone_bootstrap
keystone_start

if [ -x "$top/.venv/bin/python" ]; then PY=$top/.venv/bin/python; else PY=python3; fi
export KOS_KEYSTONE_URL="http://127.0.0.1:$KEYSTONE_PORT/v3"
export KOS_KEYSTONE_ADMIN_PASSWORD=$KEYSTONE_ADMIN_PASSWORD
export ANSIBLE_CONFIG=$top/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$top/.collections
export PATH=$(dirname "$PY"):$PATH
"$PY" -m pytest -q -p no:cacheprovider --durations=12 "$here" "$@"
