#!/usr/bin/env python3
"""measure_modules: the numbers behind --decompress-modules=auto (README, "Compressed modules").

Builds the trixie platform's image twice from its target (--decompress-modules=no: the .ko.xz as
Debian 13 ships them, for its kernel to decompress; =yes: decompressed at build time), then boots
each ROUNDS times in turn on the rpool disk, measuring QEMU start to the root's marker (TCG, so
seconds are slow and shared-machine noise shows: compare medians).

  measure_modules.py --build-dir B [--rounds N]
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import platforms  # noqa: E402
import vmlib  # noqa: E402
from scenarios import MARKER  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(vmlib.SOURCE_DIR, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    paths = vmlib.Paths(a.build_dir)
    p = platforms.PLATFORMS["trixie"]
    disks = p.pool_disks(paths)
    images, secs = {}, {}
    for mode in ("no", "yes"):
        images[mode] = os.path.join(paths.out, f"measure-modules-{mode}.img")
        out = p.build(paths, images[mode], f"--decompress-modules={mode}")
        print(f"{mode}: {out.strip().splitlines()[-1]}", flush=True)
        secs[mode] = []
    for r in range(a.rounds):
        for mode in ("no", "yes"):
            vm = vmlib.Vm(p.kernel(), images[mode], "root=zfs:rpool/ROOT/debian", [disks["rpool"]],
                          name=f"measure-modules-{mode}", log_dir=paths.logs)
            try:
                t, _ = vm.expect(MARKER, fail=r"Kernel panic|starting rescue shell")
            finally:
                vm.kill()
            secs[mode].append(t)
            print(f"round {r + 1} {mode}: {t:.1f} s", flush=True)
    for mode in ("no", "yes"):
        print(f"decompress-modules={mode}: {os.path.getsize(images[mode]) / 1e6:.1f} MB, boot "
              f"median {statistics.median(secs[mode]):.1f} s of {secs[mode]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
