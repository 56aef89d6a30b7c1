# Shared by tests/integration/keystone/run.sh and tests/bench/tenancy/run.sh (sourced, not run).
# Starts a real Keystone (PyPI, sqlite, one gunicorn worker, in-memory dogpile cache) on
# loopback. Everything lives under .cache/ of the checkout; nothing outside it is touched.
#
# Variables the caller sets before calling the functions:
#   KEYSTONE_TOP      checkout root
#   KEYSTONE_PORT     loopback port (never 5000: the test cloud owns it)
#   KEYSTONE_STATE    state directory (config, sqlite database, fernet keys, logs, pid)
#   KEYSTONE_GUNICORN_TIMEOUT  optional: seconds one request may take (default 300)
#   KEYSTONE_MAX_DB_LIMIT  optional: Keystone's page cap (default 1000), small in tests so
#                     that paging is exercised
# shellcheck shell=bash

KEYSTONE_VERSION=${KEYSTONE_VERSION:-30.0.0}
GUNICORN_VERSION=${GUNICORN_VERSION:-23.0.0}
KEYSTONE_ADMIN_PASSWORD=${KEYSTONE_ADMIN_PASSWORD:-kos-test-admin}

keystone_venv() {
  local venv="$KEYSTONE_TOP/.cache/keystone-venv"
  local stamp="$venv/.kos-keystone-$KEYSTONE_VERSION-$GUNICORN_VERSION"
  if [ ! -f "$stamp" ]; then
    echo "keystone: creating $venv (keystone==$KEYSTONE_VERSION, gunicorn==$GUNICORN_VERSION)"
    rm -rf "$venv"
    python3 -m venv "$venv" || {
      apt-get update -qq && apt-get install -y -qq python3-venv python3-dev >/dev/null
      python3 -m venv "$venv"
    }
    "$venv/bin/pip" install -q --upgrade pip >"$KEYSTONE_TOP/.cache/keystone-pip.log" 2>&1
    "$venv/bin/pip" install -q "keystone==$KEYSTONE_VERSION" "gunicorn==$GUNICORN_VERSION" \
      >>"$KEYSTONE_TOP/.cache/keystone-pip.log" 2>&1 || {
        tail -20 "$KEYSTONE_TOP/.cache/keystone-pip.log"; return 1; }
    touch "$stamp"
  fi
  KEYSTONE_VENV=$venv
}

keystone_configure() {
  mkdir -p "$KEYSTONE_STATE/fernet-keys" "$KEYSTONE_STATE/credential-keys"
  chmod 700 "$KEYSTONE_STATE/fernet-keys" "$KEYSTONE_STATE/credential-keys"
  cat >"$KEYSTONE_STATE/keystone.conf" <<CONF
[DEFAULT]
log_file = $KEYSTONE_STATE/keystone.log
max_db_limit = ${KEYSTONE_MAX_DB_LIMIT:-1000}
[database]
connection = sqlite:///$KEYSTONE_STATE/keystone.db
[cache]
enabled = true
backend = dogpile.cache.memory
[token]
provider = fernet
[fernet_tokens]
key_repository = $KEYSTONE_STATE/fernet-keys
[credential]
key_repository = $KEYSTONE_STATE/credential-keys
CONF
  # keystone.wsgi.api parses sys.argv with oslo.config: gunicorn's own arguments would break it.
  cat >"$KEYSTONE_STATE/kos_keystone_wsgi.py" <<'PY'
import sys

sys.argv = [sys.argv[0]]
from keystone.wsgi.api import application  # noqa: E402,F401
PY
}

keystone_manage() {
  # keystone-manage is chatty (eventlet deprecation warnings): keep its output in the state dir.
  "$KEYSTONE_VENV/bin/keystone-manage" --config-file "$KEYSTONE_STATE/keystone.conf" "$@" \
    >>"$KEYSTONE_STATE/keystone-manage.log" 2>&1 || {
      echo "keystone-manage $1 failed:" >&2; tail -20 "$KEYSTONE_STATE/keystone-manage.log" >&2; return 1; }
}

# Creates the database and keys once per state directory.
keystone_bootstrap() {
  if [ -f "$KEYSTONE_STATE/.bootstrapped" ]; then return 0; fi
  keystone_manage db_sync
  keystone_manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  keystone_manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
  keystone_manage bootstrap --bootstrap-password "$KEYSTONE_ADMIN_PASSWORD" \
    --bootstrap-admin-url "http://127.0.0.1:$KEYSTONE_PORT/v3" \
    --bootstrap-public-url "http://127.0.0.1:$KEYSTONE_PORT/v3" \
    --bootstrap-internal-url "http://127.0.0.1:$KEYSTONE_PORT/v3" \
    --bootstrap-region-id RegionOne
  touch "$KEYSTONE_STATE/.bootstrapped"
}

keystone_start() {
  if ss -ltn "sport = :$KEYSTONE_PORT" 2>/dev/null | grep -q LISTEN; then
    echo "keystone: port $KEYSTONE_PORT is already in use" >&2
    return 1
  fi
  OS_KEYSTONE_CONFIG_FILES="$KEYSTONE_STATE/keystone.conf" \
    "$KEYSTONE_VENV/bin/gunicorn" --workers 1 --timeout "${KEYSTONE_GUNICORN_TIMEOUT:-300}" --graceful-timeout 5 \
    --bind "127.0.0.1:$KEYSTONE_PORT" --chdir "$KEYSTONE_STATE" \
    --error-logfile "$KEYSTONE_STATE/gunicorn.log" \
    kos_keystone_wsgi:application >>"$KEYSTONE_STATE/gunicorn.log" 2>&1 &
  KEYSTONE_PID=$!
  echo "$KEYSTONE_PID" >"$KEYSTONE_STATE/gunicorn.pid"
  local i
  for i in $(seq 1 120); do
    if "$KEYSTONE_VENV/bin/python" -c "import sys,urllib.request; urllib.request.urlopen('http://127.0.0.1:$KEYSTONE_PORT/v3', timeout=2)" 2>/dev/null; then
      echo "keystone: up on 127.0.0.1:$KEYSTONE_PORT (pid $KEYSTONE_PID) after ${i}x0.5 s"
      return 0
    fi
    if ! kill -0 "$KEYSTONE_PID" 2>/dev/null; then
      echo "keystone: gunicorn exited" >&2; tail -30 "$KEYSTONE_STATE/gunicorn.log" >&2; return 1
    fi
    sleep 0.5
  done
  echo "keystone: not answering after 60 s" >&2
  tail -30 "$KEYSTONE_STATE/gunicorn.log" >&2
  return 1
}

keystone_stop() {
  if [ -n "${KEYSTONE_PID:-}" ] && kill -0 "$KEYSTONE_PID" 2>/dev/null; then
    kill "$KEYSTONE_PID"
    local i
    # The master stops its worker within --graceful-timeout (5 s), also mid-request; killed
    # earlier, it would leave the worker running.
    for i in $(seq 1 40); do kill -0 "$KEYSTONE_PID" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$KEYSTONE_PID" 2>/dev/null && kill -9 "$KEYSTONE_PID"
    wait "$KEYSTONE_PID" 2>/dev/null || true
    echo "keystone: stopped (pid $KEYSTONE_PID)"
  fi
  KEYSTONE_PID=
}
