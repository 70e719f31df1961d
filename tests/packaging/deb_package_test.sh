#!/bin/sh
# deb_package_test.sh: CPack builds the Debian package from a separate build tree configured for
# /usr; its control fields are right (dependencies from dpkg-shlibdeps, recommends, provides,
# conffiles, the update-initramfs trigger); `dpkg -x` into a clean directory gives a zinitrd that
# builds, lists and checks an image; the packaged hooks and trigger work from there; and dpkg
# itself installs, removes and purges it in a private database (dpkg --root).
. "$(dirname "$0")/lib.sh"

command -v dpkg-deb >/dev/null || skip "dpkg-deb is not installed"
command -v cpack >/dev/null || skip "cpack is not installed"
kver="$(installed_kver)"
[ -n "$kver" ] || skip "no kernel with a DKMS zfs.ko in /lib/modules (run scripts/setup-debian.sh)"

build="$TMP/build"
cmake -S "$SOURCE_DIR" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DZINITRD_TESTS=OFF >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "configure failed"; }
cmake --build "$build" -j2 >"$TMP/log" 2>&1 || { tail -n 50 "$TMP/log"; fail "build failed"; }
(cd "$build" && cpack -G DEB) >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "cpack failed"; }
deb="$(ls "$build"/zinitrd_*.deb)"
[ -f "$deb" ] || fail "no .deb in $build"
pass "cpack built ${deb##*/}"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = zinitrd ] || fail "Package is '$(field Package)'"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture is '$(field Architecture)'"
depends="$(field Depends)"
for lib in libkmod2 libarchive13 libzstd1 libelf1 libboost-program-options1.74.0 libc6 libstdc++6; do
    echo "$depends" | grep -q "\b$lib\b" || fail "Depends lacks $lib: $depends"
done
echo "$(field Recommends)" | grep -q zfsutils-linux || fail "Recommends lacks zfsutils-linux"
echo "$(field Recommends)" | grep -q "busybox | busybox-static" || fail "Recommends lacks busybox | busybox-static"
[ "$(field Provides)" = linux-initramfs-tool ] || fail "Provides is '$(field Provides)'"
dpkg-deb -I "$deb" >"$TMP/info"
assert_contains "$TMP/info" "Section: admin"
pass "control fields: Depends: $depends"

dpkg-deb -e "$deb" "$TMP/control"
assert_contains "$TMP/control/conffiles" /etc/kernel/postinst.d/zz-zinitrd
assert_contains "$TMP/control/conffiles" /etc/kernel/postrm.d/zz-zinitrd
assert_contains "$TMP/control/conffiles" /etc/dkms/framework.conf.d/zinitrd.conf
assert_contains "$TMP/control/triggers" "interest-noawait update-initramfs"
[ -x "$TMP/control/postinst" ] || fail "postinst is not executable"
dpkg-deb -c "$deb" | awk '{print $6}' >"$TMP/contents"
for f in ./usr/bin/zinitrd ./usr/lib/zinitrd/init ./usr/lib/zinitrd/dkms-post-transaction \
         ./usr/lib/zinitrd/modules.d/zfs/feature.conf ./usr/lib/kernel/install.d/60-zinitrd.install \
         ./etc/kernel/postinst.d/zz-zinitrd ./etc/kernel/postrm.d/zz-zinitrd \
         ./etc/dkms/framework.conf.d/zinitrd.conf ./usr/share/man/man8/zinitrd.8.gz \
         ./usr/share/man/man5/zinitrd.conf.5.gz ./usr/share/bash-completion/completions/zinitrd; do
    grep -qx -- "$f" "$TMP/contents" || fail "the package lacks $f"
done
pass "conffiles, trigger, postinst and every installed file are in the package"

# Unpacked into a clean directory: build, ls, check.
root="$TMP/root"
dpkg -x "$deb" "$root"
ZINITRD="$root/usr/bin/zinitrd"
"$ZINITRD" --version | grep -q "^zinitrd " || fail "the packaged zinitrd does not run"
"$ZINITRD" build -q --kver "$kver" -o "$TMP/pkg.img" || fail "the packaged zinitrd could not build"
assert_image "$TMP/pkg.img" "$kver"
"$ZINITRD" ls "$TMP/pkg.img" | grep -q ' /init -> ' || fail "zinitrd ls shows no /init"
status=0
"$ZINITRD" check --kver "$kver" --image "$TMP/pkg.img" --json >"$TMP/check.json" || status=$?
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["kver"]==sys.argv[2]; ids={i["id"]:i["state"] for i in d["items"]}; assert ids["image-zfs"]=="ok" and ids["image-runtime"]=="ok" and ids["zfs-module"]=="ok", ids; sys.exit(0 if d["ok"] else 1)' \
    "$TMP/check.json" "$kver" || { cat "$TMP/check.json"; fail "zinitrd check --json of the packaged image"; }
[ "$status" -eq 0 ] || { cat "$TMP/check.json"; fail "zinitrd check exited $status"; }
pass "the unpacked zinitrd builds, lists and checks an image for $kver"

# The packaged hooks, as run-parts runs them; the trigger, as dpkg runs the postinst.
export ZINITRD ZINITRD_BOOT_DIR="$TMP/boot"
mkdir -p "$ZINITRD_BOOT_DIR"
run-parts --arg="$kver" "$root/etc/kernel/postinst.d" >"$TMP/stdout" 2>/dev/null || fail "the packaged postinst.d hook failed"
[ ! -s "$TMP/stdout" ] || fail "the packaged postinst.d hook wrote to stdout"
assert_image "$ZINITRD_BOOT_DIR/initrd.img-$kver" "$kver"
echo old >"$ZINITRD_BOOT_DIR/initrd.img-$kver"
sed "s|/usr/lib/zinitrd/|$root/usr/lib/zinitrd/|" "$TMP/control/postinst" >"$TMP/postinst"
sh "$TMP/postinst" triggered update-initramfs 2>/dev/null || fail "the packaged postinst failed on the trigger"
assert_image "$ZINITRD_BOOT_DIR/initrd.img-$kver" "$kver"
sh "$TMP/postinst" configure "" || fail "the packaged postinst failed on configure"
run-parts --arg="$kver" "$root/etc/kernel/postrm.d" || fail "the packaged postrm.d hook failed"
[ ! -e "$ZINITRD_BOOT_DIR/initrd.img-$kver" ] || fail "the packaged postrm.d hook left the image"
pass "packaged hooks and the update-initramfs trigger regenerate and remove images"
unset ZINITRD_BOOT_DIR

# dpkg itself, on a private root: install (conffiles registered), remove (conffiles stay), purge.
db="$TMP/dpkgroot"
mkdir -p "$db/var/lib/dpkg/info" "$db/var/lib/dpkg/updates" "$db/var/lib/dpkg/triggers"
touch "$db/var/lib/dpkg/status" "$db/var/lib/dpkg/available"
dpkg_root() { dpkg --root="$db" --force-depends --force-script-chrootless --force-not-root --log=/dev/null "$@"; }
dpkg_root -i "$deb" >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "dpkg -i into a private root failed"; }
[ -x "$db/usr/bin/zinitrd" ] || fail "dpkg -i did not install /usr/bin/zinitrd"
dpkg-query --admindir="$db/var/lib/dpkg" -W -f='${Status}\n' zinitrd | grep -q "install ok installed" || fail "zinitrd is not installed according to dpkg"
dpkg_root -r zinitrd >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "dpkg -r failed"; }
[ ! -e "$db/usr/bin/zinitrd" ] || fail "dpkg -r left /usr/bin/zinitrd"
[ -f "$db/etc/kernel/postinst.d/zz-zinitrd" ] || fail "dpkg -r removed a conffile"
ZINITRD=zinitrd-not-installed run-parts --arg="$kver" "$db/etc/kernel/postinst.d" || fail "the left-over hook fails without zinitrd"
mkdir -p "$db/var/cache/zinitrd" && echo segment >"$db/var/cache/zinitrd/entry.zst"
dpkg_root -P zinitrd >"$TMP/log" 2>&1 || { cat "$TMP/log"; fail "dpkg -P failed"; }
[ ! -e "$db/etc/kernel/postinst.d/zz-zinitrd" ] || fail "dpkg -P left a conffile"
[ ! -e "$db/var/cache/zinitrd" ] || fail "dpkg -P left the segment cache /var/cache/zinitrd"
pass "dpkg installs, removes (keeping conffiles, whose hook then does nothing) and purges the package (and its segment cache)"
