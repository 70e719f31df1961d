#!/bin/sh
# output_dir_test.sh: the image goes into a world-writable sticky directory (like /tmp) where
# another user planted a symlink, or a file of their own, at the output path. zinitrd never follows
# the link, replaces the entry with a root-owned 0600 image even under umask 000, and leaves no
# temporary file.
. "$(dirname "$0")/lib.sh"
need_kver
need_nobody

dir="$TMP/public"
mkdir "$dir"
chmod 1777 "$dir"
echo "precious" >"$TMP/victim"
chmod 0644 "$TMP/victim"

# 1. A symlink planted by nobody, pointing at a root-owned file.
as_nobody ln -s "$TMP/victim" "$dir/initrd.img"
(umask 000 && "$ZINITRD" build -q --kver "$kver" -o "$dir/initrd.img") || fail "build into $dir failed"
[ "$(cat "$TMP/victim")" = "precious" ] || fail "the planted symlink was followed: $TMP/victim changed"
[ -f "$dir/initrd.img" ] && [ ! -L "$dir/initrd.img" ] || fail "$dir/initrd.img is not a regular file"
[ "$(stat -c '%U %a' "$dir/initrd.img")" = "root 600" ] ||
    fail "$dir/initrd.img is $(stat -c '%U %a' "$dir/initrd.img"), expected root 600"
assert_image "$dir/initrd.img"
assert_only "$dir" initrd.img
pass "a planted symlink is replaced, not followed; the image is root's, mode 0600 under umask 000"

# 2. A world-writable file of nobody's at the output path.
rm "$dir/initrd.img"
as_nobody sh -c "echo mine >'$dir/initrd.img' && chmod 0666 '$dir/initrd.img'"
(umask 000 && "$ZINITRD" build -q --kver "$kver" -o "$dir/initrd.img") || fail "build into $dir failed"
[ "$(stat -c '%U %a' "$dir/initrd.img")" = "root 600" ] ||
    fail "$dir/initrd.img is $(stat -c '%U %a' "$dir/initrd.img"), expected root 600"
assert_image "$dir/initrd.img"
assert_only "$dir" initrd.img
pass "another user's file at the output path is replaced by a new root-owned 0600 inode"
