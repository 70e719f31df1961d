# 40-namesake.sh: pools named like the root pool, for the namesake scenarios (scenarios_storage.py).
# disks: ns-foreign ns-twin
#   ns-foreign: a second pool whose on-disk name is rpool, created under hostid 0xdeadbeef (as
#               fpool in 10-base.sh): "in use from another system"; rpool/ROOT/debian holds the
#               label "namesake-foreign" and is its bootfs (so a runtime that takes it boots it)
#   ns-twin:    a twin also named rpool, created under this image's hostid; label "namesake-twin"
# Both are created under a temporary name (-t) beside the real rpool and left imported, not
# exported, like every pool here. make_pools.sh prints every pool's GUID (POOL-GUID lines), which
# vmlib.pool_guids reads back from the pool set's `done` file: nsforeign, nstwin and rpool.
namesake() {
  create -t "$1" rpool "$2"
  run zfs create -o mountpoint=none "$1/ROOT"
  run zfs create -o mountpoint=/ -o canmount=noauto "$1/ROOT/debian"
  run zfs mount "$1/ROOT/debian"
  populate /mnt "$3"
  run zfs umount "$1/ROOT/debian"
  run zpool set bootfs="$1/ROOT/debian" "$1"
}

echo 3735928559 > /sys/module/spl/parameters/spl_hostid || die "cannot set spl_hostid"
namesake nsforeign "$(disk ns-foreign)" namesake-foreign
echo 0 > /sys/module/spl/parameters/spl_hostid || die "cannot reset spl_hostid"
namesake nstwin "$(disk ns-twin)" namesake-twin
