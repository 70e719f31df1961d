#!/bin/sh
# host_only_job.sh: the job scenarios_host_only.py gives the booted Debian root (run.sh of its job
# disk, run by systemd_marker.sh from the unpacked disk's directory). It does what a user of that
# system does to get a host-only image: installs zinitrd's .deb (its dependencies are in the root,
# as apt would have fetched them), asks for `host-only = true` in /etc/zinitrd.conf.d/, and runs
# the Debian kernel hook a kernel installation runs. The image the hook writes goes to the disk
# with serial zinitrd-out, from byte 0; its size is printed for the test to cut it there.
set -eu
kver=$(uname -r)
dpkg -i ./zinitrd_*.deb
mkdir -p /etc/zinitrd.conf.d
printf '# the machine-specific image: only the drivers of this machine'"'"'s root pool\nhost-only = true\n' \
  >/etc/zinitrd.conf.d/host-only.conf
start=$(date +%s.%N)
/etc/kernel/postinst.d/zz-zinitrd "$kver"
end=$(date +%s.%N)
img=/boot/initrd.img-$kver
echo "modules: $(zinitrd ls "$img" | awk '/\.ko(\.[a-z]+)?$/ { n = split($NF, p, "/"); printf "%s ", p[n] }')"
dd if="$img" of=/dev/disk/by-id/virtio-zinitrd-out bs=1M conv=fsync status=none
echo "image bytes=$(stat -c %s "$img") hook_seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')"
