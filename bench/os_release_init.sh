#!/bin/busybox sh
# os_release_init.sh: /init of the VM that derives the benchmark's pool disk from the tests' rpool
# disk (tests/vm/make_pools.sh). It adds one file, /etc/os-release, to rpool/ROOT/debian: systemd
# in dracut's initramfs refuses to switch to a root without one ("does not seem to be an OS
# tree"), and every real root has one. The pool is left imported, as make_pools.sh leaves it.
B=/bin/busybox
die() { echo "BENCH-DISK-FAILED: $*"; $B sync; $B poweroff -f; }
run() { "$@" || die "$* (exit $?)"; }

$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /tmp /mnt
run /usr/lib/zinitrd/init load-modules
for i in $($B seq 100); do [ -b /dev/vda1 ] && break; $B sleep 0.1; done
[ -b /dev/vda1 ] || die "disk did not appear: $($B ls /dev)"
export ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0 ZFS_VDEV_DEVID_OPT_OUT=YES PATH=/usr/sbin:/usr/bin:/sbin:/bin

run zpool import -N -R /mnt -d /dev rpool
run zfs mount rpool/ROOT/debian
run $B mkdir -p /mnt/etc
printf 'PRETTY_NAME="zinitrd benchmark root"\nNAME=zinitrd-bench\nID=zinitrd-bench\n' \
  > /mnt/etc/os-release || die "cannot write /etc/os-release"
run zfs umount rpool/ROOT/debian
run zpool sync
echo "BENCH-DISK-DONE"
$B sync
$B poweroff -f
