#!/usr/bin/env bash
# demo.sh: the main job, end to end, on a fresh Debian 12 machine: set up, build zinitrd, make a
# ZFS-root test disk (inside a VM), build its initramfs with `zinitrd build`, boot it under QEMU
# with root=zfs:rpool/ROOT/debian and show the boot and its timings.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
exec python3 tests/vm/scenarios.py --build-dir build --demo
