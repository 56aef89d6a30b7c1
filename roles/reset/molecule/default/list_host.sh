# What the reset must leave as a fresh image had it: units, installed packages, accounts, groups,
# the host name and fstab's swap lines, processes and files under /etc /var/lib /opt /usr/local. Package-manager bookkeeping that any apt
# run rewrites (apt lists and states, dpkg's database, ld.so.cache) is not a trace of the platform.
set -eu
echo "## units"
systemctl list-unit-files --no-legend --no-pager | awk '{print $1}' | sort
echo "## packages"
dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort
echo "## users"
getent passwd | cut -d: -f1 | sort
echo "## groups"
getent group | cut -d: -f1 | sort
echo "## os"
echo "hostname $(hostname)"
echo "/etc/hostname $(cat /etc/hostname)"
grep -E '^[^#]*[[:space:]]swap[[:space:]]' /etc/fstab | sed 's/^/fstab /' || true
echo "## processes"
ps -eo comm= | sort -u
echo "## files"
find /etc /var/lib /opt /usr/local -xdev \
  \( -path /var/lib/apt -o -path /var/lib/dpkg -o -path /etc/ld.so.cache -o -path /var/lib/systemd/deb-systemd-helper-masked \) -prune \
  -o -print | sort
