#!/bin/busybox sh
# guest_init.sh: /sbin/init of every test root dataset. It proves what the initramfs handed over
# (which dataset is /, which is /usr, that it runs as PID 1), prints one marker line on the
# console for the test to match, and powers the VM off (QEMU then exits with status 0).
# extra= shows /etc/zinitrd-test-extra ("none" when absent: a rollback removed it); bootlog=
# says whether the initramfs's log survived switch_root with its summary line; pools= lists the
# imported pools (ZFS keeps a kstat directory per pool).
B=/bin/busybox
src() { $B awk -v m="$1" '$2 == m { s = $1 } END { print (s == "" ? "none" : s) }' /proc/mounts; }
opts() { $B awk -v m="$1" '$2 == m { s = $4 } END { split(s, o, ","); print o[1] }' /proc/mounts; }
bootlog() { $B grep -q 'mounted .* on /sysroot (modules' /run/zinitrd/boot.log 2>/dev/null && echo yes || echo no; }
pools() { for d in /proc/spl/kstat/zfs/*/; do $B basename "$d"; done | $B sort | $B paste -s -d, -; }
echo "ZINITRD-TEST-MARKER root=$(src /) usr=$(src /usr) pid=$$ mode=$(opts /) label=$($B cat /etc/zinitrd-test-root 2>/dev/null) extra=$($B cat /etc/zinitrd-test-extra 2>/dev/null || echo none) bootlog=$(bootlog) pools=$(pools)"
$B sync
$B poweroff -f
