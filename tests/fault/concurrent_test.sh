#!/bin/sh
# concurrent_test.sh: two real `zinitrd build` of the same output started together. The directory
# lock serialises them: both succeed, the image is whole (byte-identical to one built alone, as
# builds are reproducible), and no temporary file is left.
. "$(dirname "$0")/lib.sh"
need_kver
export SOURCE_DATE_EPOCH=1700000000

out="$TMP/out"
mkdir "$out"
"$ZINITRD" build -q --kver "$kver" -o "$TMP/reference.img" || fail "the reference build failed"
for round in 1 2 3; do
    "$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" >"$TMP/a.out" 2>&1 &
    a=$!
    "$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" >"$TMP/b.out" 2>&1 &
    b=$!
    sa=0
    sb=0
    wait "$a" || sa=$?
    wait "$b" || sb=$?
    [ "$sa" -eq 0 ] && [ "$sb" -eq 0 ] || { cat "$TMP/a.out" "$TMP/b.out" >&2; fail "round $round: exit statuses $sa and $sb"; }
    cmp -s "$TMP/reference.img" "$out/initrd.img" || fail "round $round: the image differs from the reference"
    assert_only "$out" initrd.img
done
assert_image "$out/initrd.img"
pass "two concurrent builds of one output, 3 rounds: both succeed, one whole image, nothing left"
