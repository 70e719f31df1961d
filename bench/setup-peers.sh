#!/bin/bash
# setup-peers.sh: installs the peers the benchmark measures zinitrd against, idempotently.
#
#   - initramfs-tools + zfs-initramfs (Debian's ZFS hook: `mkinitramfs -o OUT KVER`);
#   - dracut-core + OpenZFS's dracut modules (90zfs, 02zfsexpandknowledge). The zfs-dracut package
#     depends on `dracut`, which conflicts with initramfs-tools, so its files are unpacked with
#     `dpkg -x` into $BENCH_CACHE/zfs-dracut and dracut is pointed at a private module tree
#     ($BENCH_CACHE/dracut: symlinks to /usr/lib/dracut plus the two ZFS modules) through its
#     `dracutbasedir` environment variable. Nothing is added to /usr/lib/dracut.
#   - python3-matplotlib for the chart, zstd for the floor measurement.
#
# The host's /boot is left as it was: installing zfs-initramfs triggers `update-initramfs -u`,
# which rewrites /boot/initrd.img-*; every such file is saved first and put back afterwards.
# dracut-core ships no kernel hooks (those are in the `dracut` package), so it never writes /boot.
set -euo pipefail
BENCH_CACHE=${BENCH_CACHE:-/var/cache/zinitrd-bench}
log() { echo "setup-peers: $*" >&2; }

# Commands' output is captured before it is searched: under pipefail, `cmd | grep -q` fails when
# grep exits at its first match and cmd dies of SIGPIPE writing the rest.
want=()
for p in initramfs-tools zfs-initramfs dracut-core python3-matplotlib zstd cpio; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || want+=("$p")
done
if ((${#want[@]})); then
  policy=$(apt-cache policy zfs-initramfs)
  if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
    echo "setup-peers: zfs-initramfs is not available: enable Debian's contrib component" \
         "(run scripts/setup-debian.sh first)" >&2
    exit 1
  fi
  # Refuse anything that would remove a package (dracut would remove initramfs-tools).
  simulated=$(apt-get install -s --no-install-recommends "${want[@]}")
  if grep -q '^Remv' <<<"$simulated"; then
    echo "setup-peers: installing ${want[*]} would remove packages; not doing it:" >&2
    grep '^Remv' <<<"$simulated" >&2
    exit 1
  fi
  save=$(mktemp -d /var/tmp/zinitrd-bench-boot.XXXXXX)
  shopt -s nullglob
  before=(/boot/initrd.img-*)
  ((${#before[@]})) && cp -a "${before[@]}" "$save/"
  log "installing ${want[*]} (saving ${#before[@]} image(s) of /boot in $save)"
  restore() {
    for f in /boot/initrd.img-*; do
      [ -e "$save/$(basename "$f")" ] || { log "removing $f (made by the package triggers)"; rm -f "$f"; }
    done
    for f in "$save"/initrd.img-*; do
      cmp -s "$f" "/boot/$(basename "$f")" || { log "restoring /boot/$(basename "$f")"; cp -a "$f" /boot/; }
    done
    rm -rf "$save"
  }
  trap restore EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" >&2
fi

# OpenZFS's dracut modules, from the zfs-dracut package matching the installed zfsutils-linux.
zfsver=$(dpkg-query -W -f='${Version}' zfsutils-linux)
unpacked=$BENCH_CACHE/zfs-dracut-$zfsver
if [ ! -f "$unpacked/.done" ]; then
  log "unpacking zfs-dracut $zfsver into $unpacked"
  rm -rf "$unpacked" && mkdir -p "$unpacked/deb"
  (cd "$unpacked/deb" && chown _apt . 2>/dev/null; apt-get download -q "zfs-dracut=$zfsver" >&2)
  dpkg -x "$unpacked"/deb/zfs-dracut_*.deb "$unpacked/root"
  touch "$unpacked/.done"
fi

# A private dracutbasedir: /usr/lib/dracut's entries as symlinks, modules.d with the ZFS modules.
base=$BENCH_CACHE/dracut
rm -rf "$base.tmp" && mkdir -p "$base.tmp/modules.d"
for e in /usr/lib/dracut/*; do
  [ "$(basename "$e")" = modules.d ] || ln -s "$e" "$base.tmp/"
done
for m in /usr/lib/dracut/modules.d/* "$unpacked"/root/usr/lib/dracut/modules.d/*; do
  ln -sfn "$m" "$base.tmp/modules.d/"
done
rm -rf "$base" && mv "$base.tmp" "$base"
log "dracut: run with dracutbasedir=$base (90zfs from zfs-dracut $zfsver)"
log "ready: mkinitramfs $(dpkg-query -W -f='${Version}' initramfs-tools)," \
    "zfs-initramfs $(dpkg-query -W -f='${Version}' zfs-initramfs)," \
    "dracut $(dpkg-query -W -f='${Version}' dracut-core)"
