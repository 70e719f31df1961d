# 55-aux.sh: a root pool as years of use leave it, for scenarios_storage.py.
# disks: aux-data aux-cache aux-spare aux-log
#   auxpool: on aux-data's single MBR partition, from 1 MiB to the disk's very end (no GPT backup
#            there: the partition's two last labels are where the whole disk's would be, and the
#            disk reads as carrying them too); an L2ARC cache device (aux-cache) and a hot spare
#            (aux-spare), all by their /dev/disk/by-id links, as the guides add them: the pool's
#            MOS records those paths, and no member's label names the cache or the spare; and a
#            separate log device (aux-log) added, then removed: its place among the top-level
#            vdevs is a hole (hole_array in every label), and aux-log keeps its old label, of the
#            pool as it was. auxpool/root (mountpoint=/) holds "aux".
# le32 N: N as four little-endian bytes.
le32() {
  n=$1
  for _ in 1 2 3 4; do
    $B printf "\\$($B printf '%03o' $((n & 255)))"
    n=$((n >> 8))
  done
}
# mbr_to_end NAME: disk NAME repartitioned: an MBR with one Linux partition from sector 2048 to
# its last sector, the GPT vmlib wrote wiped, the kernel told to read the new table.
mbr_to_end() {
  d=$(whole_disk "$1")
  sectors=$($B cat "/sys/block/${d#/dev/}/size")
  run $B dd if=/dev/zero of="$d" bs=1M count=1 conv=notrunc 2>/dev/null
  run $B dd if=/dev/zero of="$d" bs=1M seek=$((sectors / 2048 - 1)) count=1 conv=notrunc 2>/dev/null
  { $B printf '\000\040\041\000\203\376\377\377'; le32 2048; le32 $((sectors - 2048)); } |
    $B dd of="$d" bs=1 seek=446 conv=notrunc 2>/dev/null || die "MBR on $d"
  $B printf '\125\252' | $B dd of="$d" bs=1 seek=510 conv=notrunc 2>/dev/null || die "MBR on $d"
  run $B blockdev --rereadpt "$d"
  for _ in $($B seq 50); do [ -b "${d}1" ] && break; $B sleep 0.1; done
  end=$(($($B cat "/sys/block/${d#/dev/}/${d#/dev/}1/start") + $($B cat "/sys/block/${d#/dev/}/${d#/dev/}1/size")))
  [ "$end" = "$sectors" ] || die "the MBR partition of $d ends at $end, not $sectors"
}

mbr_to_end aux-data
create auxpool $(by_id aux-data) log $(by_id aux-log) cache $(by_id aux-cache) spare $(by_id aux-spare)
run zpool remove auxpool /dev/disk/by-id/virtio-aux-log-part1
run zfs create -o mountpoint=/ -o canmount=noauto auxpool/root
run zfs mount auxpool/root
populate /mnt aux
run zfs umount auxpool/root
