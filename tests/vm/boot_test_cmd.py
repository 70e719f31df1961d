#!/usr/bin/env python3
"""boot_test_cmd: `zinitrd boot-test` end to end (ctest label `vm`, tests vm_boottest_NAME).

The VM suite's pool disk files stand in for the machine's disks (--disk FILE) and --cmdline for
its /proc/cmdline. Each case runs the real binary as a user would, which boots the installed
kernel with an image under QEMU, and asserts on its exit status and report; every disk file it
was given must be byte-identical afterwards (sha256 before and after).

  boot_test_cmd.py --list                      case names, one a line
  boot_test_cmd.py --build-dir B --run NAME    one case
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios  # noqa: E402
import vmlib  # noqa: E402

SKIP = 77


class Case:
    """zinitrd boot-test on DISKS with CMDLINE and an image built with IMAGE_ARGS; it must exit
    with STATUS, and its report must hold every regex of EXPECT (text) or the fields of WANT
    (--json). ACCEL: ZINITRD_VM_ACCEL for the run, None to let boot-test probe KVM itself."""

    def __init__(self, cmdline, disks=("rpool",), status=0, expect=(), want=None, image_args=(),
                 accel="tcg", timeout=240):
        self.cmdline, self.disks, self.status, self.expect = cmdline, disks, status, expect
        self.want, self.image_args, self.accel = want, tuple(image_args), accel
        self.timeout = timeout


DEBIAN_CMDLINE = "BOOT_IMAGE=/vmlinuz root=ZFS=rpool/ROOT/debian ro quiet console=tty0"
CASES = {
    # A good image: PASS with the root, its child and init; the stage times; the boot log; the
    # machine's console= and BOOT_IMAGE= not passed on. KVM is probed, not forced.
    "pass": Case(DEBIAN_CMDLINE, accel=None, expect=[
        r"\nPASS: rpool/ROOT/debian mounted with 1 child dataset, /sbin/init found in it; the boot "
        r"stopped before switch_root\n$",
        r"\n  command line: root=ZFS=rpool/ROOT/debian ro quiet .*console=ttyS0 panic=-1 "
        r"zinitrd\.boot_test=1\n",
        r"note: not passed to the VM: console=tty0\n",
        r"\nboot log:\n  \[ *\d+\.\d+\] zinitrd \S+ starting\n",
        r"imported pool 'rpool'",
        r"mounted rpool/ROOT/debian/usr on /sysroot/usr",
        r"\nseconds: kernel \d+\.\d\d s, modules \d+\.\d\d s, import \d+\.\d\d s, mount \d+\.\d\d s, "
        r"total \d+\.\d\d s, qemu \d+\.\d\d s\n"]),
    "pass_json": Case("root=zfs:rpool/ROOT/debian", want=dict(
        result="PASS", stage="switch_root", root="rpool/ROOT/debian", init="/sbin/init",
        children=1, accel="TCG", bus="virtio-blk")),
    # An image without the zfs feature: no zpool to import with.
    "omit_zfs": Case("root=zfs:rpool/ROOT/debian", image_args=("--omit", "zfs"), status=1,
                     expect=[r"\nFAIL at stage 'import': cannot run zpool .*no `zpool` program"]),
    # A command line naming a dataset the pool does not have.
    "missing_dataset": Case("root=zfs:rpool/ROOT/nothere", status=1, want=dict(
        result="FAIL", stage="mount")),
    # A pool last imported under another hostid (pools/10-base.sh): refused, with the way out.
    "foreign_hostid": Case("root=zfs:fpool/root", disks=("foreign",), status=1, expect=[
        r"\nFAIL at stage 'import': cannot import the root pool 'fpool' \(exit code 1: cannot "
        r"import 'fpool': pool was previously in use from another system\.\)\n",
        r"\n  try: the pool was last used by host .* with hostid deadbeef",
        r"\n  try: .*zfs_force=1"]),
    # A root whose passphrase is typed at the console: neither PASS nor FAIL (exit 2), once the
    # VM sits at the prompt (the timeout ends it).
    "passphrase_prompt": Case("root=zfs:cpool/ROOT/pass", disks=("cpool",), status=2, timeout=90,
                              expect=[r"\nUNTESTED at stage 'keys': the boot stopped at the "
                                      r"console prompt \"Enter passphrase for 'cpool/ROOT/pass'"]),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(paths, name):
    case = CASES[name]
    k = vmlib.kver()
    disks = dict(zip(vmlib.POOL_DISKS, vmlib.pool_disks(paths, k)))
    img = scenarios.test_image(paths, k, case.image_args)
    attach = [disks[d] for d in case.disks]
    before = {d: sha256(d) for d in attach}
    cmd = [paths.zinitrd, "boot-test", "--kver", k, "--image", img, "--cmdline", case.cmdline,
           "--timeout", str(case.timeout)]
    for d in attach:
        cmd += ["--disk", d]
    if case.want is not None:
        cmd.append("--json")
    env = dict(os.environ)
    env.pop("ZINITRD_VM_ACCEL", None)
    if case.accel:
        env["ZINITRD_VM_ACCEL"] = case.accel
    slot = vmlib._take_slot()  # boot-test's VMs count against the machine-wide limit
    try:
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        secs = time.monotonic() - t0
    finally:
        slot.close()
    with open(os.path.join(paths.logs, f"boottest-{name}.log"), "w") as f:
        f.write(f"$ {' '.join(cmd)}\n--- stdout\n{p.stdout}--- stderr\n{p.stderr}")
    shown = f"\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}"
    if p.returncode != case.status:
        raise AssertionError(f"{name}: exit status {p.returncode}, expected {case.status}{shown}")
    if case.want is not None:
        report = json.loads(p.stdout)
        got = {key: report.get(key) for key in case.want}
        if got != case.want:
            raise AssertionError(f"{name}: {got} != {case.want}{shown}")
        for stage in ("modules", "import", "mount", "total", "qemu"):
            if not isinstance(report["seconds"].get(stage), (int, float)):
                raise AssertionError(f"{name}: no seconds for {stage}{shown}")
        text = "\n".join(report["boot_log"])
    else:
        for rx in case.expect:
            if not re.search(rx, p.stdout):
                raise AssertionError(f"{name}: no /{rx}/ in the report{shown}")
        text = p.stdout
    # The real init never runs: the boot stops before switch_root.
    if "switching to /sysroot" in text:
        raise AssertionError(f"{name}: the boot went through switch_root{shown}")
    after = {d: sha256(d) for d in attach}
    if after != before:
        raise AssertionError(f"{name}: a disk file changed: {before} -> {after}")
    with open(os.path.join(paths.logs, "timings.tsv"), "a") as f:
        f.write(f"boottest_{name}\t{secs:.1f}\n")
    print(f"vm boot-test {name}: PASS (zinitrd boot-test exit {p.returncode} after {secs:.1f} s; "
          f"{len(attach)} disk file(s) unchanged)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(vmlib.SOURCE_DIR, "build"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--run")
    a = ap.parse_args()
    if a.list:
        print("\n".join(CASES))
        return 0
    paths = vmlib.Paths(a.build_dir)
    missing = scenarios.prerequisites(vmlib.kver())
    if missing:
        msg = f"VM TESTS CANNOT RUN: missing {', '.join(missing)}; run scripts/setup-debian.sh"
        print(("FAIL: " if os.environ.get("CI") else "SKIPPED: ") + msg, file=sys.stderr)
        return 1 if os.environ.get("CI") else SKIP
    if a.run:
        run(paths, a.run)
        return 0
    ap.print_usage()
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
