#!/usr/bin/env bash
# setup-debian.sh: make a fresh Debian 12 machine (as root) ready to build zinitrd and to boot
# ZFS roots under QEMU. Idempotent: a second run checks and returns in seconds.
#
# What it does, in order:
#   1. enable the `contrib` component (ZFS lives there) and `non-free-firmware` (the CPU
#      microcode packages), each derived from the existing deb822 sources;
#   2. install the build dependencies, a Debian kernel with headers, ZFS (DKMS), QEMU, and what the
#      early-microcode and UKI tests use (microcode, the systemd EFI stub, OVMF, FAT tools);
#   3. make sure DKMS has built zfs for the newest installed kernel (not the running one).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "setup-debian.sh: run as root (it installs packages)" >&2; exit 1; }

build_pkgs=(build-essential cmake pkg-config libkmod-dev libarchive-dev libzstd-dev libxxhash-dev libelf-dev liblzma-dev liblz4-dev zlib1g-dev
            libboost-program-options-dev doctest-dev cpio zstd xz-utils lz4 gzip python3 file dpkg-dev
            clang libclang-rt-14-dev clang-format
            kmod systemd bsdextrautils util-linux debianutils)  # depmod, kernel-install, column, setpriv, run-parts
kernel_pkgs=(linux-image-amd64 linux-headers-amd64)
zfs_pkgs=(zfs-dkms zfsutils-linux)
vm_pkgs=(qemu-system-x86 qemu-utils seabios busybox fdisk
         debootstrap debian-archive-keyring)  # Debian roots: the systemd scenarios' and the trixie target
# cryptsetup: the luks feature carries it into images of LUKS-backed pools; the tests make LUKS2
# volumes with it inside the pool VM.
# kbd's loadkeys compiles the system's console keymap into images (what passphrases are typed
# with); console-setup's ckbcomp writes the German keymap the keymap scenario types with.
crypt_pkgs=(cryptsetup-bin kbd console-setup)
# Unlock over SSH: dropbear (and dropbearkey) go into images with the ssh feature; busybox gives
# them udhcpc; the tests log in with OpenSSH's client and make their key pairs with ssh-keygen.
ssh_pkgs=(dropbear-bin openssh-client)
# Early microcode (non-free-firmware) and unified kernel images: the systemd EFI stub, objcopy
# (binutils) to assemble it, sbsigntool to sign it (openssl makes the tests' keys), OVMF to boot it,
# mtools/dosfstools for the ESP.
uki_pkgs=(intel-microcode amd64-microcode systemd-boot-efi binutils sbsigntool openssl ovmf mtools dosfstools)

missing() {  # prints the packages of "$@" that are not installed
  local p
  for p in "$@"; do
    dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || echo "$p"
  done
}

# 1. A component (contrib, non-free-firmware): same URIs and suites as each existing stanza of the
#    Debian sources, with that component only, in a file of its own.
enable_component() {
  local comp=$1 src=/etc/apt/sources.list.d/debian.sources
  local dst=/etc/apt/sources.list.d/zinitrd-$comp.sources
  if [ -f "$dst" ] || grep -qsE "^Components:(.* )?$comp( |\$)" "$src"; then return 1; fi
  [ -f "$src" ] || { echo "setup: $src not found; enable Debian's $comp component by hand" >&2; exit 1; }
  awk -v comp="$comp" 'BEGIN { RS = ""; ORS = "\n\n" }
       /(^|\n)Types:.*deb/ { gsub(/Components:[^\n]*/, "Components: " comp); print }' "$src" >"$dst.tmp"
  mv "$dst.tmp" "$dst"
  log "enabled $comp in $dst"
  return 0
}

added=0
enable_component contrib && added=1
enable_component non-free-firmware && added=1
if [ "$added" = 1 ] || [ -n "$(missing "${build_pkgs[@]}" "${kernel_pkgs[@]}" "${zfs_pkgs[@]}" "${vm_pkgs[@]}" "${crypt_pkgs[@]}" "${ssh_pkgs[@]}" "${uki_pkgs[@]}")" ]; then
  log "apt-get update"
  apt-get update -qq
fi

install() {  # install the missing ones of "$@"
  local todo
  todo=$(missing "$@")
  [ -z "$todo" ] && return 0
  log "installing: $(echo $todo)"
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $todo >/dev/null
}

install "${build_pkgs[@]}"
# Headers before zfs-dkms, so DKMS builds zfs for this kernel as part of the zfs-dkms install.
install "${kernel_pkgs[@]}"
install "${zfs_pkgs[@]}"
install "${vm_pkgs[@]}"
install "${crypt_pkgs[@]}"
install "${ssh_pkgs[@]}"
install "${uki_pkgs[@]}"

# The tests' minimal roots run busybox alone, without a libc (vmlib.py's static_busybox): they get
# busybox-static's binary, unpacked here. The package itself conflicts with busybox, which the host
# keeps as a stock Debian has it (initramfs-tools recommends it), as the images made here carry it.
static_bb=${ZINITRD_CACHE:-/var/cache/zinitrd-tests}/busybox-static
want=$(apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')
if [ ! -x "$static_bb/busybox" ] || [ "$(cat "$static_bb/version" 2>/dev/null)" != "$want" ]; then
  log "unpacking busybox-static $want into $static_bb (the tests' roots)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root busybox-static)
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
  mkdir -p "$static_bb"
  cp "$tmp/x/bin/busybox" "$static_bb/busybox.tmp"  # (install is this script's apt function)
  chmod 0755 "$static_bb/busybox.tmp"
  mv "$static_bb/busybox.tmp" "$static_bb/busybox"
  echo "$want" >"$static_bb/version"
  rm -rf "$tmp"
fi

# 3. The newest installed kernel that has headers is the one we test with (never the host's).
kver=$("$(dirname "$0")/kver.sh")
if ! ls /lib/modules/"$kver"/updates/dkms/zfs.ko* >/dev/null 2>&1; then
  log "DKMS has no zfs for $kver yet: dkms autoinstall -k $kver (several minutes)"
  dkms autoinstall -k "$kver"
fi
ls /lib/modules/"$kver"/updates/dkms/zfs.ko* >/dev/null || {
  echo "setup: zfs.ko was not built for $kver; see 'dkms status' and /var/lib/dkms/zfs/*/build/make.log" >&2
  exit 1
}
log "ready: kernel $kver, $(dkms status zfs 2>/dev/null | head -n1)"
