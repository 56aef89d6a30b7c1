#!/usr/bin/env bash
# Image pipelines suite.
#  - Two real Docker registries (Debian's docker-registry, distribution 2.8) on loopback:
#      127.0.0.1:${KOS_IMAGES_ART_PORT:-15001}  stand-in for Artifactory's Docker repository
#      127.0.0.1:${KOS_IMAGES_HUB_PORT:-15002}  stand-in for Docker Hub (the upstream registry)
#    and the docker engine (tests/lab/engine.sh up) drive playbooks/images/container.yml.
#  - A stand-in for Artifactory's generic repositories (artifactory_standin.py: the documented REST
#    API the client uses - checksum deploy, properties, File Info, property search, basic / Bearer
#    auth, a read-only user) on 127.0.0.1:${KOS_IMAGES_GENERIC_PORT:-15003} takes the uploads of
#    the artifact_upload module and the client's error-path tests.
#  - Packer templates rendered by the packer_image and dib_image roles pass
#    `packer validate -syntax-only` (offline).
# Every daemon started here is stopped by its PID in the trap, pass or fail.
# Usage: tests/integration/images/run.sh [pytest args]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"

state=$top/.cache/images-it
ART_PORT=${KOS_IMAGES_ART_PORT:-15001}
HUB_PORT=${KOS_IMAGES_HUB_PORT:-15002}
GENERIC_PORT=${KOS_IMAGES_GENERIC_PORT:-15003}
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT INT TERM

need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v packer >/dev/null || need+=(packer)
if [ ${#need[@]} -gt 0 ]; then
  echo "images suite: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
"$top/tests/lab/engine.sh" up

rm -rf "$state"
mkdir -p "$state"
if [ -x "$top/.venv/bin/python" ]; then PY=$top/.venv/bin/python; else PY=python3; fi

start_registry() {  # name port
  mkdir -p "$state/$1"
  cat > "$state/$1.yml" <<CONF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $state/$1}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$2
CONF
  docker-registry serve "$state/$1.yml" >"$state/$1.log" 2>&1 &
  pids+=($!)
}
start_registry artifactory "$ART_PORT"
start_registry dockerhub "$HUB_PORT"
"$PY" "$here/artifactory_standin.py" --port "$GENERIC_PORT" --root "$state/generic" \
  --user kos --password "kos-it-secret" --token "kos-it-token" --reader "kos-reader:kos-reader-secret" \
  >"$state/generic.log" 2>&1 &
pids+=($!)

for url in "http://127.0.0.1:$ART_PORT/v2/" "http://127.0.0.1:$HUB_PORT/v2/" "http://127.0.0.1:$GENERIC_PORT/api/system/ping"; do
  for _ in $(seq 1 50); do
    curl -fsS -o /dev/null -u kos:kos-it-secret "$url" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null -u kos:kos-it-secret "$url" || { echo "not answering: $url" >&2; tail "$state"/*.log >&2; exit 1; }
done

# A tiny base image: a root file system with Debian's static busybox, imported locally.
rootfs=$state/rootfs
mkdir -p "$rootfs/bin" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh echo cat ls; do ln -sf busybox "$rootfs/bin/$applet"; done
tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/sh"]' - kos-it/busybox:seed >/dev/null

export KOS_IMAGES_ART="127.0.0.1:$ART_PORT" KOS_IMAGES_HUB="127.0.0.1:$HUB_PORT"
export KOS_IMAGES_GENERIC="http://127.0.0.1:$GENERIC_PORT" KOS_IMAGES_STATE=$state
export ANSIBLE_CONFIG=$top/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH=$top/.collections
export ANSIBLE_ROLES_PATH=$top/roles
export PATH=$(dirname "$PY"):$PATH
set +e
"$PY" -m pytest -q -p no:cacheprovider --durations=12 "$here" "$@"
rc=$?
set -e
# Images this run made in the local engine.
# By image ID: an image whose tag moved to a newer build is listed as <repository>:<none>, which
# is no reference docker rmi takes (such images were left behind).
docker images --format '{{.Repository}} {{.ID}}' | grep -E "^(127\.0\.0\.1:($ART_PORT|$HUB_PORT)/|kos-it/|kos/base-)" | awk '{print $2}' | sort -u \
  | xargs -r docker rmi -f >/dev/null 2>&1 || true
exit $rc
