#!/usr/bin/env bash
# kver.sh: print the newest installed Debian kernel release that has a /boot/vmlinuz and a modules
# tree. Tests and demos use it instead of `uname -r`: the host's running kernel is not the one we boot.
set -euo pipefail
best=
for m in /lib/modules/*/modules.dep; do
  [ -e "$m" ] || continue
  k=$(basename "$(dirname "$m")")
  [ -e "/boot/vmlinuz-$k" ] || continue
  if [ -z "$best" ] || dpkg --compare-versions "$k" gt "$best"; then best=$k; fi
done
[ -n "$best" ] || { echo "kver.sh: no kernel with /boot/vmlinuz-* and modules found; run scripts/setup-debian.sh" >&2; exit 1; }
echo "$best"
