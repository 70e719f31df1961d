#!/bin/bash
# pid1_sandbox.sh: runs the static /init as PID 1 of a new PID + mount namespace, on a tmpfs root
# with fake zpool/zfs programs, without a kernel of its own or ZFS. It exercises what unit tests
# cannot: early mounts, the stage loop, failure reports, the rescue shell's retry and the real
# switch_root (mount moves, initramfs cleanup, chroot, exec with the kernel's arguments).
# reboot(2) inside a PID namespace only ends the namespace. Needs root, unshare, gcc, dash.
#
#   pid1_sandbox.sh [INIT]            runs every scenario; prints PASS/FAIL per scenario
set -u
INIT=${1:-$(dirname "$0")/../build-rt/lib/zinitrd/init}
INIT=$(realpath "$INIT")
W=$(mktemp -d /tmp/zinitrd-pid1-XXXXXX)
trap 'rm -rf "$W"' EXIT

cat > "$W/testinit.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>
int main(int argc, char** argv) {
  printf("TEST-INIT pid=%d argv:", getpid());
  for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
  printf(" initramfs-gone=%d log=%d\n", access("/init", F_OK) != 0, access("/run/zinitrd/boot.log", F_OK) == 0);
  return 0;
}
EOF
gcc -static -O2 -o "$W/testinit" "$W/testinit.c" || exit 1

# zpool: behaviour chosen by /etc/fake-mode (imported | inuse | nopool).
cat > "$W/zpool" <<'EOF'
#!/bin/sh
read -r mode < /etc/fake-mode
case "$1" in
  list) [ "$mode" = imported ] || [ "$mode" = encrypted ] && { echo rpool; exit 0; }; exit 1;;
  import)
    case "$mode" in
      inuse) echo "cannot import 'rpool': pool was previously in use from another system."
             echo "Last accessed by buildhost (hostid=8e9a1a2b) at Tue Nov 26 10:01:02 2024"
             echo "The pool can be imported, use 'zpool import -f' to import the pool."; exit 1;;
      nopool) echo "cannot import 'rpool': no such pool available"; exit 1;;
    esac; exit 0;;
  get) echo "rpool/ROOT/debian"; exit 0;;
esac
exit 1
EOF
cat > "$W/zfs" <<'EOF'
#!/bin/sh
read -r mode < /etc/fake-mode
[ "$1" = load-key ] && exit 0
if [ "$mode" = encrypted ]; then
  printf "rpool/ROOT/debian\t/\ton\trpool/ROOT/debian\tunavailable\n"
else
  printf "rpool/ROOT/debian\t/\ton\t-\t-\n"
fi
EOF
# The "rescue shell": fixes the pool and exits, as a user would.
printf '#!/bin/sh\necho imported > /etc/fake-mode\n' > "$W/fixit"
chmod +x "$W/zpool" "$W/zfs" "$W/fixit"

# boot MODE CMDLINE SHELL: one boot; the root dataset is simulated by a tmpfs on /sysroot.
boot() {
  local mode=$1 cmdline=$2 shell=$3
  timeout 60 unshare -m -p -f bash -c '
    set -e
    W='"$W"'; R=$W/root
    mkdir -p $R && mount -t tmpfs tmpfs $R
    mkdir -p $R/etc/zinitrd $R/usr/sbin $R/bin $R/lib/x86_64-linux-gnu $R/lib64 $R/proc $R/dev $R/sysroot
    cp '"$INIT"' $R/init
    cp /bin/dash $R/bin/sh; cp $W/fixit $R/bin/fixit; cp $W/zpool $W/zfs $R/usr/sbin/
    cp /lib/x86_64-linux-gnu/libc.so.6 $R/lib/x86_64-linux-gnu/; cp /lib64/ld-linux-x86-64.so.2 $R/lib64/
    printf "zinitrd-boot-config\t1\nkver\ttest\nset\trescue_shell\t'"$shell"'\nset\timport_timeout\t2\nmodule\tfakedrv\t/lib/modules/fake/fakedrv.ko\t\t\nalias\t*\tfakedrv\n" > $R/etc/zinitrd/boot.conf
    echo '"$mode"' > $R/etc/fake-mode
    mount -t proc proc $R/proc
    echo "'"$cmdline"'" > $W/cmdline; mount --bind $W/cmdline $R/proc/cmdline
    # /dev without kmsg (messages come to stderr, not the host log) and a harmless console.
    mount -t tmpfs tmpfs $R/dev; touch $R/dev/null $R/dev/console
    mount --bind /dev/null $R/dev/null; mount --bind /dev/null $R/dev/console
    mount -t tmpfs tmpfs $R/sysroot
    mkdir -p $R/sysroot/sbin $R/sysroot/dev $R/sysroot/proc $R/sysroot/sys $R/sysroot/run
    cp $W/testinit $R/sysroot/sbin/init
    cd $R && exec chroot . /init single extra' 2>&1
}

fails=0
check() {  # NAME OUTPUT REGEX...
  local name=$1 out=$2; shift 2
  for re in "$@"; do
    if ! grep -qE -- "$re" <<<"$out"; then
      echo "FAIL $name: no /$re/ in:"; echo "$out" | sed 's/^/    /'; fails=$((fails + 1)); return
    fi
  done
  echo "PASS $name"
}

out=$(boot imported "root=zfs:rpool/ROOT/debian spl_hostid=0x00bab10c" /nonexistent)
check switch_root "$out" "mounted rpool/ROOT/debian on /sysroot" "coldplug: some drivers did not load" \
  "TEST-INIT pid=1 argv: \[/sbin/init\] \[single\] \[extra\] initramfs-gone=1 log=1"
out=$(boot encrypted "root=zfs:rpool/ROOT/debian" /nonexistent)
check encrypted "$out" "loading the encryption key of 'rpool/ROOT/debian'" "TEST-INIT pid=1"
out=$(boot inuse "root=zfs:rpool/ROOT/debian" /bin/fixit)
check rescue_retry "$out" "previously in use" "hostid 8e9a1a2b" "zfs_force=1" "spl_hostid=0x8e9a1a2b" \
  "starting rescue shell; type 'exit' to retry the boot" "retrying the boot|continuing with the mount stage" "TEST-INIT pid=1"
out=$(boot nopool "root=zfs:rpool/ROOT/debian rd.timeout=1" /nonexistent)
check no_shell_reboot "$out" "up to 1.00s" "no such pool" "no rescue shell: retrying" "rebooting in"
out=$(boot imported "root=/dev/sda1 rd.break=lunch rd.timeout=1" /nonexistent)
check bad_cmdline "$out" "rd.break=lunch" "is not a ZFS dataset" "BOOT FAILED at stage 'cmdline'"
exit $((fails > 0))
