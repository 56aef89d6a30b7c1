#!/usr/bin/env bash
# Build a lab host image from its recipe when absent: tests/lab/images/<name>/rootfs.sh fills a
# root file system, which is imported with `docker import` (no registry can be pulled from here).
# The image is tagged kos-lab/<name>:<hash of the recipe>, and kos-lab/<name>:current points at
# the newest build, so a rebuild happens only when the recipe changes.
set -euo pipefail
name=${1:-debian-bookworm}
top=$(cd "$(dirname "$0")/../.." && pwd)
recipe="$top/tests/lab/images/$name"
[ -d "$recipe" ] || { echo "image: no recipe at tests/lab/images/$name" >&2; exit 2; }
self="$top/tests/lab/image.sh"
hash=$( (cd "$recipe" && cat $(ls | sort); cat "$self") | sha256sum | cut -c1-12)
image="kos-lab/$name"

if docker image inspect "$image:$hash" >/dev/null 2>&1; then
  docker tag "$image:$hash" "$image:current"
  echo "image: $image:$hash is current"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "image: building $image:$hash (recipe tests/lab/images/$name)"
start=$(date +%s)
bash "$recipe/rootfs.sh" "$work/rootfs"
tar -C "$work/rootfs" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  --message "kos lab host image $name, recipe $hash" \
  - "$image:$hash" >/dev/null
docker tag "$image:$hash" "$image:current"
echo "image: built $image:$hash in $(( $(date +%s) - start )) s"
