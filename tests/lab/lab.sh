#!/usr/bin/env bash
# make lab / make lab-down.
#   lab.sh up    docker engine (started if none runs), host image (built if its recipe changed),
#                lab hosts (playbooks/lab.yml), the platform (site.yml), then a summary.
#   lab.sh down  removes every container, network and volume of the lab, and stops the docker
#                engine if `up` started it. The host image stays as a build cache
#                (docker image rm kos-lab/debian-bookworm:current to drop it).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
inventory=${LAB_INVENTORY:-inventories/lab}
state="$top/.lab"
mkdir -p "$state"

summary() {
  local log=$1
  echo
  echo "================ kos.platform lab summary ================"
  echo "Hosts (container, address, systemd):"
  for name in $(docker ps --filter label=kos.platform/lab=lab --format '{{.Names}}' | sort); do
    addr=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$name")
    sysd=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    printf '  %-20s %-16s %s\n' "$name" "$addr" "$sysd"
  done
  echo "Converged (PLAY RECAP of site.yml):"
  sed -n '/PLAY RECAP/,/^$/p' "$log" | grep -E 'ok=' | sed 's/^/  /'
  echo "Layers run:"
  grep -E '^PLAY \[' "$log" | sed -E 's/^PLAY \[(.*)\] \**$/  \1/'
  echo "Layers skipped, and why:"
  if grep -q 'SKIPPED LAYER' "$log"; then
    grep -oE 'SKIPPED LAYER[^"]*' "$log" | sort -u | sed 's/^/  /'
  else
    echo "  none"
  fi
  python3 "$top/tests/lab/api_endpoint_summary.py" "$inventory" || true
  echo "Time per layer (profile_tasks; a layer its gate found unchanged is skipped):"
  python3 "$top/tests/lab/layer_times.py" "$log" || true
  echo "Full log: .lab/site.log. Remove everything with: make lab-down"
}

# The live checks of playbooks/verify.yml (etcd health, membership and a TLS round trip; BGP
# sessions and prefixes on every router), so the summary says what works, not only what converged.
verify() {
  local out=$state/verify.json
  echo "Live checks (playbooks/verify.yml; result in .lab/verify.json):"
  ANSIBLE_STDOUT_CALLBACK=ansible.posix.json \
    ansible-playbook -i "$inventory" -e verify_junit_file="$state/verify-kubernetes.xml" playbooks/verify.yml \
    >"$out" 2>"$state/verify.err"
  python3 "$top/tests/lab/verify_summary.py" "$out"
}

up() {
  local start=$(date +%s)
  # Stop the engine on `down` only if this lab started it (not CI's, not the user's own).
  if ! timeout 5 docker version >/dev/null 2>&1; then touch "$state/engine-started-by-lab"; fi
  tests/lab/engine.sh up
  tests/lab/image.sh debian-bookworm
  ansible-playbook -i "$inventory" playbooks/lab.yml
  set +e
  ANSIBLE_FORCE_COLOR=0 ANSIBLE_CALLBACK_RESULT_FORMAT=json \
    ansible-playbook -i "$inventory" site.yml "$@" 2>&1 | tee "$state/site.log"
  rc=${PIPESTATUS[0]}
  set -e
  summary "$state/site.log"
  set +e
  verify
  vrc=$?
  set -e
  if [ "$vrc" -ne 0 ]; then
    echo "Some live checks failed (above). Layers reported as SKIPPED LAYER cannot pass theirs: without Calico"
    echo "the nodes run no BGP speaker (the routers' sessions stay down), without Kubernetes there is no API."
  fi
  echo "make lab took $(( $(date +%s) - start )) s (site.yml exit code $rc)"
  return "$rc"
}

down() {
  if timeout 5 docker version >/dev/null 2>&1; then
    ansible-playbook -i "$inventory" playbooks/lab_down.yml
  fi
  rm -rf "$state/pki" "$state/site.log" "$state/verify.json" "$state/verify.err" \
    "$state/verify-kubernetes.xml"
  if [ -f "$state/engine-started-by-lab" ]; then
    tests/lab/engine.sh down
    rm -f "$state/engine-started-by-lab"
  fi
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
