# 60-exported.sh: a root pool as an installer leaves it, for scenarios_storage.py.
# disks: exported
#   epool: made under another hostid (the live system's: 0x1a2b3c4d) and exported at the end, as
#          the root-on-ZFS guides finish (`zpool export -a`); epool/root holds "exported". The
#          first boot of the installed system imports a pool no system owns.
echo 439041101 > /sys/module/spl/parameters/spl_hostid || die "cannot set spl_hostid"
create epool $(disk exported)
run zfs create -o mountpoint=/ -o canmount=noauto epool/root
run zfs mount epool/root
populate /mnt exported
run zfs umount epool/root
run zpool export epool
echo 0 > /sys/module/spl/parameters/spl_hostid || die "cannot reset spl_hostid"
