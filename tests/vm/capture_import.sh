#!/bin/busybox sh
# capture_import.sh: /init of a VM that prints what `zpool import` of a platform's ZFS says about
# the cached pool disks (capture_import.py attaches rpool, mirror-a without mirror-b, foreign, and
# the namesake rpool made under another hostid), for the runtime's unit fixtures: the listing,
# and the errors of importing a foreign pool, a missing pool and a pool with a member gone.
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /tmp /mnt
/usr/lib/zinitrd/init load-modules || echo "CAPTURE-FAILED load-modules"
export ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0 ZFS_VDEV_DEVID_OPT_OUT=YES PATH=/usr/sbin:/usr/bin:/sbin:/bin
for i in $($B seq 100); do [ -b /dev/vdd1 ] && break; $B sleep 0.1; done
section() {
  echo "CAPTURE-BEGIN $1"
  shift
  "$@" 2>&1
  echo "CAPTURE-END status=$?"
}
section version zpool version
section listing zpool import -d /dev
section foreign zpool import -d /dev -N -R /mnt fpool
section missing zpool import -d /dev -N -R /mnt nopool
section degraded zpool import -d /dev -N -R /mnt -o readonly=on mpool
echo "CAPTURE-DONE"
$B sync
$B poweroff -f
