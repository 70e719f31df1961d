#!/bin/sh
# hostile_image_test.sh: `zinitrd ls|cat|extract` of crafted images: huge sizes in cpio headers,
# truncated and garbage data, device nodes, `..`, absolute names, symlinks pointing out of the
# image. Damage is an error naming the offset, never a crash; `cat` resolves links inside the
# image only, never on the host; `extract` writes nothing outside its directory.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to craft the images"
command -v zstd >/dev/null || skip "zstd is needed to craft the images"

python3 - "$TMP" <<'PY'
import os, sys
tmp = sys.argv[1]
def member(name, mode, data=b"", rdev=(0, 0), size=None, namesize=None):
    n = name.encode() + b"\0"
    f = [1, mode, 0, 0, 1, 0, len(data) if size is None else size, 0, 0, rdev[0], rdev[1],
         len(n) if namesize is None else namesize, 0]
    h = b"070701" + b"".join(b"%08X" % x for x in f) + n
    h += b"\0" * (-len(h) % 4)
    return h + data + b"\0" * (-len(data) % 4)
trailer = member("TRAILER!!!", 0)
def write(name, data):
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(data)
write("huge-size.img", member("init", 0o100755, b"#!/bin/sh\n", size=0xFFFFFFFF) + trailer)
write("huge-name.img", member("init", 0o100755, b"x", namesize=0xFFFFFFFF) + trailer)
write("truncated.img", member("init", 0o100755, b"y" * 4096)[:2000])
write("garbage.img", bytes((i * 7919 + 13) % 256 for i in range(4096)))
write("zeros.img", bytes(4096))
write("empty.img", b"")
write("hostile.img",
      member("init", 0o100755, b"#!/bin/sh\n") +
      member("../../escape", 0o100644, b"escaped\n") +
      member("/abs/file", 0o100644, b"rooted\n") +
      member("dev/sda", 0o060600, rdev=(8, 0)) +
      member("dev/console", 0o020600, rdev=(5, 1)) +
      member("fifo", 0o010644) +
      member("etc", 0o120777, b"/../../../../etc") +
      member("etc/passwd", 0o100644, b"written through a link\n") +
      member("up", 0o120777, b"../../..") +
      member("loop", 0o120777, b"loop") +
      trailer)
write("big.img", member("init", 0o100755, b"#!/bin/sh\n") + member("big", 0o100644, os.urandom(20000)) +
      trailer)
PY
# A zstd segment cut in the middle of its members (the frame header still promises the rest).
zstd -q -c "$TMP/big.img" >"$TMP/full.zst"
head -c $(($(stat -c %s "$TMP/full.zst") / 2)) "$TMP/full.zst" >"$TMP/zstd-truncated.img"

# Damaged images: exit 1 with a message, for every command; extract creates nothing else.
for img in huge-size huge-name truncated garbage zeros empty zstd-truncated; do
    for cmd in ls cat extract; do
        case $cmd in
        ls) set -- ls "$TMP/$img.img" ;;
        cat) set -- cat "$TMP/$img.img" /init ;;
        extract) mkdir -p "$TMP/x-$img" && set -- extract "$TMP/$img.img" "$TMP/x-$img/dir" ;;
        esac
        status=0
        "$ZINITRD" "$@" >"$TMP/out" 2>"$TMP/err" || status=$?
        [ "$status" -eq 1 ] || { cat "$TMP/err" >&2; fail "$cmd $img.img: exit status $status, expected 1"; }
        grep -q '^zinitrd: ' "$TMP/err" || fail "$cmd $img.img: no message"
        [ "$cmd" != extract ] || assert_only "$TMP/x-$img" dir  # DIR itself, nothing beside it
    done
    [ ! -e "$TMP/x-$img/escape" ] || fail "extract $img.img wrote outside its directory"
    pass "$img.img: ls, cat and extract exit 1 with '$(head -n 1 "$TMP/err" | cut -c1-90)'"
done

# The hostile image lists, members and all.
img="$TMP/hostile.img"
"$ZINITRD" ls "$img" >"$TMP/ls.out" || fail "ls hostile.img failed"
for p in "/../../escape" "/abs/file" "/dev/sda" "/dev/console" "/fifo" "/etc -> /../../../../etc"; do
    assert_contains "$TMP/ls.out" "$p"
done
grep -q '^b' "$TMP/ls.out" && grep -q '^c' "$TMP/ls.out" && grep -q '^p' "$TMP/ls.out" ||
    fail "device nodes and fifos are not listed with their type"
pass "ls lists every hostile member with its type"

# cat follows links inside the image only: the host's /etc/passwd is never read.
for p in /etc/passwd ../../etc/passwd /up/etc/passwd; do
    status=0
    "$ZINITRD" cat "$img" "$p" >"$TMP/out" 2>"$TMP/err" || status=$?
    ! grep -q '^root:' "$TMP/out" || fail "cat $p printed the host's /etc/passwd"
    if [ "$status" -eq 0 ]; then
        [ "$(cat "$TMP/out")" = "written through a link" ] || fail "cat $p printed '$(cat "$TMP/out")'"
    else
        [ "$status" -eq 1 ] || fail "cat $p: exit status $status"
    fi
done
for p in /dev/sda /fifo; do
    status=0
    "$ZINITRD" cat "$img" "$p" >"$TMP/out" 2>"$TMP/err" || status=$?
    [ "$status" -eq 1 ] || fail "cat $p: exit status $status, expected 1"
    assert_contains "$TMP/err" "is not a regular file"
done
status=0
"$ZINITRD" cat "$img" /loop >"$TMP/out" 2>"$TMP/err" || status=$?
[ "$status" -eq 1 ] || fail "cat /loop: exit status $status, expected 1"
assert_contains "$TMP/err" "too many levels of symbolic links"
pass "cat resolves links inside the image only; device nodes, fifos and loops are refused"

# extract: nothing outside DIR, refusals named.
mkdir -p "$TMP/sandbox/a/b"
"$ZINITRD" extract "$img" "$TMP/sandbox/a/b/dir" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "extract hostile.img failed"; }
assert_only "$TMP/sandbox" a
assert_only "$TMP/sandbox/a" b
assert_only "$TMP/sandbox/a/b" dir
[ "$(cat "$TMP/sandbox/a/b/dir/abs/file")" = "rooted" ] || fail "an absolute name was not rooted in DIR"
[ ! -e "$TMP/sandbox/a/b/dir/dev/sda" ] && [ ! -e "$TMP/sandbox/a/b/dir/fifo" ] || fail "a device node or fifo was created"
[ -L "$TMP/sandbox/a/b/dir/etc" ] || fail "the symlink etc was not extracted as a symlink"
assert_contains "$TMP/err" "skipped '/../../escape': its path contains '..'"
assert_contains "$TMP/err" "skipped '/dev/sda': device nodes, fifos and sockets are not extracted"
assert_contains "$TMP/err" "skipped '/etc/passwd'"
pass "extract writes nothing outside DIR and names every member it refuses"

# A compressed segment is walked by the same bounded reader: a symlink claiming 4 GiB in a tiny
# gzip image (libarchive's cpio reader allocated it) is damage, not an allocation.
python3 - "$TMP" <<'PY'
import gzip, os, sys
n = b"link\0"
f = [1, 0o120777, 0, 0, 1, 0, 0xFFFFFFFE, 0, 0, 0, 0, len(n), 0]
h = b"070701" + b"".join(b"%08X" % x for x in f) + n
with open(os.path.join(sys.argv[1], "huge-link.img"), "wb") as out:
    out.write(gzip.compress(h + b"\0" * (-len(h) % 4) + b"x" * 64))
PY
"$ZINITRD" ls "$TMP/huge-link.img" >"$TMP/out" 2>"$TMP/err" && fail "ls of huge-link.img succeeded"
assert_contains "$TMP/err" "corrupt gzip segment 0"

# newc hard links in a gzip image (data on the group's last member): extracted as one inode.
mkdir -p "$TMP/hl/src"
echo "hello data" >"$TMP/hl/src/a"
ln "$TMP/hl/src/a" "$TMP/hl/src/b"
(cd "$TMP/hl/src" && find . | cpio -o -H newc 2>/dev/null | gzip >"$TMP/hl/img")
"$ZINITRD" extract "$TMP/hl/img" "$TMP/hl/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "extract of hard links failed"; }
[ "$(cat "$TMP/hl/out/a")" = "hello data" ] && [ "$(cat "$TMP/hl/out/b")" = "hello data" ] || fail "a hard link lost its data"
[ "$(stat -c %i "$TMP/hl/out/a")" = "$(stat -c %i "$TMP/hl/out/b")" ] || fail "hard links were extracted as two files"
pass "compressed segments: a hostile size is damage; hard links keep one inode and their data"
