#!/bin/sh
# systemd_marker.sh: /usr/local/sbin/zinitrd-marker in the Debian root of the systemd scenarios,
# run by zinitrd-marker.service once the boot is over. It reports what a user of that system would
# see: the state systemd reaches (`running`, or `degraded` with the failed units), whether / is
# writable, which datasets zfs-mount.service mounted (/boot from the boot pool zfs-import-cache
# imported), whether zinitrd's boot log survived the
# switch, which pools are imported and how often the root pool was imported in this boot, the
# pools the root's zpool.cache names (what zfs-import-cache reads), the hostid and /run, the mount
# units zfs-mount-generator made from the guide's zfs-list.cache; one marker
# line for the test, then the details (failed units, the journal's warnings, the ZFS units' logs,
# the pool's recent history), then a clean `systemctl poweroff`.
#
# Everything goes to /dev/console (the serial console, console=ttyS0): unlike a file open on
# /dev/ttyS0, it survives the vhangup() with which agetty takes the serial line over.
exec >/dev/console 2>&1
# Bounded: a boot that never settles is reported (state=starting, with its jobs), not waited for.
state=$(timeout 300 systemctl is-system-running --wait 2>/dev/null)
[ -n "$state" ] || state=unsettled
# A test's work in the booted system, before the report: a disk with serial zinitrd-job holds a
# tar of run.sh and its files (scenarios_host_only.py). Its output is prefixed ZINITRD-JOB, its
# exit status given last.
job=/dev/disk/by-id/virtio-zinitrd-job
if [ -b "$job" ]; then
  mkdir -p /run/zinitrd-job
  { tar -xf "$job" -C /run/zinitrd-job && (cd /run/zinitrd-job && sh ./run.sh); echo "status $?"; } 2>&1 |
    sed 's/^/ZINITRD-JOB /'
fi
up=$(cut -d' ' -f1 /proc/uptime)

mounted() {  # mounted DIR: the source and the first option (ro/rw) of the last mount on DIR
  awk -v m="$1" '$2 == m { s = $1; split($4, o, ","); f = o[1] } END { print (s == "" ? "none" : s), f }' /proc/mounts
}
list() { paste -s -d, - | sed 's/^$/none/'; }

failed=$(systemctl list-units --state=failed --no-legend --plain | awk '{ print $1 }' | list)
if touch /.zinitrd-rw-probe 2>/dev/null; then rm -f /.zinitrd-rw-probe; rw=yes; else rw=no; fi
set -- $(mounted /)
root=$1 mode=$2
home=$(mounted /home | cut -d' ' -f1)
varlog=$(mounted /var/log | cut -d' ' -f1)
boot=$(mounted /boot | cut -d' ' -f1)
bootlog=no
grep -q 'mounted .* on /sysroot (modules' /run/zinitrd/boot.log 2>/dev/null && bootlog=yes
pools=$(zpool list -H -o name 2>/dev/null | sort | list)
# The pool imported once: `zpool history -i` logs each import ("[txg:N] import pool version ...")
# with the guest's clock; count the root pool's since this boot began (btime in /proc/stat).
rpool=${root%%/*}
since=$(date -d "@$(awk '$1 == "btime" { print $2 - 1 }' /proc/stat)" +%Y-%m-%d.%H:%M:%S)
imports=$(zpool history -i "$rpool" 2>/dev/null | awk -v t="$since" '$1 >= t && / import pool version /' | wc -l)
# Who imported it: zinitrd's import ioctl logs its line in the pool's history, as zpool logs its
# command line (zinitrd falls back to zpool only when the kernel refuses the labels' config).
importlog=$(zpool history "$rpool" 2>/dev/null | awk -v t="$since" '$1 >= t && /zinitrd \/init: import -N/' | wc -l)
# The root pool's vdevs by the paths the pool records (the initramfs must not rename them), each
# one a path that exists on the booted system.
vdevs=$(zpool status -P "$rpool" 2>/dev/null | awk '$1 ~ /^\/dev\// { print $1 }' |
  while read -r v; do [ -e "$v" ] && echo "$v" || echo "$v(missing)"; done | list)
# What zfs-import-cache.service reads: the pools the root's /etc/zfs/zpool.cache names.
cache=$(zdb -C -U /etc/zfs/zpool.cache 2>/dev/null | awk '/^[^ \t].*:$/ { sub(/:$/, ""); print }' | sort | list)
# /run as the initramfs handed it over: its file system type and ro/rw.
run=$(awk '$2 == "/run" { t = $3; split($4, o, ","); f = o[1] } END { print t "," f }' /proc/mounts)
snapshots=$(zfs list -H -t snapshot -o name 2>/dev/null | list)
unit() { systemctl show -P ActiveState "$1"; }
# The guide's zfs-list.cache: for /home /var/log /boot, the pool whose list made the mount unit
# (zfs-mount-generator's SourcePath), "-" when no generated unit exists (systemd's -.mount for
# the root never shows one, whichever initramfs mounted it).
made_by() {
  s=$(systemctl show -P SourcePath "$(systemd-escape -p --suffix=mount "$1")" 2>/dev/null)
  case $s in /etc/zfs/zfs-list.cache/*) echo "${s##*/}" ;; *) echo - ;; esac
}
units=$(for d in /home /var/log /boot; do made_by "$d"; done | list)
# The root's crypttab volumes: each systemd-cryptsetup@ unit and its state (a volume the initramfs
# opened under its crypttab name is found open: active, without a second prompt).
crypt=$(systemctl list-units --all --no-legend --plain 'systemd-cryptsetup@*' 2>/dev/null |
  awk '{ print $1 ":" $3 }' | list)

echo "ZINITRD-SYSTEMD-MARKER state=$state uptime=$up failed=$failed rw=$rw mode=$mode root=$root" \
  "home=$home varlog=$varlog boot=$boot bootlog=$bootlog pools=$pools imports=$imports importlog=$importlog vdevs=$vdevs cache=$cache" \
  "hostid=$(hostid) run=$run zfs-mount=$(unit zfs-mount.service)" \
  "zfs-import-cache=$(unit zfs-import-cache.service) zfs-import-scan=$(unit zfs-import-scan.service)" \
  "snapshots=$snapshots units=$units crypt=$crypt"

# The details, one prefix per kind so the test can file them.
# A boot that did not settle: its pending jobs, and where the main process of each unit that is
# still starting waits in the kernel.
if [ "$state" = unsettled ] || [ "$state" = starting ]; then
  systemctl list-jobs --no-pager | sed 's/^/ZINITRD-SYSTEMD-JOBS /'
  for u in $(systemctl list-units --state=activating --no-legend --plain | awk '{ print $1 }'); do
    pid=$(systemctl show -P MainPID "$u")
    {
      systemctl status --no-pager --lines=20 "$u"
      [ "$pid" -gt 0 ] 2>/dev/null && {
        echo "$u: main process $pid, $(grep State /proc/$pid/status), wchan $(cat /proc/$pid/wchan)"
        cat /proc/$pid/stack; ls -l /proc/$pid/fd
      }
    } 2>&1 | sed 's/^/ZINITRD-SYSTEMD-JOBS /'
  done
fi
for u in $(echo "$failed" | tr , ' '); do
  [ "$u" = none ] || systemctl status --no-pager --lines=20 "$u" | sed 's/^/ZINITRD-SYSTEMD-FAILED /'
done
journalctl -b -p warning -o short-monotonic --no-pager | sed 's/^/ZINITRD-SYSTEMD-JOURNAL /'
journalctl -b -o short-monotonic --no-pager -u zfs-import-cache.service -u zfs-mount.service \
  -u zfs-load-module.service -u zfs-import-scan.service | sed 's/^/ZINITRD-SYSTEMD-ZFS /'
zpool history -i "$rpool" 2>/dev/null | tail -n 12 | sed 's/^/ZINITRD-SYSTEMD-HISTORY /'
systemd-analyze 2>/dev/null | sed 's/^/ZINITRD-SYSTEMD-ANALYZE /'
echo "ZINITRD-SYSTEMD-END"
exec systemctl poweroff
