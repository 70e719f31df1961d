# 57-draid.sh: a root pool on dRAID with a special allocation class, for scenarios_storage.py.
# disks: dr-1 dr-2 dr-3 dr-4 dr-s1 dr-s2
#   drpool: draid1:2d:1s:4c over dr-1..dr-4 (one parity, two data disks per group, one
#           distributed spare: a vdev without a disk, draid1-0-0) and a special vdev mirror
#           (dr-s1 + dr-s2) that holds the metadata and small blocks (special_small_blocks=16K),
#           as servers put it on two SSDs before a row of disks; all by their /dev/disk/by-id
#           links. drpool/root (mountpoint=/) holds "draid".
create drpool draid1:2d:1s:4c $(by_id dr-1) $(by_id dr-2) $(by_id dr-3) $(by_id dr-4) \
  special mirror $(by_id dr-s1) $(by_id dr-s2)
run zfs set special_small_blocks=16K drpool
run zfs create -o mountpoint=/ -o canmount=noauto drpool/root
run zfs mount drpool/root
populate /mnt draid
run zfs umount drpool/root
