#!/usr/bin/env python3
"""boot_test_cmd: `zinitrd boot-test` end to end (ctest label `vm`, tests vm_boottest_NAME).

The VM suite's pool disk files stand in for the machine's disks (--disk FILE) and --cmdline for
its /proc/cmdline. Each case runs the real binary as a user would, which boots the installed
kernel with an image under QEMU, and asserts on its exit status and report; every disk file it
was given must be byte-identical afterwards (sha256 before and after).

The hook cases run the Debian kernel hook (packaging/debian/postinst.d/zz-zinitrd) with
`boot_test = yes`: it builds the image with the real zinitrd and boot-tests it for real; only
what this test machine lacks is supplied by a wrapper named in ZINITRD (the hook's documented
way to name the binary): "boot_test = yes" for `boot-test --configured`, and --disk and
--cmdline for the boot test, standing for the host's root pool and /proc/cmdline.

  boot_test_cmd.py --list                      case names, one a line
  boot_test_cmd.py --build-dir B --run NAME    one case
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenarios  # noqa: E402
import vmlib  # noqa: E402
import platforms  # noqa: E402

HOST = platforms.PLATFORMS["bookworm"]  # boot-test runs on this machine, for its own kernel

SKIP = 77


class Case:
    """zinitrd boot-test on DISKS with CMDLINE and an image built with IMAGE_ARGS; it must exit
    with STATUS, and its report must hold every regex of EXPECT (text) or the fields of WANT
    (--json). ACCEL: ZINITRD_VM_ACCEL for the run, None to let boot-test probe KVM itself.

    STORAGE: the text of a storage feature.conf replacing the shipped one for the image's build
    (as a machine's /etc/zinitrd/modules.d/storage would). HOOK: run the Debian kernel hook
    instead ("keeps" when a previous image is there and the test must fail, "installs" when it
    must pass); STATUS is then the hook's exit status and EXPECT applies to its standard error."""

    def __init__(self, cmdline, disks=("rpool",), status=0, expect=(), want=None, image_args=(),
                 accel="tcg", timeout=240, storage=None, hook=None):
        self.cmdline, self.disks, self.status, self.expect = cmdline, disks, status, expect
        self.want, self.image_args, self.accel = want, tuple(image_args), accel
        self.timeout, self.storage, self.hook = timeout, storage, hook


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
    # An image whose only disk driver is MegaRAID's (a server's trimmed storage feature): QEMU's
    # disks here have no driver in it, so the import finds no disk: FAIL with that reason.
    # rd.timeout=10 shortens the runtime's wait for the pool's disks (60 s by default).
    "no_disk_driver": Case("root=zfs:rpool/ROOT/debian rd.timeout=10", status=1, storage=(
        "description = MegaRAID SAS only\nwhen = always\n"
        "kmod-coldplug = kernel/drivers/scsi/megaraid/ sd_mod\n"), expect=[
        r"\n  note: the image has no driver for a disk QEMU emulates \(virtio_blk, nvme, ahci, "
        r"virtio_scsi\)",
        r"\nFAIL at stage 'import': cannot import the root pool 'rpool' \(waited \d+\.\d+s\)",
        r"\n  try: if the disk needs a driver the image lacks",
        r"\n  try: disks the kernel sees now: none\n"]),
    # A deadline shorter than the boot: QEMU is killed (its whole process group), FAIL at stage
    # 'timeout' with the console's last lines.
    "timeout": Case("root=zfs:rpool/ROOT/debian", status=1, timeout=6, expect=[
        r"\nFAIL at stage 'timeout': no verdict within 6 s: the boot hung\n",
        # How far the kernel got in 6 s depends on the machine's load: its lines, or none.
        r"\nconsole \(last lines\):\n  \| |\n  try: the console stayed empty: the kernel did "
        r"not get as far as its first line on ttyS0\n",
        r"\n  try: under TCG a slow machine may need a longer --timeout\n"]),
    # boot_test = yes in the Debian hook: a new image that fails (a dataset the pool lacks) is
    # thrown away and the previous image stays, byte for byte; one that passes replaces it.
    "hook_keeps_previous": Case("root=zfs:rpool/ROOT/nothere", hook="keeps", expect=[
        r"\nFAIL at stage 'mount'",
        r"zz-zinitrd: the new image of \S+ FAILED its boot test \(report above\); the previous "
        r"\S+ is kept\."]),
    "hook_installs_passing": Case("root=zfs:rpool/ROOT/debian", hook="installs", expect=[
        r"\nPASS: rpool/ROOT/debian mounted",
        r"zz-zinitrd: \S+/initrd\.img-\S+ passed its boot test\n"]),
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def trimmed_image(paths, k, name, storage):
    """An image built by this zinitrd with STORAGE as its storage feature: a copy of the build
    tree's layout (bin/zinitrd, lib/zinitrd/{init,modules.d}) with that one file replaced."""
    prefix = os.path.join(paths.out, f"boottest-{name}-prefix")
    shutil.rmtree(prefix, ignore_errors=True)
    os.makedirs(os.path.join(prefix, "bin"))
    shutil.copy2(paths.zinitrd, os.path.join(prefix, "bin", "zinitrd"))
    data = os.path.join(paths.build, "lib", "zinitrd")
    shutil.copytree(data, os.path.join(prefix, "lib", "zinitrd"), symlinks=False)
    with open(os.path.join(prefix, "lib", "zinitrd", "modules.d", "storage", "feature.conf"),
              "w") as f:
        f.write(storage)
    img = os.path.join(paths.out, f"boottest-{name}.img")
    cmd = [os.path.join(prefix, "bin", "zinitrd"), "build", "-q", "--kver", k, "-o", img]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}")
    listing = subprocess.run([paths.zinitrd, "ls", img], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
    for m in ("virtio_blk", "virtio_scsi", "nvme.ko", "ahci", "megaraid_sas"):
        if (m in listing) != (m == "megaraid_sas"):
            raise AssertionError(f"the trimmed image has {m}: {m in listing}\n{listing}")
    shutil.rmtree(prefix)
    return img


def run_hook(paths, k, case, attach, workdir, env):
    """Runs the Debian kernel hook on K with boot_test = yes, ZINITRD_BOOT_DIR=WORKDIR/boot and
    a wrapper supplying the disks ATTACH and CASE's command line to the real boot test. Returns
    (completed process, image path, previous image bytes or None)."""
    boot = os.path.join(workdir, "boot")
    os.makedirs(boot)
    img = os.path.join(boot, f"initrd.img-{k}")
    previous = None
    if case.hook == "keeps":
        shutil.copyfile(scenarios.test_image(paths, HOST), img)  # a good image, booting today
        with open(img, "rb") as f:
            previous = f.read()
    else:
        previous = b"the previous image\n"
        with open(img, "wb") as f:
            f.write(previous)
    extra = " ".join(f"--disk '{d}'" for d in attach)
    wrapper = os.path.join(workdir, "zinitrd")
    with open(wrapper, "w") as f:
        f.write(f"""#!/bin/sh
# What this machine lacks: zinitrd.conf's boot_test = yes, a ZFS root and its /proc/cmdline.
if [ "$1" = boot-test ]; then
    [ "$2" = --configured ] && {{ echo "boot_test = yes"; exit 0; }}
    exec '{paths.zinitrd}' "$@" {extra} --cmdline '{case.cmdline}' --timeout {case.timeout}
fi
exec '{paths.zinitrd}' "$@"
""")
    os.chmod(wrapper, 0o755)
    hook = os.path.join(vmlib.SOURCE_DIR, "packaging", "debian", "postinst.d", "zz-zinitrd")
    env = dict(env, ZINITRD=wrapper, ZINITRD_BOOT_DIR=boot,
               DEB_MAINT_PARAMS="'configure' '1.0'")
    p = subprocess.run(["sh", hook, k, f"/boot/vmlinuz-{k}"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env)
    return p, img, previous


def qemu_processes(marker):
    """PIDs of running processes whose command line holds MARKER."""
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(pid))
        except (OSError, ValueError):
            pass
    return pids


def run(paths, name):
    case = CASES[name]
    k = vmlib.kver()
    disks = HOST.pool_disks(paths)
    if case.storage is not None:
        img = trimmed_image(paths, k, name, case.storage)
    else:
        img = scenarios.test_image(paths, HOST, case.image_args)
    attach = [disks[d] for d in case.disks]
    before = {d: sha256(d) for d in attach}
    # boot-test's scratch directory (overlays, console) goes to TMPDIR: it must be gone after.
    workdir = os.path.join(paths.out, f"boottest-{name}")
    shutil.rmtree(workdir, ignore_errors=True)
    tmpdir = os.path.join(workdir, "tmp")
    os.makedirs(tmpdir)
    env = dict(os.environ, TMPDIR=tmpdir)
    env.pop("ZINITRD_VM_ACCEL", None)
    if case.accel:
        env["ZINITRD_VM_ACCEL"] = case.accel
    cmd = [paths.zinitrd, "boot-test", "--kver", k, "--image", img, "--cmdline", case.cmdline,
           "--timeout", str(case.timeout)]
    for d in attach:
        cmd += ["--disk", d]
    if case.want is not None:
        cmd.append("--json")
    slot = vmlib._take_slot()  # boot-test's VMs count against the machine-wide limit
    try:
        t0 = time.monotonic()
        if case.hook:
            p, hook_img, previous = run_hook(paths, k, case, attach, workdir, env)
            cmd = ["zz-zinitrd", k]
        else:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
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
        # The hook writes nothing to stdout (debconf may own it): the report is on stderr.
        text = p.stderr if case.hook else p.stdout
        for rx in case.expect:
            if not re.search(rx, text):
                raise AssertionError(f"{name}: no /{rx}/ in the report{shown}")
    if case.hook:
        if p.stdout:
            raise AssertionError(f"{name}: the hook wrote to stdout{shown}")
        with open(hook_img, "rb") as f:
            now = f.read()
        if case.hook == "keeps" and now != previous:
            raise AssertionError(f"{name}: the previous image was not kept{shown}")
        if case.hook == "installs":
            if now == previous:
                raise AssertionError(f"{name}: the image that passed was not installed{shown}")
            subprocess.run([paths.zinitrd, "ls", hook_img], stdout=subprocess.DEVNULL, check=True)
        if os.path.exists(hook_img + ".zinitrd-new"):
            raise AssertionError(f"{name}: the hook left {hook_img}.zinitrd-new behind{shown}")
    # The real init never runs: the boot stops before switch_root.
    if "switching to /sysroot" in text:
        raise AssertionError(f"{name}: the boot went through switch_root{shown}")
    # Nothing left behind: no QEMU still running on the overlays, no scratch directory.
    left = os.listdir(tmpdir)
    if left:
        raise AssertionError(f"{name}: boot-test left {left} in its TMPDIR{shown}")
    if qemu_processes(tmpdir):
        raise AssertionError(f"{name}: a QEMU on {tmpdir} is still running{shown}")
    after = {d: sha256(d) for d in attach}
    if after != before:
        raise AssertionError(f"{name}: a disk file changed: {before} -> {after}")
    shutil.rmtree(workdir)
    with open(os.path.join(paths.logs, "timings.tsv"), "a") as f:
        f.write(f"boottest_{name}\t{secs:.1f}\n")
    print(f"vm boot-test {name}: PASS ({'the Debian hook' if case.hook else 'zinitrd boot-test'} "
          f"exit {p.returncode} after {secs:.1f} s; {len(attach)} disk file(s) unchanged)")


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
    missing = scenarios.prerequisites(HOST)
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
