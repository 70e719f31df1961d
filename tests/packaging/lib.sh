# lib.sh: helpers of the packaging tests (sourced, POSIX sh), on top of tests/support/lib.sh.
TEST_TAG=pkgtest
. "${SOURCE_DIR:?SOURCE_DIR must name the source tree}/tests/support/lib.sh"
