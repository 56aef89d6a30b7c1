#!/usr/bin/env bash
# Rocky Linux 9 lab host. Needs an RPM mirror (KOS_EL_MIRROR, a BaseOS/AppStream base URL) and
# dnf on the build machine; the build machines of this project reach no RPM mirror, so this
# recipe is kept for operators who have one and is not built in CI.
set -euo pipefail
root=$1
: "${KOS_EL_MIRROR:?set KOS_EL_MIRROR to a Rocky 9 mirror base URL (…/9/) to build this image}"
command -v dnf >/dev/null || { echo "rocky-9: dnf is needed on the build machine" >&2; exit 2; }
mkdir -p "$root/etc/yum.repos.d"
cat > "$root/etc/yum.repos.d/kos.repo" <<REPO
[baseos]
name=BaseOS
baseurl=${KOS_EL_MIRROR}BaseOS/\$basearch/os/
gpgcheck=0
[appstream]
name=AppStream
baseurl=${KOS_EL_MIRROR}AppStream/\$basearch/os/
gpgcheck=0
REPO
dnf -y --installroot="$root" --releasever=9 --setopt=install_weak_deps=False \
  install systemd python3 sudo iproute procps-ng ca-certificates dnf
dnf --installroot="$root" clean all
: > "$root/etc/machine-id"
