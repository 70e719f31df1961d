# 50-layout.sh: a root pool laid out as servers lay theirs out, for scenarios_storage.py.
# disks: lay-a lay-b lay-c lay-d lay-log lay-r1 lay-r2 lay-r3
#   wpool: two mirrors striped (lay-a + lay-b, lay-c + lay-d) and a separate intent log (lay-log):
#          three top-level vdevs, one of them a log, all by their /dev/disk/by-id links;
#          wpool/root (mountpoint=/) holds "layout"
#   raidpool: a raidz1 of three disks (lay-r1, lay-r2, lay-r3); raidpool/root holds "raidz"
create wpool mirror $(by_id lay-a) $(by_id lay-b) mirror $(by_id lay-c) $(by_id lay-d) log $(by_id lay-log)
run zfs create -o mountpoint=/ -o canmount=noauto wpool/root
run zfs mount wpool/root
populate /mnt layout
run zfs umount wpool/root

create raidpool raidz1 $(disk lay-r1) $(disk lay-r2) $(disk lay-r3)
run zfs create -o mountpoint=/ -o canmount=noauto raidpool/root
run zfs mount raidpool/root
populate /mnt raidz
run zfs umount raidpool/root
