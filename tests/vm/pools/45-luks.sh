# 45-luks.sh: pools on LUKS2 devices (scenarios_luks.py; sourced by make_pools.sh).
# host only: its scenarios build from the host's root (a target has no cryptsetup)
# disks: luks-a luks-b luks-c
#   luks-a: one LUKS2 device (UUID $LUKS_A) holding lpool; keyslot 0 is the passphrase, keyslot 1
#           the key file tests/vm/luks.key (its bytes are below)
#     lpool/root   a plain root
#     lpool/enc    a root natively encrypted with the LUKS passphrase (one prompt for both)
#   luks-b + luks-c: two LUKS2 devices ($LUKS_B, $LUKS_C), same passphrase, holding lmpool, a
#           mirror, whose root lmpool/root is natively encrypted with that passphrase too
# The volumes use PBKDF2 with 1000 iterations instead of argon2id's default cost: each try of a
# passphrase costs that derivation under QEMU's emulation (no KVM here), where argon2id's 1 GiB
# of memory and ~2 s of work on real hardware take far longer (and would not fit the pool VM's
# memory). The cipher is LUKS2's default, aes-xts-plain64.
# Each root's /sbin/init first prints the open dm-crypt mappings and whether the AES-NI module
# is loaded ("LUKS-MAPPINGS: a,b aesni=no"): the names must survive switch_root as crypttab gives
# them, and QEMU's default CPU (no AES-NI) must boot on the generic AES.
LUKS_PASS=zinitrd-luks-pass
LUKS_A=4c554b53-0000-4000-8000-00000000000a
LUKS_B=4c554b53-0000-4000-8000-00000000000b
LUKS_C=4c554b53-0000-4000-8000-00000000000c
run $B mkdir -p /run/cryptsetup
luks_format() {  # DEV UUID: a LUKS2 volume with passphrase $LUKS_PASS, opened as luks-UUID
  printf %s "$LUKS_PASS" | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 --uuid "$2" "$1" - || die "luksFormat $1"
  printf %s "$LUKS_PASS" | cryptsetup open --key-file - "$1" "luks-$2" || die "open $1"
  echo "/dev/mapper/luks-$2"
}
luks_init() {  # DIR: /sbin/init prints the dm-crypt mappings, then is the marker init
  run $B mv "$1/sbin/init" "$1/sbin/init.marker"
  cat > "$1/sbin/init" <<'INIT'
#!/bin/busybox sh
names=$(for n in /sys/class/block/dm-*/dm/name; do [ -e "$n" ] && /bin/busybox cat "$n"; done | /bin/busybox sort | /bin/busybox paste -s -d, -)
aesni=no
[ -d /sys/module/aesni_intel ] && aesni=yes
echo "LUKS-MAPPINGS: ${names:-none} aesni=$aesni"
exec /sbin/init.marker
INIT
  run $B chmod 0755 "$1/sbin/init"
}
encrypted() {  # DATASET: an encryption root with the LUKS passphrase, mounted at /mnt
  echo "$LUKS_PASS" | zfs create -o encryption=aes-256-gcm -o keyformat=passphrase \
    -o keylocation=prompt -o pbkdf2iters=100000 -o mountpoint=/ -o canmount=noauto "$1" ||
    die "$1"
  run zfs mount "$1"
}

dev_a=$(luks_format "$(disk luks-a)" "$LUKS_A")
# The same bytes as tests/vm/luks.key (no newline): keyslot 1 opens with the key file.
printf %s 'rJ9qykTc51xw5zzPzFmjNzEVYhDUcSNQupfhSCd2KV7uMtj4' > /tmp/luks.key
printf %s "$LUKS_PASS" | cryptsetup luksAddKey -q --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
  --key-file - "$(disk luks-a)" /tmp/luks.key || die "luksAddKey"
create lpool "$dev_a"
run zfs create -o mountpoint=/ -o canmount=noauto lpool/root
run zfs mount lpool/root
populate /mnt luks-single
luks_init /mnt
run zfs umount lpool/root
encrypted lpool/enc
populate /mnt luks-zfs
luks_init /mnt
run zfs umount lpool/enc

dev_b=$(luks_format "$(disk luks-b)" "$LUKS_B")
dev_c=$(luks_format "$(disk luks-c)" "$LUKS_C")
create lmpool mirror "$dev_b" "$dev_c"
encrypted lmpool/root
populate /mnt luks-mirror
luks_init /mnt
run zfs umount lmpool/root
