#!/bin/sh
# setup_peers_test.sh: bench/setup-peers.sh reads apt's answers correctly, with apt-cache,
# apt-get and dpkg-query replaced by stubs that print as much as the real ones do on a big
# archive. The stub apt-get refuses to install anything, so the host is never changed.
TEST_TAG=setup-peers
. "$SOURCE_DIR/tests/support/lib.sh"

stubs="$TMP/bin"
mkdir -p "$stubs"
# Nothing is installed.
printf '#!/bin/sh\nexit 1\n' >"$stubs/dpkg-query"
# zfs-initramfs has a candidate, named in the first lines, then a long version table: a reader
# that stops at the first match makes the writer die of SIGPIPE.
cat >"$stubs/apt-cache" <<'STUB'
#!/bin/sh
printf 'zfs-initramfs:\n  Installed: (none)\n  Candidate: 2.1.11-1\n  Version table:\n'
i=0
while [ $i -lt 20000 ]; do echo "     2.1.11-1 500 http://mirror.invalid/debian bookworm/contrib amd64 Packages $i"; i=$((i + 1)); done
STUB
# Installing would remove initramfs-tools (said first), then a long list of what else it does.
cat >"$stubs/apt-get" <<'STUB'
#!/bin/sh
[ "$1" = install ] && [ "$2" = -s ] || { echo "stub apt-get: refusing '$*'" >&2; exit 100; }
echo "Remv initramfs-tools [0.142]"
i=0
while [ $i -lt 20000 ]; do echo "Inst package-$i (1.0 Debian:12/stable [amd64])"; i=$((i + 1)); done
STUB
chmod +x "$stubs"/*

status=0
PATH="$stubs:$PATH" bash "$SOURCE_DIR/bench/setup-peers.sh" >"$TMP/out" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$TMP/out" >&2; fail "setup-peers.sh exited $status, expected 1"; }
if grep -q 'is not available' "$TMP/out"; then
  cat "$TMP/out" >&2
  fail "zfs-initramfs reported unavailable although apt-cache names a candidate"
fi
assert_contains "$TMP/out" "would remove packages; not doing it"
assert_contains "$TMP/out" "Remv initramfs-tools"
pass "apt's long answers are read whole: a candidate is found, a removal is refused"
