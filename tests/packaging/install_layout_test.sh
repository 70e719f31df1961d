#!/bin/sh
# install_layout_test.sh: `cmake --install` into a DESTDIR lays out a complete installation; the
# installed zinitrd builds an image from there (runtime and modules.d found beside it); the man
# pages format without warnings and, like the bash completion, know every command and option.
. "$(dirname "$0")/lib.sh"

: "${BINARY_DIR:?BINARY_DIR must name the build tree}"
prefix="${INSTALL_PREFIX:?INSTALL_PREFIX must be CMAKE_INSTALL_PREFIX}"
case "$prefix" in /usr | /usr/local) sysconf=/etc ;; *) sysconf="$prefix/etc" ;; esac
dest="$TMP/dest"
DESTDIR="$dest" cmake --install "$BINARY_DIR" >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "cmake --install failed"; }

for f in bin/zinitrd lib/zinitrd/init lib/zinitrd/dkms-post-transaction lib/kernel/install.d/60-zinitrd.install; do
    [ -x "$dest$prefix/$f" ] || fail "$prefix/$f is missing or not executable"
done
for f in "$sysconf/kernel/postinst.d/zz-zinitrd" "$sysconf/kernel/postrm.d/zz-zinitrd"; do
    [ -x "$dest$f" ] || fail "$f is missing or not executable"
done
for f in "$sysconf/dkms/framework.conf.d/zinitrd.conf" "$prefix/share/man/man8/zinitrd.8.gz" \
         "$prefix/share/man/man5/zinitrd.conf.5.gz" "$prefix/share/bash-completion/completions/zinitrd" \
         "$prefix/lib/zinitrd/modules.d/zfs/feature.conf"; do
    [ -f "$dest$f" ] || fail "$f is missing"
done
pass "cmake --install lays out binary, runtime, modules.d, hooks, DKMS snippet, man pages, completion"

kver="$(installed_kver)"
if [ -n "$kver" ]; then
    ZINITRD="$dest$prefix/bin/zinitrd"
    "$ZINITRD" build -q --kver "$kver" -o "$TMP/installed.img" || fail "the installed zinitrd could not build"
    assert_image "$TMP/installed.img" "$kver"
    pass "the installed zinitrd builds an image for $kver"
    ZINITRD="$BINARY_DIR/bin/zinitrd"
else
    echo "SKIPPED (part): no kernel with a DKMS zfs.ko: the installed zinitrd was not run" >&2
fi

# Man pages: groff finds nothing to warn about; every command and option is documented.
for page in man8/zinitrd.8 man5/zinitrd.conf.5; do
    gzip -dc "$dest$prefix/share/man/$page.gz" >"$TMP/page"
    if command -v groff >/dev/null; then
        groff -man -Tutf8 -ww -z "$TMP/page" 2>"$TMP/groff.err" || fail "groff failed on $page"
        [ ! -s "$TMP/groff.err" ] || { cat "$TMP/groff.err"; fail "groff warns about $page"; }
    fi
    grep -q '@PROJECT_VERSION@' "$TMP/page" && fail "$page still has @PROJECT_VERSION@"
done
gzip -dc "$dest$prefix/share/man/man8/zinitrd.8.gz" | sed 's/\\-/-/g' >"$TMP/man8"
completion="$dest$prefix/share/bash-completion/completions/zinitrd"
for cmd in build check boot-test ls cat extract; do
    grep -q "^\.B zinitrd $cmd\|^\.BI* \"*$cmd" "$TMP/man8" || fail "zinitrd(8) does not document '$cmd'"
done
for sub in build check boot-test; do
    "$ZINITRD" "$sub" --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$TMP/opts"
    while read -r opt; do
        grep -q -- "$opt" "$TMP/man8" || fail "zinitrd(8) does not document $sub $opt"
        grep -q -- "$opt" "$completion" || fail "the bash completion does not know $sub $opt"
    done <"$TMP/opts"
done
pass "zinitrd(8) and the completion know every command and every option of build, check and boot-test"

# Bash completion, with minimal stand-ins for bash-completion's helpers.
command -v bash >/dev/null || skip "bash is not installed"
complete_words() {  # WORDS... (the last one is being completed)
    bash -c '
        _init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${words[cword]}; prev=${words[cword-1]}; }
        _filedir() { COMPREPLY=(FILE); }
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _zinitrd
        printf "%s\n" "${COMPREPLY[@]}"' sh "$completion" "$@"
}
complete_words zinitrd "" >"$TMP/c"
for cmd in build check boot-test ls cat extract; do assert_contains "$TMP/c" "$cmd"; done
complete_words zinitrd boot-test --dis >"$TMP/c"
[ "$(cat "$TMP/c")" = --disk ] || fail "boot-test --dis completes to '$(cat "$TMP/c")'"
complete_words zinitrd check --j >"$TMP/c"
[ "$(cat "$TMP/c")" = --json ] || fail "check --j completes to '$(cat "$TMP/c")'"
complete_words zinitrd build --compress z >"$TMP/c"
[ "$(cat "$TMP/c")" = zstd ] || fail "--compress z completes to '$(cat "$TMP/c")'"
complete_words zinitrd build --add "" >"$TMP/c"
if [ -n "$kver" ]; then
    complete_words zinitrd build --kver "" >"$TMP/c"
    assert_contains "$TMP/c" "$kver"
    "$ZINITRD" build -q --kver "$kver" -o "$TMP/c.img"
    PATH="$(dirname "$ZINITRD"):$PATH" complete_words zinitrd cat "$TMP/c.img" /usr/lib/zinitrd/i >"$TMP/c"
    [ "$(cat "$TMP/c")" = /usr/lib/zinitrd/init ] || fail "cat IMAGE completes to '$(cat "$TMP/c")'"
fi
pass "bash completion: commands, options, values, kernel releases, paths inside an image"
