#!/bin/bash
# debian_base.sh MIRROR OUT: the distribution part of the systemd scenarios' root, a real Debian 12
# made with debootstrap (minbase plus systemd as init, udev, dbus, kmod and ZFS's userland from
# contrib, and what zinitrd's .deb depends on and recommends, so that scenarios_host_only.py can
# `dpkg -i` it in the booted system as apt would after fetching them), written as the tar OUT. debian_root.py runs it as root and caches OUT by a hash of this
# file, MIRROR (read from the machine's apt sources, never written down) and debootstrap's version.
#
# What the tests add (kernel modules, /etc/hostid, the hostname, the marker unit) is a second tar
# made from the booted kernel and the host (debian_root.py), so this slow part survives kernel
# updates. No kernel package: the tests boot the host's kernel with -kernel, as a VM host would.
# Prints "debootstrap_seconds=S" on stdout.
set -euo pipefail
suite=bookworm
packages=systemd-sysv,udev,dbus,kmod,zfsutils-linux
# zinitrd's Depends beyond the above, and busybox (Recommends: the rescue shell; Debian's own, as
# apt picks it).
packages=$packages,libarchive13,libboost-program-options1.74.0,libelf1,busybox
[ $# = 2 ] || { echo "usage: debian_base.sh MIRROR OUT.tar" >&2; exit 2; }
mirror=$1 out=$2

tree=$(mktemp -d "$(dirname "$out")/tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
# The tar's "./" entry carries this mode onto the dataset's root directory: mktemp's 0700 there
# leaves every non-root daemon unable to reach /run (dbus-daemon's READY=1 never arrives).
chmod 0755 "$tree"
start=$(date +%s.%N)
debootstrap --variant=minbase --components=main,contrib --include="$packages" \
  "$suite" "$tree" "$mirror" >&2
end=$(date +%s.%N)

# Merged /usr, as every bookworm debootstrap: the second tar writes usr/lib/modules.
[ "$(readlink "$tree/lib")" = usr/lib ] || { echo "debian_base.sh: /lib is not a link to usr/lib" >&2; exit 1; }
# debootstrap copied the host's name and resolver; the downloaded packages and indexes are not
# part of a root (about 100 MB less to copy onto the pool).
rm -f "$tree/etc/hostname" "$tree/etc/resolv.conf" "$tree/etc/hosts"
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*_Packages \
  "$tree"/var/lib/apt/lists/*_Release* "$tree"/var/log/bootstrap.log
# The pool VM untars with busybox: GNU format (long names), numeric owners, no xattrs needed.
tar --format=gnu --numeric-owner -cf "$out" -C "$tree" .
awk -v a="$start" -v b="$end" 'BEGIN { printf "debootstrap_seconds=%.1f\n", b - a }'
