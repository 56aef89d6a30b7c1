#!/usr/bin/env bash
# Docker engine for the lab and molecule.
#   engine.sh up    use a running engine, or install docker.io and start dockerd in the background
#   engine.sh down  stop dockerd, only if `up` started it (its PID is recorded in .lab/dockerd.pid)
# No systemd is assumed: on these build machines PID 1 is not systemd.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
state="$top/.lab"
pidfile="$state/dockerd.pid"
mkdir -p "$state"

engine_answers() { timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# Every systemd container (lab hosts, bench hosts, molecule instances) takes inotify instances; the
# kernel's default of 128 per user stops new containers at boot once ~40 run side by side (the
# converge benchmark's 30-host lab has 33). Raised here, so `make lab`, `make bench` and molecule get
# it on a fresh machine, not only CI.
inotify_room() {
  local now
  now=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 1024)
  if [ "$now" -lt 1024 ]; then
    sysctl -qw fs.inotify.max_user_instances=1024 2>/dev/null \
      || echo "docker engine: could not raise fs.inotify.max_user_instances ($now): more than ~40 systemd containers will not boot" >&2
  fi
}

up() {
  inotify_room
  if engine_answers; then
    echo "docker engine: using the running engine"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker engine: installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
  fi
  echo "docker engine: starting dockerd"
  # setsid: the engine must outlive the make target that started it, and not be killed by
  # a signal meant for the caller's process group. The caller's other descriptors are closed
  # first: under `flock /tmp/kos-lab.lock make bench` the engine would otherwise hold the lock
  # for as long as it runs, and every later `flock` would wait for ever.
  setsid python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \
    dockerd --host unix:///var/run/docker.sock >"$state/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 60); do
    if engine_answers; then echo "docker engine: up (pid $(cat "$pidfile"))"; return 0; fi
    sleep 0.5
  done
  echo "docker engine: dockerd did not answer within 30 s; see $state/dockerd.log" >&2
  tail -20 "$state/dockerd.log" >&2 || true
  return 1
}

down() {
  [ -f "$pidfile" ] || { echo "docker engine: not started by the lab, left running"; return 0; }
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "docker engine: stopped (pid $pid)"
  fi
  # containerd started by dockerd exits with it; make sure no orphan keeps the socket.
  rm -f "$pidfile"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
