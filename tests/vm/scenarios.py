#!/usr/bin/env python3
"""scenarios: the end-to-end boot tests (ctest label `vm`).

Each scenario boots a platform's kernel (platforms.py: bookworm, the host's Debian 12; trixie, a
Debian 13 target built for with --root) with a zinitrd image and some of that platform's cached
pool disks (see make_pools.sh) under QEMU, with a kernel command line as users write it, and
asserts on the serial console: a successful boot must reach the marker printed by the root dataset's own
/sbin/init (guest_init.sh) naming the expected datasets for / and /usr and PID 1; a failing boot
must explain itself and offer a working rescue shell, never panic.

  scenarios.py --list                      PLATFORM_NAME, one a line (CMake registers one test each)
  scenarios.py --build-dir B --prepare [PLATFORM]   its pool disks (cached) + the test image
  scenarios.py --build-dir B --run PLATFORM_NAME    one scenario on one platform
  scenarios.py --build-dir B --demo        the README's main job: boot one image, show it all
"""
import argparse
import fcntl
import hashlib
import os
import re
import json
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402
import platforms  # noqa: E402
from vmlib import BOTH, Boot, Fails  # noqa: E402
from debian_root import Missing  # noqa: E402

MARKER = r"ZINITRD-TEST-MARKER root=(\S+) usr=(\S+) pid=(\d+) mode=(\S+) label=(.*)"
RESCUE = vmlib.RESCUE
SKIP = 77


# The core scenarios (every root= form, AUTO, a /usr child, a degraded mirror, a foreign hostid, a
# missing pool) run on both platforms (BOTH); the others on the host's Debian 12.
DEBIAN = dict(root="rpool/ROOT/debian", usr="rpool/ROOT/debian/usr")
CORE = dict(DEBIAN, platforms=BOTH)
SCENARIOS = {
    "root_zfs_colon": Boot("root=zfs:rpool/ROOT/debian", **CORE),
    # A ZFS root is mounted read-write whatever `ro` says (GRUB's entries always pass it: nothing
    # would remount it); rootflags=ro asks for a read-only root.
    "grub_ro_gives_rw": Boot("root=ZFS=rpool/ROOT/debian ro", **CORE),
    "rootflags_ro": Boot("root=zfs:rpool/ROOT/debian rootflags=ro", mode="ro", **CORE),
    "root_ZFS_equals": Boot("root=ZFS=rpool/ROOT/debian", **CORE),
    "zfs_equals_rw": Boot("zfs=rpool/ROOT/debian rw", mode="rw", **CORE),
    "rootfstype_zfs": Boot("rootfstype=zfs root=rpool/ROOT/debian", **CORE),
    "root_zfs_auto": Boot("root=zfs:AUTO", **CORE),
    # AUTO with two pools: mpool (no bootfs) is tried and exported, rpool's bootfs is booted.
    "root_zfs_auto_two_pools": Boot("root=zfs:AUTO rd.debug", disks=("mirror-a", "mirror-b", "rpool"),
                                    **CORE),
    "legacy_root": Boot("root=zfs:rpool/ROOT/legacy", root="rpool/ROOT/legacy"),
    "space_as_plus": Boot("root=zfs:rpool/ROOT/my+root", root=r"rpool/ROOT/my\040root"),
    "deep_non_rpool": Boot("root=zfs:tank/sys/os/roots/main", disks=("tank",),
                           root="tank/sys/os/roots/main"),
    "mirror_degraded": Boot("root=zfs:mpool/root", disks=("mirror-a",), root="mpool/root",
                            state="DEGRADED", platforms=BOTH),
    "foreign_hostid_refused": Fails("root=zfs:fpool/root", disks=("foreign",),
                                    messages=[r"previously in use from another system",
                                              r"(?i)deadbeef", r"zfs_force=1", RESCUE], platforms=BOTH),
    "foreign_hostid_force": Boot("root=zfs:fpool/root zfs_force=1", disks=("foreign",),
                                 root="fpool/root", platforms=BOTH),
    "foreign_spl_hostid": Boot("root=zfs:fpool/root spl.spl_hostid=0xdeadbeef", disks=("foreign",),
                               root="fpool/root", platforms=BOTH),
    "missing_pool": Fails("root=zfs:nopool/ROOT/x rd.timeout=5", messages=[r"nopool", RESCUE],
                          platforms=BOTH),
    # On the virtio console (console=hvc0, its driver a module): the explanation and a working
    # rescue shell there too.
    "missing_pool_hvc0": Fails("root=zfs:nopool/ROOT/x rd.timeout=5", messages=[r"nopool", RESCUE],
                               console="hvc0"),
    "misspelled_dataset": Fails("root=zfs:rpool/ROOT/debain", messages=[r"rpool/ROOT/debain", RESCUE],
                                platforms=BOTH),
    # rd.break stops after the import with a shell that sees the pool; its exit resumes the boot.
    "rd_break_then_exit": Boot("root=zfs:rpool/ROOT/debian rd.break=pre-mount",
                               interact=[(r"rd\.break=pre-mount: starting rescue shell", ""),
                                         (r"# ", "zpool list -H -o name\n"),
                                         (r"^rpool$", "exit\n")], **DEBIAN),
    "hotplug_late_disk": Boot("root=zfs:rpool/ROOT/debian", disks=(), hotplug="rpool", **DEBIAN),
    # The user imports the root pool by hand in the pre-import shell, then exits: the boot goes on
    # with that pool (the import ioctl finds it imported; no fallback, no second import).
    "rd_break_import_by_hand": Boot("root=zfs:rpool/ROOT/debian rd.break=pre-import",
                                    interact=[(r"rd\.break=pre-import: starting rescue shell", ""),
                                              (r"# ", "zpool import -N rpool && echo IMPORTED-BY-HAND\n"),
                                              (r"^IMPORTED-BY-HAND", "exit\n")],
                                    saw=[r"pool 'rpool' is already imported"], **DEBIAN),
}


# Scenario groups of other concerns live in scenarios_GROUP.py files beside this one, each with
# its own SCENARIOS table (names must be unique across groups).
for _f in sorted(os.listdir(os.path.dirname(os.path.abspath(__file__)))):
    if _f.startswith("scenarios_") and _f.endswith(".py"):
        _group = __import__(_f[:-3])
        for _name, _sc in _group.SCENARIOS.items():
            assert _name not in SCENARIOS, f"scenario {_name} defined twice"
            SCENARIOS[_name] = _sc


def tests():
    """Every test: PLATFORM_SCENARIO for each platform a scenario runs on."""
    return [f"{p}_{name}" for p in platforms.PLATFORMS for name, sc in SCENARIOS.items()
            if p in getattr(sc, "platforms", vmlib.BOOKWORM)]


def test_image(paths, platform, image_args=()):
    """The image a scenario boots on PLATFORM: `zinitrd build` with defaults, as a user would run
    it (with --root for a target), plus the scenario's IMAGE_ARGS (a function of the platform, or
    a list; scenarios with the same arguments share one image)."""
    if callable(image_args):
        image_args = image_args(platform)
    tag = "" if not image_args else "-" + hashlib.sha256("\0".join(image_args).encode()).hexdigest()[:12]
    img = os.path.join(paths.out, f"zinitrd-{platform.name}{tag}.img")
    if vmlib.image_is_fresh(paths, img):
        return img
    with open(os.path.join(paths.out, "image.lock"), "w") as lock:  # ctest -j2: build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not vmlib.image_is_fresh(paths, img):
            print(platform.build(paths, img, "--stats", *image_args), end="")
    return img


def prerequisites(platform):
    missing = [p for p in ("qemu-system-x86_64", "sfdisk") if not shutil.which(p)]
    return missing + platform.missing()


def with_guids(text, guids):
    """TEXT with each GUID(name) replaced by that pool's GUID (see vmlib.pool_guids)."""
    def guid(m):
        if m.group(1) not in guids:
            raise AssertionError(f"no pool '{m.group(1)}' among {sorted(guids)}")
        return guids[m.group(1)]
    return re.sub(r"GUID\((\w+)\)", guid, text)


def field(rest, key):
    """The value of KEY=VALUE in the marker's tail (None when the marker has no such field)."""
    m = re.search(rf" {key}=(\S*)", rest)
    return m and m.group(1)


def marker_disks(rest):
    """The drivers the marker's disks= names (sorted: device names differ between boots)."""
    value = field(rest, "disks") or ""
    return sorted(d.split(":", 1)[1] for d in value.split(",") if ":" in d)


def untouched(paths, name, base):
    """A qcow2 overlay of BASE for a disk the boot must not write (see written_extents)."""
    ov = os.path.join(paths.out, f"{name}-{os.path.basename(base)[:-4]}.qcow2")
    if os.path.exists(ov):
        os.unlink(ov)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", ov], check=True)
    return ov


def written_extents(ov):
    """The extents OV itself holds (depth 0): what the guest wrote over its base disk, zeros
    included; extents of depth 1 come from the untouched base."""
    out = subprocess.check_output(["qemu-img", "map", "--output=json", ov], text=True)
    return [e for e in json.loads(out) if e.get("depth", 0) == 0]


def run(paths, test, echo=False):
    """One scenario; booted once more (and said so) only when the first boot's kernel died on
    its own before /init ran (vmlib.died_before_init): an emulator fault, not a result."""
    try:
        run_once(paths, test, echo)
    except AssertionError:
        why = vmlib.died_before_init(os.path.join(paths.logs, f"{test}.log"))
        if not why:
            raise
        vmlib.log(f"{test}: {why}; booting it once more")
        shutil.copy(os.path.join(paths.logs, f"{test}.log"), os.path.join(paths.logs, f"{test}.died.log"))
        run_once(paths, test, echo)
        print(f"vm scenario {test}: the first boot's kernel died before /init ({why}); the second passed")


def run_once(paths, test, echo=False):
    platform, name = platforms.split(test)
    sc = SCENARIOS[name]
    if platform.name not in getattr(sc, "platforms", vmlib.BOOKWORM):
        raise AssertionError(f"{name} does not run on {platform.name}")
    if hasattr(sc, "run"):  # a group's own kind of boot (scenarios_systemd, scenarios_uki)
        secs, result = sc.run(paths, test, lambda: test_image(paths, platform, sc.image_args),
                              echo=echo)
        with open(os.path.join(paths.logs, "timings.tsv"), "a") as f:
            f.write(f"{test}\t{secs:.1f}\n")
        print(f"vm scenario {test}: PASS ({result}; append: {getattr(sc, 'append', '(none)')})")
        return
    disks = platform.pool_disks(paths)
    guids = platform.pool_guids(paths) if "GUID(" in repr(vars(sc)) else {}
    # A scenario may build its own image (e.g. from a fixture root with an /etc/crypttab).
    if getattr(sc, "build_image", None):
        img = sc.build_image(paths, platform.kver())
    else:
        img = test_image(paths, platform, sc.image_args)
    if getattr(sc, "check_image", None):  # e.g. an image that carries a key must be private
        sc.check_image(img)
    attach, overlays, want_drivers = [], {}, []
    for d in sc.disks:
        disk, bus = (d, "virtio-blk") if isinstance(d, str) else d
        if disk in vmlib.DEAD_DISK_OPTIONS:
            attach.append((vmlib.dead_disk(paths), bus, None, vmlib.DEAD_DISK_OPTIONS[disk]))
            want_drivers.append(vmlib.BUSES[bus][2])
            continue
        path = disks[disk]
        if disk in sc.untouched:
            path = overlays[disk] = untouched(paths, name, path)
        attach.append((path, bus))
        want_drivers.append(vmlib.BUSES[bus][2])
    append = with_guids(sc.append, guids)
    hotplug = sc.hotplug
    extra = []
    for dev in sc.devices:
        extra += ["-device", dev]
    if getattr(sc, "qemu_args", None):  # e.g. a user-mode network with a forwarded port
        extra += sc.qemu_args()
    if hotplug:
        want_drivers.append("virtio_blk")
        extra += ["-device", "pcie-root-port,id=hp0,bus=pcie.0,chassis=1",
                  "-blockdev", f"driver=file,node-name=late,filename={disks[hotplug]},read-only=on",
                  "-blockdev", "driver=raw,node-name=lateraw,file=late,read-only=on"]
    qmp = bool(hotplug) or any(callable(step[1]) for step in sc.interact)
    vm = vmlib.Vm(platform.kernel(), img, append, attach, name=test, qmp=qmp,
                  log_dir=paths.logs, echo=echo, extra=extra, cpu=sc.cpu,
                  console=getattr(sc, "console", "ttyS0"))
    try:
        if hotplug:
            vm.expect(r"zinitrd", timeout=240)
            time.sleep(3)
            vm.qmp("blockdev-add", driver="qcow2", **{"node-name": "ov"},
                   file={"driver": "file", "filename": overlay(paths, disks[hotplug])})
            vm.qmp("device_add", driver="virtio-blk-pci", drive="ov", bus="hp0", id="latedisk")
            vmlib.log(f"{name}: disk {hotplug} hot-plugged at {time.monotonic() - vm.start:.1f}s")
        # A boot that fails where it should not stops the scenario at once, not at the timeout.
        failed = RESCUE if isinstance(sc, Boot) else None
        for pattern, action, *timeout in sc.interact:
            vm.expect(pattern, *timeout, fail=failed)
            if callable(action):
                action(vm)
            else:
                vm.send(action)
        if isinstance(sc, Boot):
            secs, m = vm.expect(MARKER, fail=failed)
            rest = m.group(5)
            got = dict(root=m.group(1), usr=m.group(2), pid=m.group(3), mode=m.group(4),
                       bootlog=field(rest, "bootlog"), pools=field(rest, "pools"),
                       state=field(rest, "state"), drivers=marker_disks(rest),
                       strays=field(rest, "strays"), net=field(rest, "net"))
            # bootlog: /run/zinitrd/boot.log, with the summary line, survives switch_root;
            # pools: the root pool only is imported, whatever else is attached; state: its health;
            # drivers: every disk came up, on the bus the scenario put it on.
            # strays, net: no process and no network of the initramfs outlived switch_root.
            want = dict(root=sc.root, usr=sc.usr, pid="1", mode=sc.mode, bootlog="yes",
                        pools=sc.root.split("/")[0], state=sc.state, drivers=sorted(want_drivers),
                        strays="none", net="none")
            if getattr(sc, "extra", None) is not None:  # extra= of the marker (guest_init.sh)
                got["extra"], want["extra"] = field(rest, "extra"), sc.extra
            if sc.label is not None:  # the label before " extra=": it may hold a space
                got["label"], want["label"] = rest.split(" extra=", 1)[0], sc.label
            if sc.usbhid is not None:
                got["usbhid"], want["usbhid"] = field(rest, "usbhid"), sc.usbhid
            if re.fullmatch(sc.strays, got["strays"]):  # "none" unless the scenario says
                want["strays"] = got["strays"]
            if got != want:
                raise AssertionError(f"{name}: booted, but saw {got}, expected {want}")
            vm.wait_exit(getattr(sc, "exit_timeout", 60))
            result = f"marker after {secs:.1f} s"
        else:
            for msg in sc.messages:
                secs, _ = vm.expect(with_guids(msg, guids))
            vm.expect(r"# ", timeout=60)  # the shell prompt (busybox may append a cursor query)
            vm.send("echo RESCUE-$((6*7))\n")
            vm.expect(r"RESCUE-42", timeout=60)
            result = f"explained and rescue shell after {secs:.1f} s"
            vm.kill()  # the overlays are read below: QEMU must have let go of them
        saw = [with_guids(rx, guids) for rx in sc.saw]
        unseen = [rx for rx in saw if not re.search(rx, vm.text(), re.M)]
        if unseen:
            raise AssertionError(f"{name}: the console never showed {unseen}\n{vm.tail()}")
        if getattr(sc, "check_console", None):  # e.g. how many prompts the boot showed
            sc.check_console(vm.text())
        if "Kernel panic" in vm.text():
            raise AssertionError(f"{name}: the kernel panicked\n{vm.tail()}")
        # A pool the labels show complete and this system's is imported by the import ioctl
        # (zfs_import_ioctl.h); zpool is the fallback, never needed by any scenario's pool.
        # Likewise the root's datasets are listed by ioctl (zfs_dataset_list.h), zfs list only
        # when that fails.
        refused = re.search(r"zinitrd: (the kernel did not import|could not list \S+ by ioctl) .*",
                            vm.text())
        if refused:
            raise AssertionError(f"{name}: {refused.group(0)}")
    finally:
        vm.kill()
    for disk, ov in overlays.items():
        written = written_extents(ov)
        if written:
            raise AssertionError(f"{name}: the boot wrote disk {disk} ({len(written)} extents in "
                                 f"{ov}, first {written[0]}); it must not touch it")
        os.unlink(ov)
    with open(os.path.join(paths.logs, "timings.tsv"), "a") as f:
        f.write(f"{test}\t{secs:.1f}\n")
    print(f"vm scenario {test}: PASS ({result}; append: {append})")


def demo(paths, k):
    """The README's main job, narrated: pool disk, `zinitrd build`, a boot under QEMU, timings."""
    print(f"== kernel {k}; pool disks (made in a VM on first use, then cached)", flush=True)
    disks = platforms.PLATFORMS["bookworm"].pool_disks(paths)
    img = os.path.join(paths.out, "demo.img")
    print(f"== zinitrd build --kver {k} -o {img} --stats", flush=True)
    print(vmlib.zinitrd_build(paths, k, img, "--stats"), end="", flush=True)
    append = "root=zfs:rpool/ROOT/debian"
    print(f"== booting it under QEMU (TCG) with: {append}", flush=True)
    print("   (zinitrd's lines and the root's marker; the whole console is in "
          f"{os.path.join(paths.logs, 'demo.log')})", flush=True)
    vm = vmlib.Vm(vmlib.kernel_image(k), img, append, [disks["rpool"]], name="demo", log_dir=paths.logs)
    try:
        for stamp, line in iter_lines(vm):
            if "zinitrd" in line or "ZINITRD-TEST-MARKER" in line or "Kernel panic" in line:
                print(f"[{stamp:6.2f}s] {line}", flush=True)
            if "ZINITRD-TEST-MARKER" in line:
                marker = stamp
                break
        else:
            raise AssertionError(f"the VM stopped before the marker:\n{vm.tail()}")
        vm.wait_exit(60)
    finally:
        vm.kill()
    print(f"== booted: QEMU start to the root's /sbin/init marker in {marker:.1f} s", flush=True)
    return 0


def iter_lines(vm, timeout=240):
    """Console lines of VM as they arrive, until it exits or TIMEOUT passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            item = vm._q.get(timeout=1)
        except Exception:
            continue
        if item is None:
            return
        yield item


def overlay(paths, base):
    """A qcow2 overlay of BASE so that a hot-plugged disk never changes the cached base disk."""
    ov = os.path.join(paths.out, f"hotplug-{os.getpid()}.qcow2")
    if os.path.exists(ov):
        os.unlink(ov)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", ov], check=True)
    return ov


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(vmlib.SOURCE_DIR, "build"))
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--prepare", nargs="?", const="bookworm", metavar="PLATFORM",
                    help="a platform's pool disks and default image (bookworm when not named)")
    ap.add_argument("--prepare-group", metavar="GROUP",
                    help="what a scenarios_GROUP.py needs beyond the pool disks (its prepare()), "
                         "for the platform --platform names")
    ap.add_argument("--platform", default="bookworm", choices=sorted(platforms.PLATFORMS),
                    help="--prepare-group's platform (bookworm when not named)")
    ap.add_argument("--run")
    ap.add_argument("--demo", action="store_true")
    a = ap.parse_args()
    if a.list:
        print("\n".join(tests()))
        return 0
    paths = vmlib.Paths(a.build_dir)
    k = vmlib.kver()
    if a.run:
        platform = platforms.split(a.run)[0]
    else:
        platform = platforms.PLATFORMS[a.prepare or a.platform]
    missing = prerequisites(platform)
    if missing:
        msg = f"VM TESTS CANNOT RUN: missing {', '.join(missing)}; run scripts/setup-debian.sh"
        print(("FAIL: " if os.environ.get("CI") else "SKIPPED: ") + msg, file=sys.stderr)
        return 1 if os.environ.get("CI") else SKIP
    if a.prepare:
        platform.pool_disks(paths)
        for f in os.listdir(paths.out):  # images are cheap: rebuild them for every test run
            if f.startswith(f"zinitrd-{platform.name}") and f.endswith(".img"):
                os.unlink(os.path.join(paths.out, f))
        test_image(paths, platform)
        print(platform.describe())
        return 0
    if a.prepare_group:
        __import__(f"scenarios_{a.prepare_group}").prepare(paths, platform)
        return 0
    if a.run:
        run(paths, a.run)
        return 0
    if a.demo:
        return demo(paths, k)
    ap.print_usage()
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except Missing as e:  # a prerequisite of some scenarios (debian_root.py)
        print(("FAIL: " if os.environ.get("CI") else "SKIPPED: ") + f"VM TEST CANNOT RUN: {e}; "
              "run scripts/setup-debian.sh", file=sys.stderr)
        sys.exit(1 if os.environ.get("CI") else SKIP)
