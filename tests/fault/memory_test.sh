#!/bin/sh
# memory_test.sh: a build that runs out of memory (here an address-space limit; zstd's level-19
# workers need hundreds of MB) fails with exit status 1 and a message that names the way out
# (a lower level), never a crash, and the previous image stays byte-identical with no temporary
# file left: what a kernel hook on a small machine must be able to rely on.
. "$(dirname "$0")/lib.sh"
need_kver

out="$TMP/out"
mkdir "$out"
"$ZINITRD" build -q --kver "$kver" --level 3 --cache-dir none -o "$out/initrd.img" ||
    fail "the first build failed"
cp "$out/initrd.img" "$TMP/before.img"

status=0
(ulimit -v 400000 && exec "$ZINITRD" build -q --kver "$kver" --cache-dir none -o "$out/initrd.img") \
    >"$TMP/build.out" 2>&1 || status=$?
cat "$TMP/build.out"
[ "$status" -eq 1 ] || fail "exit status $status under a 400 MB address-space limit (expected 1: a clean failure, not a crash or a success)"
grep -q "memory" "$TMP/build.out" || fail "the message does not say that memory ran out"
grep -q -- "--level 3" "$TMP/build.out" || fail "the message does not name a level that needs less"
cmp -s "$TMP/before.img" "$out/initrd.img" || fail "the previous image changed"
assert_only "$out" initrd.img
pass "out of memory at level 19: exit 1, told to use --level 3, previous image byte-identical, no temporary file"
