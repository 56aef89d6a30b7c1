#!/usr/bin/env bash
# Day-two benchmark (issue 15): on a lab of its own (the lab's shape: three control planes, two
# routers, one image builder), time the first full converge (site.yml) and then adding one
# Kubernetes node (playbooks/node_add.yml), in the same run; the ratio add/first must be at most
# KOS_BENCH_DAY2_MAX_RATIO (default 0.35). Hosts are created before either timing (the lab role,
# not the platform). The add must report changed=0 on every host but the new one, its routers and
# the first control plane's cluster-wide layers. Containers are removed when it ends, pass or fail.
# Own names (kos-d2b-*), scope and network (198.18.202.0/24). Run it alone: flock /tmp/kos-lab.lock make bench
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
out=$top/.cache/bench-day2
max=${KOS_BENCH_DAY2_MAX_RATIO:-0.35}
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
rm -rf "$out"; mkdir -p "$out"
python3 "$here/inventory.py" "$out" || exit 1
both=(-i "$out/lab" -i "$out/node_add")
tests/lab/engine.sh up >/dev/null
tests/lab/image.sh debian-bookworm >/dev/null
down() { ansible-playbook "${both[@]}" playbooks/lab_down.yml >"$out/down.log" 2>&1; }
trap down EXIT
down
if ! ansible-playbook "${both[@]}" playbooks/lab.yml >"$out/hosts.log" 2>&1; then
  echo "creating the hosts failed: $out/hosts.log"; tail -20 "$out/hosts.log"; exit 1
fi

timed() {  # timed NAME CMD...: runs CMD with its output in $out/NAME.log, prints seconds
  local name=$1 start rc; shift
  start=$(date +%s.%N)
  "$@" >"$out/$name.log" 2>&1
  rc=$?
  python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)" \
    >"$out/$name.time"
  return "$rc"
}

failed=0
timed first ansible-playbook -i "$out/lab" site.yml || { failed=1; echo "first converge failed"; tail -30 "$out/first.log"; }
timed add ansible-playbook "${both[@]}" playbooks/node_add.yml -e node_add_hosts=kos-d2b-node4 \
  || { failed=1; echo "node_add.yml failed"; tail -30 "$out/add.log"; }
first=$(cat "$out/first.time"); add=$(cat "$out/add.time")
echo "first full converge of the lab (site.yml, 6 hosts): $first s"
echo "adding one node (playbooks/node_add.yml):            $add s"
echo "  per layer, adding the node:"; python3 tests/lab/layer_times.py "$out/add.log" 2>/dev/null | sed 's/^/  /'
python3 - "$first" "$add" "$max" "$out/add.log" <<'PY' || failed=1
import re, sys
first, add, limit, log = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ratio = add / first
print("ratio add/first: %.2f (required <= %.2f)" % (ratio, limit))
text = open(log).read()
recap = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(kos-d2b-\S+)\s+:.*?changed=(\d+)", text, re.M)}
touched = {h: c for h, c in recap.items() if c and h not in ("kos-d2b-node4", "kos-d2b-tor1", "kos-d2b-tor2", "kos-d2b-cp1")}
if touched:
    print("node_add.yml changed hosts it must leave alone: %s" % touched)
sys.exit(0 if ratio <= limit and not touched else 1)
PY
exit "$failed"
