#!/bin/sh
# debian_hooks_test.sh: /etc/kernel/postinst.d/zz-zinitrd and postrm.d/zz-zinitrd run the way a
# Debian kernel package runs them: `run-parts --arg=KVER --arg=IMAGE DIR`, with the boot
# directory redirected by ZINITRD_BOOT_DIR. Nothing may reach standard output.
. "$(dirname "$0")/lib.sh"

command -v run-parts >/dev/null || skip "run-parts is not installed (package debianutils)"
kver="$(installed_kver)"
[ -n "$kver" ] || skip "no kernel with a DKMS zfs.ko in /lib/modules (run scripts/setup-debian.sh)"

hooks="$TMP/etc/kernel"
mkdir -p "$hooks/postinst.d" "$hooks/postrm.d" "$TMP/boot"
cp "$SOURCE_DIR/packaging/debian/postinst.d/zz-zinitrd" "$hooks/postinst.d/"
cp "$SOURCE_DIR/packaging/debian/postrm.d/zz-zinitrd" "$hooks/postrm.d/"
# run-parts skips names with dots and non-executables: the hook name must pass its filter.
[ "$(run-parts --test "$hooks/postinst.d")" = "$hooks/postinst.d/zz-zinitrd" ] || fail "run-parts would not run zz-zinitrd"
export ZINITRD_BOOT_DIR="$TMP/boot"
img="$TMP/boot/initrd.img-$kver"

# postinst: writes the image, stdout stays empty.
run-parts --verbose --exit-on-error --arg="$kver" --arg="/boot/vmlinuz-$kver" "$hooks/postinst.d" \
    >"$TMP/stdout" 2>"$TMP/stderr" || { cat "$TMP/stderr"; fail "postinst.d failed"; }
assert_image "$img" "$kver"
[ ! -s "$TMP/stdout" ] || { cat "$TMP/stdout"; fail "postinst.d wrote to stdout"; }
assert_contains "$TMP/stderr" "zinitrd: wrote $img"
pass "postinst.d/zz-zinitrd writes $img, nothing on stdout"

# DEB_MAINT_PARAMS of another step than configure: nothing done.
rm -f "$img"
DEB_MAINT_PARAMS="abort-upgrade 1.0" run-parts --arg="$kver" "$hooks/postinst.d" >"$TMP/stdout" 2>&1 || fail "postinst.d (abort-upgrade) failed"
[ ! -e "$img" ] || fail "postinst.d acted on abort-upgrade"
DEB_MAINT_PARAMS="'configure' '1.0'" run-parts --arg="$kver" "$hooks/postinst.d" >"$TMP/stdout" 2>/dev/null || fail "postinst.d (configure) failed"
[ -s "$img" ] || fail "postinst.d did nothing on configure"
[ ! -s "$TMP/stdout" ] || fail "postinst.d wrote to stdout"
pass "postinst.d/zz-zinitrd runs for configure only"

# Without ZINITRD_BOOT_DIR the image goes next to the kernel image passed as the second argument.
rm -f "$img"
env -u ZINITRD_BOOT_DIR run-parts --arg="$kver" --arg="$TMP/boot/vmlinuz-$kver" "$hooks/postinst.d" 2>/dev/null || fail "postinst.d (IMAGE dir) failed"
[ -s "$img" ] || fail "postinst.d did not write next to the kernel image"
pass "postinst.d/zz-zinitrd writes next to IMAGE"

# A kernel without /lib/modules/KVER: nothing written, success, a note on stderr.
run-parts --arg=0.0.1-zinitrd-test "$hooks/postinst.d" >"$TMP/stdout" 2>"$TMP/stderr" || fail "postinst.d failed for a kernel without modules"
[ ! -e "$TMP/boot/initrd.img-0.0.1-zinitrd-test" ] || fail "an image was written for a kernel without modules"
assert_contains "$TMP/stderr" "has no /lib/modules/0.0.1-zinitrd-test"
[ ! -s "$TMP/stdout" ] || fail "postinst.d wrote to stdout"
pass "a kernel without modules gets no image"

# INITRD=No: nothing. zinitrd removed (conffile left behind): nothing.
rm -f "$img"
INITRD=No run-parts --arg="$kver" "$hooks/postinst.d" || fail "INITRD=No failed"
ZINITRD=/nonexistent/zinitrd run-parts --arg="$kver" "$hooks/postinst.d" || fail "missing zinitrd failed"
[ ! -e "$img" ] || fail "an image was written with INITRD=No or without zinitrd"
pass "INITRD=No and a removed zinitrd do nothing"

# A failing build (modules present but zfs.ko unusable is simulated by a failing zinitrd):
# run-parts fails and the message names the image.
cat >"$TMP/false-zinitrd" <<'EOS'
#!/bin/sh
echo "zinitrd: zfs.ko is not built for $3: run \`dkms autoinstall -k $3\`" >&2
exit 1
EOS
chmod +x "$TMP/false-zinitrd"
status=0
ZINITRD="$TMP/false-zinitrd" run-parts --arg="$kver" "$hooks/postinst.d" >"$TMP/stdout" 2>"$TMP/stderr" || status=$?
[ "$status" -ne 0 ] || fail "postinst.d succeeded although zinitrd failed"
assert_contains "$TMP/stderr" "zfs.ko is not built for $kver"
assert_contains "$TMP/stderr" "zz-zinitrd: could not write $img"
[ ! -s "$TMP/stdout" ] || fail "postinst.d wrote to stdout"
pass "a failing build fails the hook (status $status) with zinitrd's message"

# No kernel version at all: usage error.
status=0
run-parts "$hooks/postinst.d" >/dev/null 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "postinst.d without a version succeeded"
pass "postinst.d without a kernel version fails"

# boot_test = yes: the new image replaces the old one only when its boot test passes.
echo "previous image" >"$img"
boot_test_stub 1
ZINITRD="$TMP/boottest-zinitrd" run-parts --arg="$kver" --arg="$TMP/boot/vmlinuz-$kver" \
    "$hooks/postinst.d" >"$TMP/stdout" 2>"$TMP/stderr" || { cat "$TMP/stderr"; fail "postinst.d failed although a previous image was kept"; }
[ "$(cat "$img")" = "previous image" ] || fail "a failed boot test replaced the previous image"
[ ! -e "$img.zinitrd-new" ] || fail "the failed image was left beside the previous one"
assert_contains "$TMP/stderr" "FAILED its boot test (report above); the previous $img is kept"
assert_contains "$TMP/stderr" "zinitrd boot-test stub: exit 1"
assert_contains "$TMP/boottest-args" "boot-test --kver $kver --image $img.zinitrd-new"
[ ! -s "$TMP/stdout" ] || fail "postinst.d wrote to stdout"
pass "boot_test = yes: a failing boot test keeps the previous image"

rm -f "$img"
status=0
ZINITRD="$TMP/boottest-zinitrd" run-parts --arg="$kver" "$hooks/postinst.d" >"$TMP/stdout" 2>"$TMP/stderr" || status=$?
[ "$status" -ne 0 ] || fail "a failing boot test without a previous image did not fail the hook"
[ ! -e "$img" ] && [ ! -e "$img.zinitrd-new" ] || fail "an image that failed its boot test was installed"
assert_contains "$TMP/stderr" "there is no previous one to keep"
pass "boot_test = yes: a failing boot test without a previous image fails the hook"

for st in 0 2; do
    echo "previous image" >"$img"
    boot_test_stub "$st"
    ZINITRD="$TMP/boottest-zinitrd" run-parts --arg="$kver" "$hooks/postinst.d" >"$TMP/stdout" 2>"$TMP/stderr" || { cat "$TMP/stderr"; fail "postinst.d failed (boot test status $st)"; }
    assert_image "$img" "$kver"
    [ ! -e "$img.zinitrd-new" ] || fail "the new image was left beside $img"
done
assert_contains "$TMP/stderr" "installed untested"
pass "boot_test = yes: a passing boot test (or none possible, with a warning) installs the new image"

# postrm: removes the image (remove step only), stdout stays empty.
"$ZINITRD" build -q --kver "$kver" -o "$img"
DEB_MAINT_PARAMS="'upgrade' '1.0'" run-parts --arg="$kver" "$hooks/postrm.d" || fail "postrm.d (upgrade) failed"
[ -e "$img" ] || fail "postrm.d removed the image on upgrade"
run-parts --arg="$kver" --arg="/boot/vmlinuz-$kver" "$hooks/postrm.d" >"$TMP/stdout" 2>&1 || fail "postrm.d failed"
[ ! -e "$img" ] || fail "postrm.d left $img"
[ ! -s "$TMP/stdout" ] || fail "postrm.d wrote output"
run-parts --arg="$kver" "$hooks/postrm.d" || fail "postrm.d fails when the image is already gone"
pass "postrm.d/zz-zinitrd removes $img"
