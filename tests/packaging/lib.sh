# lib.sh: helpers of the packaging tests (sourced, POSIX sh), on top of tests/support/lib.sh.
TEST_TAG=pkgtest
. "${SOURCE_DIR:?SOURCE_DIR must name the source tree}/tests/support/lib.sh"

# boot_test_stub STATUS: writes $TMP/boottest-zinitrd, a zinitrd whose configuration says
# boot_test = yes and whose boot test exits with STATUS (0 pass, 1 fail, 2 cannot run), printing a
# report line and recording its arguments in $TMP/boottest-args; `build` is the real $ZINITRD.
boot_test_stub() {
    cat >"$TMP/boottest-zinitrd" <<EOS
#!/bin/sh
if [ "\$1" = boot-test ]; then
    [ "\$2" = --configured ] && { echo "boot_test = yes"; exit 0; }
    echo "\$*" >"$TMP/boottest-args"
    echo "zinitrd boot-test stub: exit $1"
    exit $1
fi
exec "$ZINITRD" "\$@"
EOS
    chmod +x "$TMP/boottest-zinitrd"
}
