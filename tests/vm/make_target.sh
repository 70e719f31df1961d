#!/bin/bash
# make_target.sh SUITE PACKAGES MIRROR DIR: a Debian system made in DIR the way an installer makes
# its /target, for the trixie platform (debian_target.py keeps it; `zinitrd build --root DIR`
# builds images for it from the host, without chroot).
#
#   1. debootstrap (minbase, main and contrib) with PACKAGES (comma-separated: the kernel, its
#      headers, zfsutils-linux, ...);
#   2. in a chroot with /proc, /sys and /dev mounted, `apt-get install zfs-dkms`: DKMS builds ZFS
#      for the target's kernel inside the target, as it does on a real installation;
#   3. the downloaded packages, indexes and the host's name and resolver are dropped.
#
# Every mount lives in a private mount namespace (unshare -m) that dies with this script, so none
# outlives it on any exit path (error, Ctrl-C, a test timeout's SIGKILL); the trap unmounts them
# in order anyway while the script can still run.
# Callers cache DIR by a hash of this file, SUITE, PACKAGES, MIRROR (read from the machine's apt
# sources at run time, never written down) and debootstrap's version.
# Prints "debootstrap_seconds=S" and "dkms_seconds=S" on stdout; everything else goes to stderr.
set -euo pipefail
[ $# = 4 ] || { echo "usage: make_target.sh SUITE PACKAGES MIRROR DIR" >&2; exit 2; }
if [ -z "${ZINITRD_TARGET_NS:-}" ]; then
  ZINITRD_TARGET_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
suite=$1 packages=$2 mirror=$3 dir=$4

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" || true; done
  rm -f "$dir/usr/sbin/policy-rc.d"
}
trap cleanup EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
debootstrap --variant=minbase --components=main,contrib --include="$packages" \
  "$suite" "$dir" "$mirror" >&2
t1=$(now)
# Merged /usr, as every debootstrap of bookworm and later: kernel modules live in usr/lib/modules.
[ "$(readlink "$dir/lib")" = usr/lib ] || { echo "make_target.sh: /lib is not a link to usr/lib" >&2; exit 1; }

for m in proc sys dev; do
  mount --rbind "/$m" "$dir/$m"
  mounted+=("$dir/$m")
done
# No daemon of the target starts on the build machine (invoke-rc.d asks policy-rc.d).
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
kvers=$(ls "$dir/usr/lib/modules")
[ "$(echo "$kvers" | wc -l)" = 1 ] || { echo "make_target.sh: expected one kernel, found: $kvers" >&2; exit 1; }
chroot "$dir" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
  apt-get install -y --no-install-recommends zfs-dkms >&2
# The package's postinst builds for the newest kernel of the chroot; say it for that kernel anyway
# (a no-op when built) so a postinst that chose another kernel cannot go unnoticed.
chroot "$dir" dkms autoinstall -k "$kvers" >&2
chroot "$dir" dkms status >&2
t2=$(now)
cleanup
mounted=()

# debootstrap copied the host's name and resolver; the downloaded packages and indexes are not
# part of a root (hundreds of MB less to keep).
rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf" "$dir/etc/hosts"
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages \
  "$dir"/var/lib/apt/lists/*_Release* "$dir"/var/log/bootstrap.log
echo "debootstrap_seconds=$(secs "$t0" "$t1")"
echo "dkms_seconds=$(secs "$t1" "$t2")"
