#!/bin/busybox sh
# make_pools.sh: /init of the pool-creation VM (the host kernel cannot load zfs.ko, so pools are
# made inside a VM booted with an image that zinitrd itself built with `--init` this script).
#
# Disks (each with one partition made on the host):
#   vda: rpool   rpool/ROOT/debian (mountpoint=/, bootfs) with child rpool/ROOT/debian/usr,
#                rpool/ROOT/legacy (mountpoint=legacy), "rpool/ROOT/my root" (a space in the name)
#   vdb: tank    tank/sys/os/roots/main: a pool not named rpool, a deep dataset path
#   vdc+vdd:     mpool, a mirror: mpool/root
#   vde: fpool   fpool/root, created under hostid 0xdeadbeef: "in use from another system"
# Pools are left imported, not exported, as a real root pool is at power-off. The test images
# embed the same /etc/hostid as this image, so every pool but fpool imports without -f.
B=/bin/busybox
die() { echo "MAKE-POOLS-FAILED: $*"; $B sync; $B poweroff -f; }
run() { "$@" || die "$* (exit $?)"; }

$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
$B mkdir -p /tmp /mnt
run /usr/lib/zinitrd/init load-modules
for i in $($B seq 100); do [ -b /dev/vde1 ] && break; $B sleep 0.1; done
[ -b /dev/vde1 ] || die "disks did not appear: $($B ls /dev)"
export ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0 ZFS_VDEV_DEVID_OPT_OUT=YES PATH=/usr/sbin:/usr/bin:/sbin:/bin

# populate DIR LABEL: a minimal root whose /sbin/init is guest_init.sh.
populate() {
  for d in bin sbin etc proc sys dev run tmp usr; do run $B mkdir -p "$1/$d"; done
  run $B cp /bin/busybox "$1/bin/busybox"
  run $B cp /guest/init "$1/sbin/init"
  run $B chmod 0755 "$1/bin/busybox" "$1/sbin/init"
  echo "$2" > "$1/etc/zinitrd-test-root"
}
create() { run zpool create -f -o ashift=12 -o cachefile=none -O mountpoint=none -O canmount=off -R /mnt "$@"; }

create rpool /dev/vda1
run zfs create -o mountpoint=none rpool/ROOT
run zfs create -o mountpoint=/ -o canmount=noauto rpool/ROOT/debian
run zfs mount rpool/ROOT/debian
run zfs create rpool/ROOT/debian/usr
populate /mnt debian
echo usr-child > /mnt/usr/zinitrd-test-usr
run zfs umount rpool/ROOT/debian/usr
run zfs umount rpool/ROOT/debian
run zfs create -o mountpoint=/ -o canmount=noauto "rpool/ROOT/my root"
run zfs mount "rpool/ROOT/my root"
populate /mnt "my root"
run zfs umount "rpool/ROOT/my root"
run zfs create -o mountpoint=legacy rpool/ROOT/legacy
run $B mkdir -p /legacy
run $B mount -t zfs rpool/ROOT/legacy /legacy
populate /legacy legacy
run $B umount /legacy
run zpool set bootfs=rpool/ROOT/debian rpool

create tank /dev/vdb1
run zfs create -p -o mountpoint=none tank/sys/os/roots
run zfs create -o mountpoint=/ -o canmount=noauto tank/sys/os/roots/main
run zfs mount tank/sys/os/roots/main
populate /mnt tank-deep
run zfs umount tank/sys/os/roots/main

create mpool mirror /dev/vdc1 /dev/vdd1
run zfs create -o mountpoint=/ -o canmount=noauto mpool/root
run zfs mount mpool/root
populate /mnt mirror
run zfs umount mpool/root

echo 3735928559 > /sys/module/spl/parameters/spl_hostid || die "cannot set spl_hostid"
create fpool /dev/vde1
run zfs create -o mountpoint=/ -o canmount=noauto fpool/root
run zfs mount fpool/root
populate /mnt foreign
run zfs umount fpool/root

run zpool sync
zpool list -H -o name,health,size
zfs list -H -o name,mountpoint,canmount
echo "MAKE-POOLS-DONE"
$B sync
$B poweroff -f
