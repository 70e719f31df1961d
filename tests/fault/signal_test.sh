#!/bin/sh
# signal_test.sh: SIGTERM, SIGINT and SIGHUP delivered to a real `zinitrd build` while it writes
# the image: it dies, the previous image is byte-identical, and no temporary file is left behind.
. "$(dirname "$0")/lib.sh"
need_kver
env --default-signal=INT true 2>/dev/null || skip "env --default-signal is missing (coreutils >= 8.31)"

out="$TMP/out"
mkdir "$out"
"$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" || fail "the first build failed"
cp "$out/initrd.img" "$TMP/before.img"

for sig in TERM:15 INT:2 HUP:1; do
    num="${sig#*:}"
    sig="${sig%:*}"
    # A slow compression that writes as it goes (xz buffers), so that the signal lands mid-write. Background jobs of sh ignore SIGINT:
    # env restores the default action, as an interactive shell would have it.
    env --default-signal "$ZINITRD" build -q --kver "$kver" -o "$out/initrd.img" --compress gzip \
        --level 9 >"$TMP/build.out" 2>&1 &
    pid=$!
    # Mid-write: the process holds its unnamed temporary file in $out ("$out/#123 (deleted)"),
    # and it has grown past 64 KiB.
    i=0
    while :; do
        tmpfd="$(ls -l "/proc/$pid/fd" 2>/dev/null | sed -n "s|.* -> \\($out/#[0-9]*\\) (deleted)\$|\\1|p" | head -n 1)"
        if [ -n "$tmpfd" ]; then
            fd="$(ls -l "/proc/$pid/fd" | grep -F -- "$tmpfd" | awk '{print $9}')"
            size="$(stat -L -c %s "/proc/$pid/fd/$fd" 2>/dev/null || echo 0)"
            [ "$size" -gt 65536 ] && break
        fi
        kill -0 "$pid" 2>/dev/null || { cat "$TMP/build.out" >&2; fail "SIG$sig: the build ended before the signal"; }
        i=$((i + 1))
        [ $i -lt 1200 ] || { kill -KILL "$pid"; cat "$TMP/build.out" >&2; fail "SIG$sig: no growing temporary file after 120 s"; }
        sleep 0.1
    done
    kill -"$sig" "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" -eq $((128 + num)) ] || { cat "$TMP/build.out" >&2; fail "SIG$sig: exit status $status, expected $((128 + num))"; }
    cmp -s "$TMP/before.img" "$out/initrd.img" || fail "SIG$sig: the previous image changed"
    assert_only "$out" initrd.img
    pass "SIG$sig after $size bytes written: killed, previous image byte-identical, no temporary file"
done
