#!/bin/busybox sh
# guest_init.sh: /sbin/init of every test root dataset. It proves what the initramfs handed over
# (which dataset is /, which is /usr, that it runs as PID 1), prints one marker line on the
# console for the test to match, and powers the VM off (QEMU then exits with status 0).
# extra= shows /etc/zinitrd-test-extra ("none" when absent: a rollback removed it); bootlog=
# says whether the initramfs's log survived switch_root with its summary line; pools= lists the
# imported pools (ZFS keeps a kstat directory per pool); state= is the root pool's health (a
# mirror imported before all its members appeared stays DEGRADED: nothing here onlines them);
# usbhid= says whether the USB keyboard driver was loaded (only the initramfs loads modules:
# this root has no udev); disks= names each disk with the driver of the device it hangs off, to
# prove which bus the disks really sat on (sda:ahci, sdb:usb-storage, vda:virtio_blk, ...).
B=/bin/busybox
src() { $B awk -v m="$1" '$2 == m { s = $1 } END { print (s == "" ? "none" : s) }' /proc/mounts; }
opts() { $B awk -v m="$1" '$2 == m { s = $4 } END { split(s, o, ","); print o[1] }' /proc/mounts; }
bootlog() { $B grep -q 'mounted .* on /sysroot (modules' /run/zinitrd/boot.log 2>/dev/null && echo yes || echo no; }
pools() { for d in /proc/spl/kstat/zfs/*/; do $B basename "$d"; done | $B sort | $B paste -s -d, -; }
state() { $B cat "/proc/spl/kstat/zfs/${1%%/*}/state" 2>/dev/null || echo none; }
# The first driver above a disk that is not sd (the SCSI disk driver itself): the HBA, the USB
# interface driver (usb-storage, uas), virtio_blk, or the NVMe PCI function.
bus() {
  p=$($B realpath "/sys/block/$1/device")
  while [ "$p" != /sys/devices ] && [ "$p" != / ]; do
    if [ -e "$p/driver" ]; then
      d=$($B basename "$($B readlink "$p/driver")")
      [ "$d" != sd ] && echo "$d" && return
    fi
    p=$($B dirname "$p")
  done
  echo unknown
}
disks() { for b in /sys/block/*; do [ -e "$b/device" ] && echo "${b##*/}:$(bus "${b##*/}")"; done | $B paste -s -d, -; }
root=$(src /)
usbhid=no
[ -d /sys/module/usbhid ] && usbhid=yes
echo "ZINITRD-TEST-MARKER root=$root usr=$(src /usr) pid=$$ mode=$(opts /) label=$($B cat /etc/zinitrd-test-root 2>/dev/null) extra=$($B cat /etc/zinitrd-test-extra 2>/dev/null || echo none) bootlog=$(bootlog) pools=$(pools) state=$(state "$root") usbhid=$usbhid disks=$(disks)"
$B sync
$B poweroff -f
