#!/usr/bin/env python3
"""capture_import: what a platform's `zpool import` prints (capture_import.sh in a VM).

Used to make the runtime's fixtures of each OpenZFS release (initrd-runtime/import_*_test.cc):

  capture_import.py --build-dir B --platform trixie > captured.txt
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import platforms  # noqa: E402
import vmlib  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(vmlib.SOURCE_DIR, "build"))
    ap.add_argument("--platform", default="trixie")
    a = ap.parse_args()
    paths = vmlib.Paths(a.build_dir)
    p = platforms.PLATFORMS[a.platform]
    disks = p.pool_disks(paths)
    img = os.path.join(paths.out, f"capture-import-{p.name}.img")
    p.build(paths, img, "--init", os.path.join(vmlib.HERE, "capture_import.sh"),
            "--install", "busybox")
    vm = vmlib.Vm(p.kernel(), img, "quiet",
                  [disks[d] for d in ("rpool", "mirror-a", "foreign", "ns-foreign")],
                  name=f"capture-import-{p.name}", log_dir=paths.logs)
    try:
        vm.expect(r"CAPTURE-DONE", timeout=600)
        vm.wait_exit(60)
    finally:
        vm.kill()
    print(vm.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
