#!/usr/bin/env bash
# Converge benchmark (issue 17): for each lab size (KOS_BENCH_SIZES, default "3 10 30" Kubernetes
# hosts, plus the lab's two routers and one image builder), create the hosts, run site.yml (the first
# converge, then KOS_BENCH_NOOP_RUNS converges with nothing to do, default 3) and report the first
# converge's time and the no-ops' median, the no-op ratio
# (goal <= 0.10) and the growth against the smallest size (goal: first <= 3x, no-op <= 2x).
# Every no-op run must report changed=0 on every host, else the benchmark fails.
# Its own container names (kos-bench-*), scope label and network (198.18.200.0/24): it never
# touches `make lab`. Run it alone on the machine: `flock /tmp/kos-lab.lock make bench`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
sizes=${KOS_BENCH_SIZES:-3 10 30}
# No-op converges per size (each must report changed=0); the table takes their median.
noop_runs=${KOS_BENCH_NOOP_RUNS:-3}
[[ "$noop_runs" =~ ^[1-9][0-9]*$ ]] || { echo "KOS_BENCH_NOOP_RUNS must be a whole number of at least 1, not '$noop_runs'"; exit 2; }
out=$top/.cache/bench-converge
mkdir -p "$out"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
tests/lab/engine.sh up >/dev/null
tests/lab/image.sh debian-bookworm >/dev/null
python3 "$here/inventory.py" 1 "$out/inv-down" || exit 1
down() { ansible-playbook -i "$out/inv-down" playbooks/lab_down.yml >"$out/down.log" 2>&1; }
trap down EXIT
failed=0
: >"$out/results.tsv"
for n in $sizes; do
  inv=$out/inv$n
  python3 "$here/inventory.py" "$n" "$inv" || exit 1
  down
  rm -rf "$out/pki" .cache/facts/kos-bench-*
  echo "--- $n Kubernetes hosts: creating the hosts"
  if ! ansible-playbook -i "$inv" playbooks/lab.yml >"$out/lab$n.log" 2>&1; then
    echo "creating the hosts failed: $out/lab$n.log"; tail -20 "$out/lab$n.log"; failed=1; continue
  fi
  times=() cpu=() noops=()
  for run in first $(seq -f "noop%g-" 1 "$noop_runs"); do
    python3 "$here/report.py" timed "$out/$run$n.time" "$out/$run$n.log" -- ansible-playbook -i "$inv" site.yml
    rc=$?
    read -r took used <"$out/$run$n.time"
    echo "    ${run%-} converge: $took s, the controller's CPU $used s (exit $rc; log $out/$run$n.log)"
    if [ "$rc" -ne 0 ]; then failed=1; tail -30 "$out/$run$n.log"; fi
    if [ "$run" = first ]; then times+=("$took") cpu+=("$used"); continue; fi
    if ! python3 "$here/report.py" changed "$out/$run$n.log"; then failed=1; fi
    noops+=("$out/$run$n.time")
  done
  # The median no-op (its log as noop<n>.log, for the per-layer times below).
  mid=$(python3 "$here/report.py" median "${noops[@]}")
  read -r took used <"$mid"
  times+=("$took") cpu+=("$used")
  cp "${mid%.time}.log" "$out/noop$n.log"
  echo "    no-op converge, the median of $noop_runs: $took s"
  printf '%s\t%s\t%s\t%s\t%s\n' "$n" "${times[0]}" "${times[1]}" "${cpu[0]}" "${cpu[1]}" >>"$out/results.tsv"
  echo "    per layer, first converge:"; python3 tests/lab/layer_times.py "$out/first$n.log"
  echo "    per layer, no-op converge:"; python3 tests/lab/layer_times.py "$out/noop$n.log" --top 10
done
python3 "$here/report.py" table "$out/results.tsv"
exit "$failed"
