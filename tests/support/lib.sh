# lib.sh: helpers shared by the shell tests (sourced, POSIX sh). They run the real binary.
#   ZINITRD      the zinitrd binary under test (exported for hooks that call it)
#   SOURCE_DIR   the source tree
#   TEST_TAG     names the temporary directory (optional)
set -eu

: "${ZINITRD:?ZINITRD must name the zinitrd binary}"
: "${SOURCE_DIR:?SOURCE_DIR must name the source tree}"
export ZINITRD

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

TMP="$(mktemp -d "${TMPDIR:-/tmp}/zinitrd-${TEST_TAG:-test}.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# The newest kernel in /lib/modules with a DKMS-built zfs.ko, or nothing.
installed_kver() {
    for d in /lib/modules/*; do
        [ -e "$d/modules.dep" ] && [ -n "$(find "$d" -name 'zfs.ko*' -print -quit 2>/dev/null)" ] && echo "${d##*/}"
    done | sort -V | tail -n 1
}

# Asserts that FILE is an image holding the zinitrd runtime and zfs.ko (of KVER when given).
assert_image() {  # FILE [KVER]
    [ -s "$1" ] || fail "$1 was not written"
    "$ZINITRD" ls "$1" >"$TMP/ls.out" || fail "zinitrd ls $1 failed"
    grep -q ' /usr/lib/zinitrd/init$' "$TMP/ls.out" || fail "$1 lacks the runtime"
    grep -q "/modules/${2:-[^/]*}/.*/zfs\.ko" "$TMP/ls.out" || fail "$1 lacks zfs.ko ${2:+of $2}"
}

# Asserts that FILE contains TEXT (fixed string).
assert_contains() {  # FILE TEXT
    grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 does not contain '$2'"; }
}
