#!/usr/bin/env bash
# Benchmark "images": what skipping unchanged work saves. For the container pipeline (two local
# docker-registry instances, the docker engine) and the bare-metal pipeline (diskimage-builder, the
# Artifactory stand-in), time a real build (an input changed) and an unchanged run, in the same run:
# for bare metal the same playbook again, for the container pipeline what its Jenkins job runs (the
# pre-check kos_images_cli container-unchanged, which ends the job); print unchanged / real-build
# ratios (target: at most 0.1).
# Every daemon started here is stopped by its PID, whatever happens.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
state=$top/.cache/bench-images
ART_PORT=${KOS_BENCH_IMAGES_ART_PORT:-15031}
HUB_PORT=${KOS_BENCH_IMAGES_HUB_PORT:-15032}
GENERIC_PORT=${KOS_BENCH_IMAGES_GENERIC_PORT:-15033}
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT INT TERM
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v packer >/dev/null || need+=(packer)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
"$top/tests/lab/engine.sh" up
rm -rf "$state/registry" "$state/generic"
mkdir -p "$state"
for name in artifactory:$ART_PORT dockerhub:$HUB_PORT; do
  reg=${name%%:*} port=${name##*:}
  mkdir -p "$state/registry/$reg"
  printf 'version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$state/registry/$reg" "$port" > "$state/$reg.yml"
  docker-registry serve "$state/$reg.yml" >"$state/$reg.log" 2>&1 &
  pids+=($!)
done
"$top/.venv/bin/python" "$top/tests/integration/images/artifactory_standin.py" --port "$GENERIC_PORT" \
  --root "$state/generic" --user kos --password kos-bench-secret >"$state/generic.log" 2>&1 &
pids+=($!)
for url in "http://127.0.0.1:$ART_PORT/v2/" "http://127.0.0.1:$HUB_PORT/v2/" "http://127.0.0.1:$GENERIC_PORT/api/system/ping"; do
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.2; done
  curl -fsS -o /dev/null "$url" || { echo "not answering: $url" >&2; exit 1; }
done
export PATH="$top/.venv/bin:$PATH" ANSIBLE_CONFIG=$top/ansible.cfg ANSIBLE_COLLECTIONS_PATH=$top/.collections
set +e
python "$here/bench.py" --state "$state" --art "127.0.0.1:$ART_PORT" --hub "127.0.0.1:$HUB_PORT" \
  --generic "http://127.0.0.1:$GENERIC_PORT" "$@"
rc=$?
set -e
# By image ID: an image whose tag moved to a newer build is listed as <repository>:<none>, which
# is no reference docker rmi takes (such images were left behind).
docker images --format '{{.Repository}} {{.ID}}' | grep -E "^(127\.0\.0\.1:($ART_PORT|$HUB_PORT)/|kos-bench/)" | awk '{print $2}' | sort -u \
  | xargs -r docker rmi -f >/dev/null 2>&1 || true
exit $rc
