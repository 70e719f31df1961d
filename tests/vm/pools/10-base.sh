# 10-base.sh: the pools of the main boot scenarios (sourced by make_pools.sh).
# disks: rpool tank mirror-a mirror-b foreign
#   rpool:   rpool/ROOT/debian (mountpoint=/, bootfs) with child rpool/ROOT/debian/usr,
#            rpool/ROOT/legacy (mountpoint=legacy), "rpool/ROOT/my root" (a space in the name)
#   tank:    tank/sys/os/roots/main: a pool not named rpool, a deep dataset path
#   mirror-a + mirror-b: mpool, a mirror: mpool/root
#   foreign: fpool/root, created under hostid 0xdeadbeef: "in use from another system"
create rpool $(disk rpool)
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

create tank $(disk tank)
run zfs create -p -o mountpoint=none tank/sys/os/roots
run zfs create -o mountpoint=/ -o canmount=noauto tank/sys/os/roots/main
run zfs mount tank/sys/os/roots/main
populate /mnt tank-deep
run zfs umount tank/sys/os/roots/main

create mpool mirror $(disk mirror-a) $(disk mirror-b)
run zfs create -o mountpoint=/ -o canmount=noauto mpool/root
run zfs mount mpool/root
populate /mnt mirror
run zfs umount mpool/root

echo 3735928559 > /sys/module/spl/parameters/spl_hostid || die "cannot set spl_hostid"
create fpool $(disk foreign)
run zfs create -o mountpoint=/ -o canmount=noauto fpool/root
run zfs mount fpool/root
populate /mnt foreign
run zfs umount fpool/root

# Back to this image's own hostid for the pool scripts that follow.
echo 0 > /sys/module/spl/parameters/spl_hostid || die "cannot reset spl_hostid"
