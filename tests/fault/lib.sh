# lib.sh: shared helpers of the fault tests (sourced, POSIX sh). They run the real binary.
#   ZINITRD      the zinitrd binary under test
#   SOURCE_DIR   the source tree
set -eu

: "${ZINITRD:?ZINITRD must name the zinitrd binary}"
: "${SOURCE_DIR:?SOURCE_DIR must name the source tree}"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Skips the whole test loudly (CTest SKIP_RETURN_CODE 77).
skip() {
    echo "SKIPPED: $*" >&2
    exit 77
}

pass() { echo "ok: $*"; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/zinitrd-fault.XXXXXX")"
chmod 0755 "$TMP"  # the unprivileged parts run as nobody
trap 'rm -rf "$TMP"' EXIT

# The newest kernel in /lib/modules with a DKMS-built zfs.ko, or nothing.
installed_kver() {
    for d in /lib/modules/*; do
        [ -e "$d/modules.dep" ] && [ -n "$(find "$d" -name 'zfs.ko*' -print -quit 2>/dev/null)" ] && echo "${d##*/}"
    done | sort -V | tail -n 1
}

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

# Asserts that FILE contains TEXT (fixed string).
assert_contains() {  # FILE TEXT
    grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 does not contain '$2'"; }
}

# Asserts that FILE is an image holding the zinitrd runtime and zfs.ko.
assert_image() {  # FILE
    "$ZINITRD" ls "$1" >"$TMP/ls.out" || fail "zinitrd ls $1 failed"
    grep -q ' /usr/lib/zinitrd/init$' "$TMP/ls.out" || fail "$1 lacks the runtime"
    grep -q '/zfs\.ko' "$TMP/ls.out" || fail "$1 lacks zfs.ko"
}
