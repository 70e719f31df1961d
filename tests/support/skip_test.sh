#!/bin/sh
# skip_test.sh: a test that cannot run says so and counts as Skipped, never as Passed.
#   1. a doctest case that calls test::skip() makes its binary exit 77 with the reason on stderr;
#   2. every doctest case is its own CTest test with SKIP_RETURN_CODE 77;
#   3. scripts/fail-on-skips.sh, which scripts/test.sh runs after CTest, fails on a skip and
#      names the test with its reason.
TEST_TAG=skip
. "$SOURCE_DIR/tests/support/lib.sh"
: "${BINARY_DIR:?BINARY_DIR must name the build tree}"

# 1. find_new_init's test needs root: as nobody it skips.
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing: cannot act as an unprivileged user"
[ "$(id -u)" = 0 ] || skip "must run as root to switch to nobody"
chmod 755 "$TMP"
cp "$BINARY_DIR/tests/runtime_test" "$TMP/runtime_test"
case_name="find_new_init resolves inside the new root"
status=0
setpriv --reuid=nobody --regid=nogroup --clear-groups "$TMP/runtime_test" --test-case="$case_name" \
  >"$TMP/out" 2>&1 || status=$?
[ "$status" = 77 ] || { cat "$TMP/out" >&2; fail "a skipping test case exited $status, not 77"; }
assert_contains "$TMP/out" "SKIPPED: $case_name: find_new_init needs root"
status=0
"$TMP/runtime_test" --test-case="$case_name" >"$TMP/out" 2>&1 || status=$?
[ "$status" = 0 ] || { cat "$TMP/out" >&2; fail "as root the test case exited $status"; }
pass "a skipped doctest case exits 77 and says why"

# 2. CTest runs it alone and knows 77 means Skipped.
ctest --test-dir "$BINARY_DIR" --show-only=json-v1 >"$TMP/tests.json"
python3 - "$TMP/tests.json" "runtime_test/$case_name" <<'PY' || fail "runtime_test/$case_name is not a CTest test with SKIP_RETURN_CODE 77"
import json, sys
tests = {t["name"]: t for t in json.load(open(sys.argv[1]))["tests"]}
props = {p["name"]: p["value"] for p in tests[sys.argv[2]].get("properties", [])}
sys.exit(0 if props.get("SKIP_RETURN_CODE") == 77 else 1)
PY
pass "each doctest case is a CTest test with SKIP_RETURN_CODE 77"

# 3. fail-on-skips.sh on a CTest run with a skip, and on one without.
mkdir -p "$TMP/proj"
cat >"$TMP/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(skips NONE)
enable_testing()
add_test(NAME "x/needs a kernel" COMMAND sh -c "echo 'SKIPPED: no kernel here' >&2; exit 77")
set_tests_properties("x/needs a kernel" PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME x/passes COMMAND true)
CM
cmake -S "$TMP/proj" -B "$TMP/b" >/dev/null
ctest --test-dir "$TMP/b" >"$TMP/ctest.log" 2>&1 || fail "ctest failed: $(cat "$TMP/ctest.log")"
status=0
bash "$SOURCE_DIR/scripts/fail-on-skips.sh" "$TMP/b" "$TMP/ctest.log" >"$TMP/report" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$TMP/report" >&2; fail "fail-on-skips.sh exited $status on a skip"; }
assert_contains "$TMP/report" "x/needs a kernel"
assert_contains "$TMP/report" "SKIPPED: no kernel here"
ctest --test-dir "$TMP/b" -R passes >"$TMP/ctest.log" 2>&1
bash "$SOURCE_DIR/scripts/fail-on-skips.sh" "$TMP/b" "$TMP/ctest.log" >"$TMP/report" 2>&1 ||
  fail "fail-on-skips.sh failed without a skip: $(cat "$TMP/report")"
pass "scripts/test.sh's check fails on a skip, naming the test and its reason"
