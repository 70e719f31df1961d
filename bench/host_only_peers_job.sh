#!/bin/sh
# host_only_peers_job.sh: run.sh of the job disk host_only_peers.py gives the booted Debian root
# (run by systemd_marker.sh from the unpacked disk's directory). It makes the peers' machine-
# specific images the way their users ask for them, on the machine zinitrd's --host-only image
# was made on:
#   - initramfs-tools + zfs-initramfs (debs/): MODULES=dep in initramfs.conf, then mkinitramfs;
#   - dracut-core (debs/) + OpenZFS's dracut modules, unpacked from zfs-dracut (dracut-zfs/) into a
#     private module tree as bench/setup-peers.sh does on the host (zfs-dracut depends on `dracut`,
#     which conflicts with initramfs-tools): dracut --hostonly.
# Each otherwise at its own defaults (compressor and level), as zinitrd's hook image is at its
# own. zfs-initramfs depends on zfs-dkms | zfs-modules; this root's zfs.ko is the host's DKMS
# build (the tests copy it in), so that dependency alone is forced. No trigger runs: nothing here
# needs the root's own /boot image.
# Each image goes to the disk with serial zinitrd-out at its tool's offset (initramfs-tools at
# 0 MiB, dracut at 128 MiB); its size and build time are printed for the benchmark to cut it, or
# the tool's refusal.
set -eu
kver=$(uname -r)
out=/dev/disk/by-id/virtio-zinitrd-out
now() { cut -d' ' -f1 /proc/uptime; }
dpkg --no-triggers --force-depends -i ./debs/*.deb
# The kernel's config, where its package would have put it (see host_only_peers.py).
[ -e "/boot/config-$kver" ] || cp "boot/config-$kver" /boot/

# build TOOL IMAGE OFFSET_MIB COMMAND...: runs the tool's COMMAND (what it prints stays in the
# console log, prefixed by the marker script); copies IMAGE to the out disk, or reports the
# failure with the tool's last words. A tool that refuses is a result, not the job's failure.
build() {
  tool=$1 img=$2 offset=$3
  shift 3
  start=$(now)
  if "$@" >/var/tmp/"$tool".log 2>&1; then
    cat /var/tmp/"$tool".log
    dd if="$img" of="$out" bs=1M seek="$offset" conv=fsync,notrunc status=none
    echo "peer $tool bytes=$(stat -c %s "$img") seconds=$(awk -v a="$start" -v b="$(now)" \
      'BEGIN { printf "%.1f", b - a }') offset_mib=$offset"
  else
    status=$?
    cat /var/tmp/"$tool".log
    why=$(grep -m 1 -iE '^E:|failed|error' /var/tmp/"$tool".log || grep -v '^$' /var/tmp/"$tool".log | tail -n 1)
    echo "peer $tool failed status=$status: $why"
  fi
}

# initramfs-tools' host-only mode. On a ZFS root it may refuse ("failed to determine device for
# /": its dependency walk wants a block device under /).
sed -i 's/^MODULES=.*/MODULES=dep/' /etc/initramfs-tools/initramfs.conf
build initramfs-tools /var/tmp/itools-host-only.img 0 mkinitramfs -o /var/tmp/itools-host-only.img "$kver"

unpacked=/var/tmp/zfs-dracut base=/var/tmp/dracut-base
dpkg -x ./dracut-zfs/zfs-dracut_*.deb "$unpacked"
mkdir -p "$base/modules.d"
for e in /usr/lib/dracut/*; do
  [ "$(basename "$e")" = modules.d ] || ln -s "$e" "$base/"
done
for m in /usr/lib/dracut/modules.d/* "$unpacked"/usr/lib/dracut/modules.d/*; do
  ln -sfn "$m" "$base/modules.d/"
done
build dracut /var/tmp/dracut-host-only.img 128 env dracutbasedir="$base" \
  dracut --force --hostonly --add zfs --kver "$kver" /var/tmp/dracut-host-only.img
