#!/bin/sh
# kernel_install_test.sh: 60-zinitrd.install driven by Debian's real /usr/bin/kernel-install
# (systemd 252) against a temporary boot root: BOOT_ROOT, KERNEL_INSTALL_CONF_ROOT (install.conf
# with layout=bls and initrd_generator), MACHINE_ID and KERNEL_INSTALL_PLUGINS (our plugin, then
# systemd's 90-loaderentry.install, which copies the staged initrd and writes the entry).
#   usage: ZINITRD=... SOURCE_DIR=... kernel_install_test.sh
. "$(dirname "$0")/lib.sh"

command -v kernel-install >/dev/null || skip "kernel-install is not installed (package systemd)"
loaderentry=/usr/lib/kernel/install.d/90-loaderentry.install
[ -x "$loaderentry" ] || skip "$loaderentry is missing"
kver="$(installed_kver)"
[ -n "$kver" ] || skip "no kernel with a DKMS zfs.ko in /lib/modules (run scripts/setup-debian.sh)"

plugin="$SOURCE_DIR/packaging/kernel-install/60-zinitrd.install"
boot="$TMP/boot"
conf="$TMP/conf"
mkdir -p "$boot" "$conf"
echo "root=zfs:rpool/ROOT/debian ro" >"$conf/cmdline"
echo "fake kernel image" >"$TMP/vmlinuz"
mid=0123456789abcdef0123456789abcdef
export BOOT_ROOT="$boot" KERNEL_INSTALL_CONF_ROOT="$conf" MACHINE_ID="$mid"
export KERNEL_INSTALL_PLUGINS="$plugin $loaderentry"
entry="$boot/$mid/$kver"

# 1. initrd_generator=zinitrd: add builds the initrd, the entry names it; remove cleans up.
printf 'layout=bls\ninitrd_generator=zinitrd\n' >"$conf/install.conf"
kernel-install add "$kver" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install add failed"; }
assert_image "$entry/initrd" "$kver"
[ -f "$entry/linux" ] || fail "90-loaderentry did not install the kernel"
assert_contains "$boot/loader/entries/$mid-$kver.conf" "initrd     $entry/initrd"
pass "kernel-install add with initrd_generator=zinitrd writes $entry/initrd and its entry"

kernel-install -v add "$kver" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install -v add failed"; }
assert_contains "$TMP/out" "60-zinitrd.install: +"
pass "kernel-install -v shows the zinitrd command"

kernel-install remove "$kver" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install remove failed"; }
[ ! -e "$entry" ] || fail "$entry survived remove"
[ ! -e "$boot/loader/entries/$mid-$kver.conf" ] || fail "the entry survived remove"
pass "kernel-install remove deletes the initrd and the entry"

# 2. Another generator (or none): the plugin does nothing, kernel-install succeeds without initrd.
for gen in dracut ""; do
    printf 'layout=bls\ninitrd_generator=%s\n' "$gen" >"$conf/install.conf"
    kernel-install add "$kver" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install add (generator '$gen') failed"; }
    [ ! -e "$entry/initrd" ] || fail "the plugin acted with initrd_generator='$gen'"
    kernel-install remove "$kver" >/dev/null 2>&1
done
pass "initrd_generator=dracut or unset: no initrd from zinitrd"

# 3. A kernel without modules: kernel-install fails, with zinitrd's message, and no entry is made.
printf 'layout=bls\ninitrd_generator=zinitrd\n' >"$conf/install.conf"
status=0
kernel-install add 0.0.1-zinitrd-test "$TMP/vmlinuz" >"$TMP/out" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "kernel-install add of a kernel without modules succeeded"
[ "$status" -ne 77 ] || fail "the failure was reported as 77 (skip)"
assert_contains "$TMP/out" "zinitrd: "
assert_contains "$TMP/out" "0.0.1-zinitrd-test"
assert_contains "$TMP/out" "60-zinitrd.install: no initrd for 0.0.1-zinitrd-test"
[ ! -e "$boot/loader/entries/$mid-0.0.1-zinitrd-test.conf" ] || fail "an entry was written for a kernel without initrd"
pass "a kernel without modules stops kernel-install with status $status and zinitrd's message"

# 4. The plugin alone: UKI skipped; the variable unset falls back to install.conf; unset and no
#    install.conf does nothing; KERNEL_INSTALL_STAGING_AREA receives "initrd".
stage="$TMP/stage"
mkdir -p "$stage"
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_IMAGE_TYPE=uki KERNEL_INSTALL_STAGING_AREA="$stage" \
    "$plugin" add "$kver" "$TMP/entry" "$TMP/vmlinuz" || fail "uki: the plugin failed"
[ ! -e "$stage/initrd" ] || fail "uki: the plugin built an initrd"
pass "KERNEL_INSTALL_IMAGE_TYPE=uki is skipped"

env -u KERNEL_INSTALL_INITRD_GENERATOR KERNEL_INSTALL_STAGING_AREA="$stage" \
    "$plugin" add "$kver" "$TMP/entry" "$TMP/vmlinuz" || fail "fallback: the plugin failed"
assert_image "$stage/initrd" "$kver"
rm -f "$stage/initrd"
pass "KERNEL_INSTALL_INITRD_GENERATOR unset: initrd_generator=zinitrd read from install.conf"

printf '# initrd_generator=zinitrd\n' >"$conf/install.conf"
env -u KERNEL_INSTALL_INITRD_GENERATOR KERNEL_INSTALL_STAGING_AREA="$stage" \
    "$plugin" add "$kver" "$TMP/entry" "$TMP/vmlinuz" || fail "no generator: the plugin failed"
[ ! -e "$stage/initrd" ] || fail "a commented-out initrd_generator selected zinitrd"
pass "a commented-out initrd_generator does not select zinitrd"

status=0
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_STAGING_AREA="$stage" ZINITRD=/nonexistent/zinitrd \
    "$plugin" add "$kver" "$TMP/entry" "$TMP/vmlinuz" 2>"$TMP/err" || status=$?
[ "$status" -eq 1 ] || fail "a missing zinitrd binary gave status $status, not 1"
assert_contains "$TMP/err" "is not installed"
pass "initrd_generator=zinitrd without the binary fails"

# boot_test = yes: a failing boot test stages the previous ENTRY-DIR/initrd again; without one
# the plugin fails; a passing one keeps the new initrd. KERNEL-IMAGE is the kernel tested.
mkdir -p "$TMP/bt-entry" "$TMP/bt-stage"
echo "previous initrd" >"$TMP/bt-entry/initrd"
boot_test_stub 1
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_STAGING_AREA="$TMP/bt-stage" ZINITRD="$TMP/boottest-zinitrd" \
    "$plugin" add "$kver" "$TMP/bt-entry" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "the plugin failed although a previous initrd was kept"; }
[ "$(cat "$TMP/bt-stage/initrd")" = "previous initrd" ] || fail "a failed boot test did not stage the previous initrd"
assert_contains "$TMP/out" "FAILED its boot test (report above); the previous one ($TMP/bt-entry/initrd) is kept"
assert_contains "$TMP/boottest-args" "boot-test --kver $kver --image $TMP/bt-stage/initrd --kernel $TMP/vmlinuz"
rm -f "$TMP/bt-entry/initrd" "$TMP/bt-stage/initrd"
status=0
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_STAGING_AREA="$TMP/bt-stage" ZINITRD="$TMP/boottest-zinitrd" \
    "$plugin" add "$kver" "$TMP/bt-entry" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "a failed boot test without a previous initrd gave status $status, not 1"
[ ! -e "$TMP/bt-stage/initrd" ] || fail "an initrd that failed its boot test stayed staged"
assert_contains "$TMP/out" "there is no previous one to keep"
boot_test_stub 0
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_STAGING_AREA="$TMP/bt-stage" ZINITRD="$TMP/boottest-zinitrd" \
    "$plugin" add "$kver" "$TMP/bt-entry" "$TMP/vmlinuz" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "a passing boot test failed the plugin"; }
assert_image "$TMP/bt-stage/initrd" "$kver"
pass "boot_test = yes: the previous initrd is kept when the boot test fails, none means failure"

mkdir -p "$TMP/entry"
echo x >"$TMP/entry/initrd"
echo y >"$TMP/entry/linux"
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd "$plugin" remove "$kver" "$TMP/entry" || fail "remove failed"
[ ! -e "$TMP/entry/initrd" ] || fail "remove left ENTRY-DIR/initrd"
[ -e "$TMP/entry/linux" ] || fail "remove deleted what is not ours"
pass "remove deletes ENTRY-DIR/initrd only"

# 5. layout=uki (no 90-uki-copy.install on systemd 252): kernel-install add makes
#    $BOOT/EFI/Linux/TOKEN-KVER.efi, a UKI of the real kernel with the configured command line and
#    zinitrd's image as .initrd; signed when uki.conf names a key; a failed build keeps the
#    installed UKI and fails kernel-install; remove deletes it.
stub=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f "$stub" ] || skip "$stub is missing (package systemd-boot-efi; run scripts/setup-debian.sh)"
command -v objdump >/dev/null || skip "objdump is missing (package binutils)"
[ -r "/boot/vmlinuz-$kver" ] || skip "/boot/vmlinuz-$kver is not readable"
uki="$boot/EFI/Linux/$mid-$kver.efi"
section() {  # UKI NAME OUT: the bytes of section NAME
    objcopy -O binary --only-section="$2" "$1" "$3" || fail "objcopy cannot read $2 of $1"
}
assert_uki() {  # UKI
    objdump -h "$1" >"$TMP/sections" || fail "objdump -h $1 failed"
    for s in .osrel .cmdline .uname .linux .initrd; do
        grep -q " $s " "$TMP/sections" || { cat "$TMP/sections" >&2; fail "$1 has no $s section"; }
    done
    section "$1" .cmdline "$TMP/cmdline.bin"
    [ "$(cat "$TMP/cmdline.bin")" = "root=zfs:rpool/ROOT/debian ro" ] ||
        fail ".cmdline is '$(cat "$TMP/cmdline.bin")', not the one of $conf/cmdline"
    section "$1" .uname "$TMP/uname.bin"
    [ "$(cat "$TMP/uname.bin")" = "$kver" ] || fail ".uname is '$(cat "$TMP/uname.bin")'"
    section "$1" .linux "$TMP/linux.bin"
    cmp -s "$TMP/linux.bin" "/boot/vmlinuz-$kver" || fail ".linux is not /boot/vmlinuz-$kver"
    section "$1" .initrd "$TMP/initrd.bin"
    assert_image "$TMP/initrd.bin" "$kver"
}
export KERNEL_INSTALL_PLUGINS="$plugin $loaderentry"
printf 'layout=uki\ninitrd_generator=zinitrd\n' >"$conf/install.conf"
kernel-install -v add "$kver" "/boot/vmlinuz-$kver" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install add (layout=uki) failed"; }
assert_uki "$uki"
assert_contains "$TMP/out" "--uki --kver $kver --kernel-image /boot/vmlinuz-$kver"
[ ! -e "$boot/loader/entries/$mid-$kver.conf" ] || fail "layout=uki wrote a loader entry"
[ ! -e "$entry" ] || fail "layout=uki made the entry directory $entry"
pass "kernel-install add with layout=uki writes $uki with every section, the kernel, cmdline and image"

# uki_generator=zinitrd chooses zinitrd even when another initrd generator is configured.
rm -f "$uki"
printf 'layout=uki\ninitrd_generator=dracut\nuki_generator=zinitrd\n' >"$conf/install.conf"
env -u KERNEL_INSTALL_INITRD_GENERATOR kernel-install add "$kver" "/boot/vmlinuz-$kver" >"$TMP/out" 2>&1 ||
    { cat "$TMP/out"; fail "kernel-install add (uki_generator=zinitrd) failed"; }
[ -s "$uki" ] || fail "uki_generator=zinitrd: no UKI"
pass "uki_generator=zinitrd makes the UKI"

if command -v sbsign >/dev/null && command -v sbverify >/dev/null && command -v openssl >/dev/null; then
    openssl req -new -x509 -newkey rsa:2048 -nodes -keyout "$TMP/db.key" -out "$TMP/db.crt" \
        -subj "/CN=zinitrd kernel-install test/" -days 2 >/dev/null 2>&1 || fail "openssl cannot make a key"
    printf '[UKI]\nSecureBootPrivateKey=%s\nSecureBootCertificate=%s\n' "$TMP/db.key" "$TMP/db.crt" >"$conf/uki.conf"
    printf 'layout=uki\ninitrd_generator=zinitrd\n' >"$conf/install.conf"
    kernel-install add "$kver" "/boot/vmlinuz-$kver" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install add (signed) failed"; }
    sbverify --cert "$TMP/db.crt" "$uki" >"$TMP/verify" 2>&1 || { cat "$TMP/verify"; fail "$uki is not signed by uki.conf's key"; }
    assert_uki "$uki"
    pass "uki.conf's SecureBootPrivateKey/SecureBootCertificate sign the UKI (sbverify)"
else
    skip "sbsign, sbverify or openssl is missing (packages sbsigntool, openssl; run scripts/setup-debian.sh)"
fi

# A UKI that cannot be made (uki.conf names a key that is gone): kernel-install fails with
# zinitrd's reason, the installed UKI is the same file, byte for byte.
cp "$uki" "$TMP/before.efi"
rm -f "$TMP/db.key"
status=0
kernel-install add "$kver" "/boot/vmlinuz-$kver" >"$TMP/out" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "kernel-install add with a missing signing key succeeded"
assert_contains "$TMP/out" "Secure Boot key or certificate $TMP/db.key: no such file"
assert_contains "$TMP/out" "60-zinitrd.install: no UKI for $kver"
cmp -s "$uki" "$TMP/before.efi" || fail "a failed build changed the installed UKI"
pass "a UKI that cannot be built stops kernel-install (status $status) and keeps the installed one"

rm -f "$conf/uki.conf"
kernel-install remove "$kver" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "kernel-install remove (layout=uki) failed"; }
[ ! -e "$uki" ] || fail "remove left $uki"
pass "kernel-install remove (layout=uki) deletes the UKI"

# KERNEL_INSTALL_IMAGE_TYPE=uki with layout=uki: the kernel already is a UKI, nothing is built.
KERNEL_INSTALL_INITRD_GENERATOR=zinitrd KERNEL_INSTALL_LAYOUT=uki KERNEL_INSTALL_IMAGE_TYPE=uki \
    KERNEL_INSTALL_BOOT_ROOT="$boot" KERNEL_INSTALL_ENTRY_TOKEN="$mid" \
    "$plugin" add "$kver" "$TMP/entry" "/boot/vmlinuz-$kver" || fail "image type uki: the plugin failed"
[ ! -e "$uki" ] || fail "image type uki: the plugin built a UKI"
pass "a kernel that is already a UKI is left alone under layout=uki"
