#!/bin/busybox sh
# make_pools.sh: /init of the pool-creation VM (the host kernel cannot load zfs.ko, so pools are
# made inside a VM booted with an image that zinitrd itself built with `--init` this script).
#
# Each tests/vm/pools/NN-NAME.sh (copied to /guest/pools/) creates the pools of one group of
# scenarios, on the disks its "# disks:" line names. vmlib attaches every disk in that order and
# passes the names as zinitrd_test_disks=a,b,... (the kernel hands NAME=value to /init as an
# environment variable); `disk NAME` gives a disk's partition. Pools are left imported, not
# exported, as a real root pool is at power-off. The test images embed the same /etc/hostid as
# this image, so pools import without -f unless a script changes spl_hostid on purpose.
B=/bin/busybox
die() { echo "MAKE-POOLS-FAILED: $*"; $B sync; $B poweroff -f; }
run() { "$@" || die "$* (exit $?)"; }

$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /tmp /mnt
run /usr/lib/zinitrd/init load-modules
# The scripts call applets by name (cat, sort...): Debian's busybox, the host's that this image
# carries, finds them only through links (busybox-static's shell finds them itself).
run $B mkdir -p /guest/bin
run $B --install -s /guest/bin
export ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0 ZFS_VDEV_DEVID_OPT_OUT=YES PATH=/usr/sbin:/usr/bin:/sbin:/bin:/guest/bin

# disk NAME: the partition of the disk called NAME. vmlib gives each disk its name as its serial:
# vdX names follow the order the disks are probed in, which drivers probing in parallel may
# shuffle (a pool made on the wrong disk would break every scenario that boots it).
whole_disk() {
  for s in /sys/block/vd*/serial; do
    [ "$($B cat "$s" 2>/dev/null)" = "$1" ] && b=${s%/serial} && echo "/dev/${b##*/}" && return
  done
}
disk() {
  d=$(whole_disk "$1")
  [ -n "$d" ] || die "no disk with serial '$1' (zinitrd_test_disks=$zinitrd_test_disks)"
  echo "${d}1"
}
# by_id NAME: the partition of disk NAME by the link udev gives it (its serial is NAME:
# virtio-NAME-part1), made here (no udev in this VM): the root-on-ZFS guides create pools on
# by-id paths, and the pool records them.
by_id() {
  p=$(disk "$1")
  run $B mkdir -p /dev/disk/by-id
  run $B ln -sf "../../${p#/dev/}" "/dev/disk/by-id/virtio-$1-part1"
  echo "/dev/disk/by-id/virtio-$1-part1"
}
# Every disk and the partitions the kernel found on it (sysfs) have their device nodes.
ready() {
  for n in $(echo "$zinitrd_test_disks" | $B tr , ' '); do
    d=$(whole_disk "$n")
    [ -n "$d" ] && [ -b "$d" ] || return 1
    for p in /sys/block/${d#/dev/}/${d#/dev/}[0-9]*; do
      [ -e "$p" ] && { [ -b "/dev/${p##*/}" ] || return 1; }
    done
  done
}
for i in $($B seq 100); do ready && break; $B sleep 0.1; done
ready || die "disks did not appear: $($B ls /dev)"

# populate DIR LABEL: a minimal root whose /sbin/init is guest_init.sh, run by a static busybox
# (the root has no libc; vmlib.py's static_busybox).
populate() {
  for d in bin sbin etc proc sys dev run tmp usr; do run $B mkdir -p "$1/$d"; done
  run $B cp /guest/busybox "$1/bin/busybox"
  run $B cp /guest/init "$1/sbin/init"
  run $B chmod 0755 "$1/bin/busybox" "$1/sbin/init"
  echo "$2" > "$1/etc/zinitrd-test-root"
  # Like every real root: systemd in other initramfs generators refuses a root without it.
  printf 'NAME="zinitrd test root"\nID=debian\nPRETTY_NAME="zinitrd test root (%s)"\n' "$2" > "$1/etc/os-release"
}
create() { run zpool create -f -o ashift=12 -o cachefile=none -O mountpoint=none -O canmount=off -R /mnt "$@"; }

for script in /guest/pools/*.sh; do
  echo "make_pools: $script"
  . "$script"
done

run zpool sync
zpool list -H -o name,health,size
# GUIDs for the scenarios that name a pool by GUID or expect one on the console (vmlib.pool_guids).
zpool list -H -o name,guid | while read -r name guid; do echo "POOL-GUID $name $guid"; done
zfs list -H -o name,mountpoint,canmount
echo "MAKE-POOLS-DONE"
$B sync
$B poweroff -f
