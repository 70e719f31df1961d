#!/bin/sh
# dkms_hook_test.sh: the DKMS hook. framework.conf.d/zinitrd.conf is sourced and its
# post_transaction run the way DKMS >= 3.2 runs it (`eval "$post_transaction $kernelver"`), and
# dkms-post-transaction is run without arguments as the Debian package's dpkg trigger runs it.
. "$(dirname "$0")/lib.sh"

: "${BINARY_DIR:?BINARY_DIR must name the build tree}"
kver="$(installed_kver)"
[ -n "$kver" ] || skip "no kernel with a DKMS zfs.ko in /lib/modules (run scripts/setup-debian.sh)"
command -v bash >/dev/null || skip "bash (which DKMS is written in) is not installed"

script="$SOURCE_DIR/packaging/dkms/dkms-post-transaction"
conf="$BINARY_DIR/packaging/dkms/zinitrd.conf"
[ -f "$conf" ] || fail "$conf was not generated"
prefix="${INSTALL_PREFIX:?INSTALL_PREFIX must be CMAKE_INSTALL_PREFIX}"
export ZINITRD_BOOT_DIR="$TMP/boot"
mkdir -p "$ZINITRD_BOOT_DIR"
img="$ZINITRD_BOOT_DIR/initrd.img-$kver"

# The snippet names the installed script; DKMS sources it, then evals the command + kernel.
value="$(bash -c '. "$1"; printf %s "$post_transaction"' sh "$conf")"
[ "$value" = "$prefix/lib/zinitrd/dkms-post-transaction" ] || fail "post_transaction is '$value'"
pass "zinitrd.conf sets post_transaction=$value"

# A kernel without an image yet: nothing (its installation will build it after DKMS).
bash -c 'post_transaction="$1"; eval "$post_transaction $2"' sh "$script" "$kver" 2>"$TMP/err" || fail "hook failed without an image"
[ ! -e "$img" ] || fail "the hook created an image that did not exist"
assert_contains "$TMP/err" "has no image"
pass "DKMS for a kernel without an image: nothing done"

# A kernel with an (old) image: rebuilt in place.
echo "old image" >"$img"
touch -d '2000-01-01' "$img"
bash -c 'post_transaction="$1"; eval "$post_transaction $2"' sh "$script" "$kver" 2>"$TMP/err" || { cat "$TMP/err"; fail "hook failed"; }
assert_image "$img" "$kver"
assert_contains "$TMP/err" "regenerated $img"
pass "DKMS post_transaction for $kver regenerates $img"

# The Red Hat name is found too.
rm -f "$img"
echo old >"$ZINITRD_BOOT_DIR/initramfs-$kver.img"
"$script" "$kver" 2>/dev/null || fail "hook failed for initramfs-KVER.img"
assert_image "$ZINITRD_BOOT_DIR/initramfs-$kver.img" "$kver"
rm -f "$ZINITRD_BOOT_DIR/initramfs-$kver.img"
pass "initramfs-KVER.img is regenerated too"

# No argument (dpkg trigger): every image of a kernel that still has modules; others untouched.
echo old >"$img"
echo stale >"$ZINITRD_BOOT_DIR/initrd.img-0.0.1-zinitrd-gone"
echo backup >"$ZINITRD_BOOT_DIR/initrd.img-$kver.bak"
"$script" 2>"$TMP/err" || { cat "$TMP/err"; fail "trigger mode failed"; }
assert_image "$img" "$kver"
[ "$(cat "$ZINITRD_BOOT_DIR/initrd.img-0.0.1-zinitrd-gone")" = stale ] || fail "the image of a removed kernel was touched"
[ "$(cat "$ZINITRD_BOOT_DIR/initrd.img-$kver.bak")" = backup ] || fail "a backup image was touched"
pass "trigger mode regenerates the images of installed kernels only"

# A failing build: status 1, zinitrd's message, the previous image unchanged.
cat >"$TMP/false-zinitrd" <<'EOS'
#!/bin/sh
echo "zinitrd: zfs.ko is not built for $4" >&2
exit 1
EOS
chmod +x "$TMP/false-zinitrd"
cp "$img" "$TMP/before"
status=0
ZINITRD="$TMP/false-zinitrd" "$script" "$kver" 2>"$TMP/err" || status=$?
[ "$status" -eq 1 ] || fail "a failing build gave status $status"
assert_contains "$TMP/err" "zfs.ko is not built for $kver"
assert_contains "$TMP/err" "could not regenerate $img"
cmp -s "$img" "$TMP/before" || fail "the previous image was changed by a failed build"
pass "a failing rebuild reports zinitrd's message and exits 1"
