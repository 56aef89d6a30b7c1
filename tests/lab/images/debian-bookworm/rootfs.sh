#!/usr/bin/env bash
# Debian bookworm lab host: systemd as PID 1, python3 for Ansible, nothing of the platform.
set -euo pipefail
root=$1
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
mirror=${KOS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase \
  --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,iputils-ping,procps,sudo,ca-certificates,gnupg \
  bookworm "$root" "$mirror" >/dev/null
# Units that make no sense in a container and slow boot or fail.
for unit in systemd-remount-fs.service systemd-firstboot.service getty.target console-getty.service \
            systemd-udevd.service systemd-udev-trigger.service sys-kernel-debug.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/90kos-no-recommends"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
: > "$root/etc/machine-id"
