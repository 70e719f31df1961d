# 30-fault.sh: pools of the runtime fault scenarios (scenarios_fault.py).
# disks: fault
#   fault: xpool/noinit: a root whose /sbin/init was removed (and no /etc/init, /bin/init, /bin/sh)
#          xpool/nousr: a root without a /usr directory, with a canmount=on child xpool/nousr/usr
#                       (mountpoint=/usr) that cannot be mounted on a read-only root
create xpool $(disk fault)
run zfs create -o mountpoint=/ -o canmount=noauto xpool/noinit
run zfs mount xpool/noinit
populate /mnt noinit
run $B rm /mnt/sbin/init
run zfs umount xpool/noinit

run zfs create -o mountpoint=/ -o canmount=noauto xpool/nousr
run zfs mount xpool/nousr
populate /mnt nousr
run $B rm -rf /mnt/usr
run zfs umount xpool/nousr
# With the root unmounted, the child mounts on the altroot's own /mnt/usr, not in the dataset.
run zfs create xpool/nousr/usr
run zfs umount xpool/nousr/usr
