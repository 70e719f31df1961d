# 20-crypt.sh: the pools of the encryption and snapshot scenarios (sourced by make_pools.sh).
# disks: cpool spool
#   cpool: native encryption (pbkdf2iters at its minimum: each try costs seconds under TCG)
#     cpool/ROOT/pass       keyformat=passphrase keylocation=prompt ("zinitrd-test-pass"), with
#     cpool/ROOT/pass/usr   an encryption root of its own with the same passphrase (asked once)
#     cpool/ROOT/keyfile    keyformat=hex keylocation=file:///etc/zfs/keys/cpool.key (the key is
#                           tests/vm/cpool.key: the scenarios embed it with --keyfile)
#     cpool/ROOT/late       keyformat=passphrase keylocation=file:///run/late.key, a file no image
#                           has: the key file is waited for, then the passphrase asked for
#   spool: snapshots: spool/ROOT/os (mountpoint=/) with child usr, both @before; after the
#     snapshot, /etc/zinitrd-test-extra is written (a rollback makes it disappear)
PASS=zinitrd-test-pass
create cpool $(disk cpool)
run zfs create -o mountpoint=none cpool/ROOT
echo "$PASS" | zfs create -o encryption=aes-256-gcm -o keyformat=passphrase -o keylocation=prompt \
  -o pbkdf2iters=100000 -o mountpoint=/ -o canmount=noauto cpool/ROOT/pass || die "cpool/ROOT/pass"
run zfs mount cpool/ROOT/pass
echo "$PASS" | zfs create -o encryption=aes-256-gcm -o keyformat=passphrase -o keylocation=prompt \
  -o pbkdf2iters=100000 cpool/ROOT/pass/usr || die "cpool/ROOT/pass/usr"
populate /mnt crypt-pass
echo usr-child > /mnt/usr/zinitrd-test-usr
run zfs umount cpool/ROOT/pass/usr
run zfs umount cpool/ROOT/pass

run $B mkdir -p /etc/zfs/keys
# The same 32 bytes as tests/vm/cpool.key (64 hex digits, no newline).
printf %s 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef > /etc/zfs/keys/cpool.key
run zfs create -o encryption=aes-256-gcm -o keyformat=hex \
  -o keylocation=file:///etc/zfs/keys/cpool.key -o mountpoint=/ -o canmount=noauto cpool/ROOT/keyfile
run zfs mount cpool/ROOT/keyfile
populate /mnt crypt-keyfile
run zfs umount cpool/ROOT/keyfile

echo "$PASS" > /run/late.key
run zfs create -o encryption=aes-256-gcm -o keyformat=passphrase -o keylocation=file:///run/late.key \
  -o pbkdf2iters=100000 -o mountpoint=/ -o canmount=noauto cpool/ROOT/late
run zfs mount cpool/ROOT/late
populate /mnt crypt-late
run zfs umount cpool/ROOT/late

create spool $(disk spool)
run zfs create -o mountpoint=none spool/ROOT
run zfs create -o mountpoint=/ -o canmount=noauto spool/ROOT/os
run zfs mount spool/ROOT/os
run zfs create spool/ROOT/os/usr
populate /mnt snap-os
echo usr-child > /mnt/usr/zinitrd-test-usr
run zfs snapshot -r spool/ROOT/os@before
echo after-snapshot > /mnt/etc/zinitrd-test-extra
run zfs umount spool/ROOT/os/usr
run zfs umount spool/ROOT/os
