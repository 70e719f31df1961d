#!/bin/sh
# permissions_test.sh: an output directory that cannot be written (as an unprivileged user:
# EACCES; as root: a read-only bind mount, EROFS) and a module that cannot be read (chmod 000,
# which only stops a user other than root). Each fails with the reason and what to do; the
# previous image is unchanged; nothing else appears in the directory.
. "$(dirname "$0")/lib.sh"
need_kver
need_nobody

# 1. EACCES: a root-owned 0755 directory, built into by nobody.
out="$TMP/out"
mkdir "$out"
echo "OLD IMAGE" >"$out/initrd.img"
status=0
as_nobody "$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" >"$TMP/err" 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat "$TMP/err" >&2; fail "unwritable directory: exit status $status, expected 1"; }
assert_contains "$TMP/err" "Permission denied"
assert_contains "$TMP/err" "run as root, or choose another output with -o"
assert_contains "$TMP/err" "the previous image is unchanged"
[ "$(cat "$out/initrd.img")" = "OLD IMAGE" ] || fail "unwritable directory: the previous image changed"
assert_only "$out" initrd.img
pass "unwritable directory (EACCES as nobody): exit 1, reason and advice, old image kept"

# 2. EROFS: a read-only bind mount of the directory, built into by root.
if mount --bind "$out" "$out" 2>"$TMP/mount.err"; then
    if mount -o remount,bind,ro "$out" 2>>"$TMP/mount.err"; then
        status=0
        "$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" >"$TMP/err" 2>&1 || status=$?
        umount "$out"
        [ "$status" -eq 1 ] || { cat "$TMP/err" >&2; fail "read-only directory: exit status $status, expected 1"; }
        assert_contains "$TMP/err" "Read-only file system"
        assert_contains "$TMP/err" "remount $out read-write"
        [ "$(cat "$out/initrd.img")" = "OLD IMAGE" ] || fail "read-only directory: the previous image changed"
        assert_only "$out" initrd.img
        pass "read-only directory (EROFS as root): exit 1, reason and advice, old image kept"
    else
        umount "$out"
        echo "SKIPPED (part 2): cannot remount read-only: $(cat "$TMP/mount.err")" >&2
    fi
else
    echo "SKIPPED (part 2): cannot bind-mount (needs CAP_SYS_ADMIN): $(cat "$TMP/mount.err")" >&2
fi

# 3. A module nobody cannot read, in a fixture root: a coldplug driver is skipped with a warning
#    naming it; the same module asked for with --kmod is an error, in the one list of problems.
root="$TMP/root"
mods="$root/lib/modules/$kver"
for rel in kernel/drivers/block/virtio_blk.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko; do
    [ -f "/lib/modules/$kver/$rel" ] || skip "/lib/modules/$kver/$rel is not installed"
    mkdir -p "$mods/${rel%/*}"
    cp "/lib/modules/$kver/$rel" "$mods/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ ! -f "/lib/modules/$kver/$f" ] || cp "/lib/modules/$kver/$f" "$mods/"
done
depmod -b "$root" "$kver"
chmod -R a+rX "$root"
chmod 000 "$mods/kernel/drivers/block/virtio_blk.ko"
chmod 0777 "$out"
as_nobody "$ZINITRD" build --root "$root" --kver "$kver" --omit zfs -o "$out/fixture.img" >"$TMP/err" 2>&1 ||
    { cat "$TMP/err" >&2; fail "a build with an unreadable coldplug driver failed"; }
assert_contains "$TMP/err" "virtio_blk skipped: /lib/modules/$kver/kernel/drivers/block/virtio_blk.ko cannot be read: Permission denied"
pass "unreadable coldplug module: skipped with a warning naming it and the reason"
status=0
as_nobody "$ZINITRD" build --root "$root" --kver "$kver" --kmod virtio_blk -o "$out/fixture.img" >"$TMP/err" 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat "$TMP/err" >&2; fail "unreadable --kmod module: exit status $status, expected 1"; }
assert_contains "$TMP/err" "nothing was written"
assert_contains "$TMP/err" "virtio_blk.ko cannot be read: Permission denied"
assert_contains "$TMP/err" "kernel module zfs"  # the other problems, in the same message
pass "unreadable --kmod module: exit 1, listed with every other problem, nothing written"
