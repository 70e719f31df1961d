#!/bin/bash
# debootstrap.sh SUITE PACKAGES MIRROR DIR: a Debian root made with debootstrap into DIR (minbase,
# main and contrib, PACKAGES comma-separated), the way an installer makes its /target. Used for the
# systemd scenarios' Debian 12 root (debian_base.sh tars it) and for the Debian 13 target that the
# trixie platform builds its images from with `zinitrd build --root` (debian_target.py keeps it).
# Packages with DKMS modules (zfs-dkms) are built inside DIR during the install, for the kernels
# installed there, as on a real installation.
#
# Callers cache DIR by a hash of this file, SUITE, PACKAGES, MIRROR (read from the machine's apt
# sources at run time, never written down) and debootstrap's version.
# Prints "debootstrap_seconds=S" on stdout; everything else goes to stderr.
set -euo pipefail
[ $# = 4 ] || { echo "usage: debootstrap.sh SUITE PACKAGES MIRROR DIR" >&2; exit 2; }
suite=$1 packages=$2 mirror=$3 dir=$4

start=$(date +%s.%N)
debootstrap --variant=minbase --components=main,contrib --include="$packages" \
  "$suite" "$dir" "$mirror" >&2
end=$(date +%s.%N)

# Merged /usr, as every debootstrap of bookworm and later: kernel modules live in usr/lib/modules.
[ "$(readlink "$dir/lib")" = usr/lib ] || { echo "debootstrap.sh: /lib is not a link to usr/lib" >&2; exit 1; }
# debootstrap copied the host's name and resolver; the downloaded packages and indexes are not
# part of a root (hundreds of MB less to keep and to copy onto a pool).
rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf" "$dir/etc/hosts"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages \
  "$dir"/var/lib/apt/lists/*_Release* "$dir"/var/log/bootstrap.log
awk -v a="$start" -v b="$end" 'BEGIN { printf "debootstrap_seconds=%.1f\n", b - a }'
