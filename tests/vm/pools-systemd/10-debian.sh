# 10-debian.sh: the pools of the systemd scenarios (scenarios_systemd.py), sourced by make_pools.sh
# in a pool VM of their own (debian_root.py), so that this root pool can be called rpool.
# disks: sd-base-tar sd-overlay-tar sd-rpool sd-crpool
#   sd-base-tar, sd-overlay-tar: no pools, raw tar archives read as whole disks: the debootstrapped
#     Debian 12 (debian_base.sh) and what the tests add to it (debian_root.py: the kernel's modules,
#     /etc/hostid, the hostname, the marker unit); or the trixie target's tree and the hostname and
#     marker unit (made by the target's own kernel and ZFS then)
#   rpool:  on its disk's /dev/disk/by-id path, as the guide creates pools, with the datasets of
#           OpenZFS's Debian root-on-ZFS guide: rpool/ROOT (canmount=off),
#           rpool/ROOT/debian (mountpoint=/, canmount=noauto, the pool's bootfs), rpool/home,
#           rpool/var (canmount=off), rpool/var/log; no fstab entry for /; the pool's zpool.cache
#           copied to the root's /etc/zfs/ as the guide does
#   crpool: the same, encrypted as in the guide's encrypted variant: the pool's root dataset is the
#           encryption root (keylocation=prompt, passphrase "zinitrd-systemd-pass"); its own cache
#           file names crpool only
SD_PASS=zinitrd-systemd-pass

# whole NAME: the whole disk called NAME (disk gives its first partition; the tars have none).
whole() { d=$(disk "$1"); echo "${d%1}"; }
# debian_root POOL: the datasets, the two tars unpacked into them, the cache file, all unmounted.
debian_root() {
  run zfs create -o canmount=off -o mountpoint=none "$1/ROOT"
  run zfs create -o canmount=noauto -o mountpoint=/ "$1/ROOT/debian"
  run zfs mount "$1/ROOT/debian"
  run zfs create -o mountpoint=/home "$1/home"
  run zfs create -o canmount=off -o mountpoint=/var "$1/var"
  run zfs create "$1/var/log"
  echo "make_pools: unpacking the Debian root into $1"
  run $B tar -xf "$(whole sd-base-tar)" -C /mnt
  run $B tar -xf "$(whole sd-overlay-tar)" -C /mnt
  run zpool set bootfs="$1/ROOT/debian" "$1"
  # The guide's pools are created with this cache file and it is copied into the new root, so
  # that zfs-import-cache.service finds them; the next pool's file must name that pool only.
  run $B mkdir -p /etc/zfs
  run zpool set cachefile=/etc/zfs/zpool.cache "$1"
  run $B cp /etc/zfs/zpool.cache /mnt/etc/zfs/zpool.cache
  run zpool set cachefile=none "$1"
  $B rm -f /etc/zfs/zpool.cache
  run zfs umount "$1/var/log"
  run zfs umount "$1/home"
  run zfs umount "$1/ROOT/debian"
}

WANT="acltype=posixacl xattr=sa compression=lz4 relatime=on dnodesize=auto"
opts() { for o in $WANT; do echo "-O $o"; done; }
create $(opts) rpool $(by_id sd-rpool)
debian_root rpool
echo "$SD_PASS" | create $(opts) -O encryption=aes-256-gcm -O keyformat=passphrase \
  -O keylocation=prompt -O pbkdf2iters=100000 crpool $(by_id sd-crpool) || die "crpool"
debian_root crpool
