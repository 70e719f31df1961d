# 50-layout.sh: a root pool laid out as servers lay theirs out, for scenarios_storage.py.
# disks: lay-a lay-b lay-c lay-d lay-log
#   wpool: two mirrors striped (lay-a + lay-b, lay-c + lay-d) and a separate intent log (lay-log):
#          three top-level vdevs, one of them a log; wpool/root (mountpoint=/) holds "layout"
create wpool mirror $(disk lay-a) $(disk lay-b) mirror $(disk lay-c) $(disk lay-d) log $(disk lay-log)
run zfs create -o mountpoint=/ -o canmount=noauto wpool/root
run zfs mount wpool/root
populate /mnt layout
run zfs umount wpool/root
