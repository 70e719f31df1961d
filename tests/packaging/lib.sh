# lib.sh: helpers of the packaging tests (sourced, POSIX sh), on top of tests/support/lib.sh.
TEST_TAG=pkgtest
. "${SOURCE_DIR:?SOURCE_DIR must name the source tree}/tests/support/lib.sh"

# Asserts that FILE contains TEXT (fixed string).
assert_contains() {  # FILE TEXT
    grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "$1 does not contain '$2'"; }
}
