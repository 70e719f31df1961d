# 10-debian.sh: the pools of the systemd scenarios (scenarios_systemd.py), sourced by make_pools.sh
# in a pool VM of their own (debian_root.py), so that this root pool can be called rpool.
# disks: sd-base-tar sd-overlay-tar sd-rpool sd-crpool
#   sd-base-tar, sd-overlay-tar: no pools, raw tar archives read as whole disks: the debootstrapped
#     Debian 12 (debian_base.sh) and what the tests add to it (debian_root.py: the kernel's modules,
#     /etc/hostid, the hostname, the marker unit); or the trixie target's tree and the hostname and
#     marker unit (made by the target's own kernel and ZFS then)
#   rpool:  on its disk's first partition by its /dev/disk/by-id path, as the guide creates pools,
#           with the datasets of OpenZFS's Debian root-on-ZFS guide: rpool/ROOT (canmount=off),
#           rpool/ROOT/debian (mountpoint=/, canmount=noauto, the pool's bootfs), rpool/home,
#           rpool/var (canmount=off), rpool/var/log; no fstab entry for /; and the guide's boot
#           pool bpool on the same disk's second partition (compatibility=grub2, bpool/BOOT/debian
#           mounted on /boot: the root's /boot goes there); the zpool.cache naming both copied to
#           the root's /etc/zfs/ as the guide does (the initramfs imports rpool only;
#           zfs-import-cache imports bpool after the switch), and the guide's
#           /etc/zfs/zfs-list.cache/POOL for zfs-mount-generator
#   crpool: the same, encrypted as in the guide's encrypted variant: the pool's root dataset is the
#           encryption root (keylocation=prompt, passphrase "zinitrd-systemd-pass"); its root has
#           no zpool.cache, as many ZFSBootMenu roots have none
SD_PASS=zinitrd-systemd-pass

# whole NAME: the whole disk called NAME (disk gives its first partition; the tars have none).
whole() { d=$(disk "$1"); echo "${d%1}"; }
# by_id_part2 NAME: the second partition of disk NAME by its udev link, made here (see by_id).
by_id_part2() {
  run $B ln -sf "../../$(whole "$1" | $B sed 's|^/dev/||')2" "/dev/disk/by-id/virtio-$1-part2"
  echo "/dev/disk/by-id/virtio-$1-part2"
}
# debian_root POOL [BOOTPOOL]: the datasets (BOOTPOOL's /boot, mounted before the tars unpack),
# the two tars unpacked into them, the cache file naming both pools, all unmounted.
# CRYPTTAB=LINE: the root's /etc/crypttab (a pool on LUKS: 20-luks.sh).
debian_root() {
  run zfs create -o canmount=off -o mountpoint=none "$1/ROOT"
  run zfs create -o canmount=noauto -o mountpoint=/ "$1/ROOT/debian"
  run zfs mount "$1/ROOT/debian"
  run zfs create -o mountpoint=/home "$1/home"
  run zfs create -o canmount=off -o mountpoint=/var "$1/var"
  run zfs create "$1/var/log"
  if [ -n "${2:-}" ]; then
    run zfs create -o canmount=off -o mountpoint=none "$2/BOOT"
    run zfs create -o mountpoint=/boot "$2/BOOT/debian"
  fi
  echo "make_pools: unpacking the Debian root into $1 ${2:-}"
  run $B tar -xf "$(whole sd-base-tar)" -C /mnt
  run $B tar -xf "$(whole sd-overlay-tar)" -C /mnt
  if [ -n "${CRYPTTAB:-}" ]; then printf '%s\n' "$CRYPTTAB" > /mnt/etc/crypttab || die "crypttab"; fi
  run zpool set bootfs="$1/ROOT/debian" "$1"
  # The guide's pools are created with this cache file and it is copied into the new root, so
  # that zfs-import-cache.service finds them; the next pool's file must name its pools only.
  # NO_CACHE=1: a root without one.
  run $B mkdir -p /etc/zfs /mnt/etc/zfs
  if [ -z "${NO_CACHE:-}" ]; then
    for p in "$1" ${2:-}; do run zpool set cachefile=/etc/zfs/zpool.cache "$p"; done
    # The kernel writes the file after `zpool set` returns (an async task): wait for every name.
    for p in "$1" ${2:-}; do
      for i in $($B seq 100); do $B grep -q "$p" /etc/zfs/zpool.cache 2>/dev/null && break; $B sleep 0.1; done
      $B grep -q "$p" /etc/zfs/zpool.cache || die "/etc/zfs/zpool.cache never named $p"
    done
    run $B cp /etc/zfs/zpool.cache /mnt/etc/zfs/zpool.cache
  fi
  if [ -n "${NO_CACHE:-}" ] && [ -e /mnt/etc/zfs/zpool.cache ]; then die "the root has a zpool.cache"; fi
  # The guide's "mount ordering" step: zfs-list.cache/POOL, as ZED's list cacher writes it (these
  # properties, sorted), the altroot taken off; zfs-mount-generator makes the mount units from it.
  run $B mkdir -p /mnt/etc/zfs/zfs-list.cache
  for p in "$1" ${2:-}; do
    zfs list -H -t filesystem -o "$LIST_PROPS" -r "$p" | $B sed -E "s|${TAB}/mnt/?|${TAB}/|" |
      $B sort > "/mnt/etc/zfs/zfs-list.cache/$p" || die "zfs list $p"
    echo "make_pools: zfs-list.cache/$p: $($B cut -f1,2 "/mnt/etc/zfs/zfs-list.cache/$p" | $B tr '\t\n' ': ')"
  done
  for p in "$1" ${2:-}; do run zpool set cachefile=none "$p"; done
  $B rm -f /etc/zfs/zpool.cache
  [ -z "${2:-}" ] || run zfs umount "$2/BOOT/debian"
  run zfs umount "$1/var/log"
  run zfs umount "$1/home"
  run zfs umount "$1/ROOT/debian"
}

TAB=$(printf '\t')
LIST_PROPS=name,mountpoint,canmount,atime,relatime,devices,exec,readonly,setuid,nbmand,encroot
LIST_PROPS=$LIST_PROPS,keylocation,org.openzfs.systemd:requires,org.openzfs.systemd:requires-mounts-for
LIST_PROPS=$LIST_PROPS,org.openzfs.systemd:before,org.openzfs.systemd:after
LIST_PROPS=$LIST_PROPS,org.openzfs.systemd:wanted-by,org.openzfs.systemd:required-by
LIST_PROPS=$LIST_PROPS,org.openzfs.systemd:nofail,org.openzfs.systemd:ignore
WANT="acltype=posixacl xattr=sa compression=lz4 relatime=on dnodesize=auto"
opts() { for o in $WANT; do echo "-O $o"; done; }
create $(opts) rpool $(by_id sd-rpool)
# The guide's boot pool: what GRUB can read (compatibility=grub2), /boot only, on the same disk.
create -o compatibility=grub2 -O devices=off -O acltype=posixacl -O xattr=sa -O compression=lz4 \
  -O normalization=formD -O relatime=on bpool $(by_id_part2 sd-rpool)
debian_root rpool bpool
echo "$SD_PASS" | create $(opts) -O encryption=aes-256-gcm -O keyformat=passphrase \
  -O keylocation=prompt -O pbkdf2iters=100000 crpool $(by_id sd-crpool) || die "crpool"
NO_CACHE=1 debian_root crpool
