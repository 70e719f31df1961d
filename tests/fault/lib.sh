# lib.sh: helpers of the fault tests (sourced, POSIX sh), on top of tests/support/lib.sh.
TEST_TAG=fault
. "${SOURCE_DIR:?SOURCE_DIR must name the source tree}/tests/support/lib.sh"
chmod 0755 "$TMP"  # the unprivileged parts run as nobody

# A kernel able to build a real image, or a loud skip.
need_kver() {
    kver="$(installed_kver)"
    [ -n "$kver" ] || skip "no kernel with a DKMS zfs.ko in /lib/modules (run scripts/setup-debian.sh)"
    command -v zpool >/dev/null || skip "zpool is not installed (zfsutils-linux)"
}

# Runs "$@" as the unprivileged user nobody, or skips loudly when that is impossible.
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
need_nobody() {
    command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing: cannot act as an unprivileged user"
    [ "$(id -u)" = 0 ] || skip "must run as root to switch to nobody"
    as_nobody true 2>/dev/null || skip "cannot run as nobody:nogroup here"
}

# Asserts that directory DIR holds exactly the names given (a leftover temporary file fails).
assert_only() {  # DIR NAME...
    dir="$1"
    shift
    got="$(ls -A "$dir" | sort | tr '\n' ' ')"
    want="$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
    [ "$got" = "$want" ] || fail "$dir holds '$got', expected '$want'"
}
