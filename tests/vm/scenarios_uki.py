"""scenarios_uki: early microcode and unified kernel images, booted for real.

microcode_segment_boot: an image built with `--microcode all` starts with an uncompressed cpio
  holding kernel/x86/microcode/{GenuineIntel,AuthenticAMD}.bin (checked with `zinitrd ls`: segment
  0 uncompressed, then the zstd segments, the first at a 4-byte aligned offset). The kernel must
  unpack them all: rd.break
  gives a shell in which the microcode files are in rootfs with the image's sha256 (QEMU's TCG CPU, an
  AMD family 0xf, is older than any family the kernel's loader updates, so the loader logs
  nothing: the bytes the kernel unpacked are the evidence it read the segment with the same
  newc walk), its exit resumes the boot, and the root's marker comes as usual; "Initramfs unpacking failed" must never appear.
uki_ovmf_boot: `zinitrd build --uki --cmdline ...` makes a UKI; the test puts it on a FAT ESP image
  it makes (EFI/BOOT/BOOTX64.EFI) and boots QEMU with OVMF and no -kernel/-initrd/-append: the
  firmware starts systemd-stub, which starts the kernel with the embedded initrd and command line
  (which alone names the root and the serial console), up to the marker.
"""
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import time

import vmlib

MARKER = r"ZINITRD-TEST-MARKER root=(\S+) usr=(\S+) pid=(\d+) mode=(\S+) label=(.*)"
DEBIAN = dict(root="rpool/ROOT/debian", usr="rpool/ROOT/debian/usr")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"
UNPACK_FAILED = "Initramfs unpacking failed"
SKIP = 77


def _built(paths, k, out, args):
    """OUT built by `zinitrd build ARGS`, rebuilt when zinitrd, the runtime or modules.d is newer."""
    fresh = lambda: vmlib.image_is_fresh(paths, out)
    if fresh():
        return out
    with open(os.path.join(paths.out, "image.lock"), "w") as lock:  # ctest -j2: build once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not fresh():
            print(vmlib.zinitrd_build(paths, k, out, *args), end="")
    return out


def _ls(paths, img):
    return subprocess.run([paths.zinitrd, "ls", img], check=True, capture_output=True,
                          text=True).stdout


def _cat(paths, img, member):
    return subprocess.run([paths.zinitrd, "cat", img, member], check=True,
                          capture_output=True).stdout


def _check_marker(name, m, want):
    bootlog = re.search(r" bootlog=(\S+)", m.group(5))
    pools = re.search(r" pools=(\S*)", m.group(5))
    got = dict(root=m.group(1), usr=m.group(2), pid=m.group(3), mode=m.group(4),
               bootlog=bootlog and bootlog.group(1), pools=pools and pools.group(1))
    want = dict(root=want["root"], usr=want["usr"], pid="1", mode="rw", bootlog="yes",
                pools=want["root"].split("/")[0])
    if got != want:
        raise AssertionError(f"{name}: booted, but saw {got}, expected {want}")


def _finish(name, vm, secs, what):
    """(SECS, WHAT) for scenarios.run, which files the timing and says PASS."""
    for bad in (UNPACK_FAILED, "Kernel panic"):
        if bad in vm.text():
            raise AssertionError(f"{name}: the console shows '{bad}'\n{vm.tail()}")
    return secs, what


def microcode_layout(listing):
    """{member: size} of the microcode segment, after checking the segments `zinitrd ls` shows."""
    heads = re.findall(r"^# segment (\d+) at byte (\d+): (\S+) cpio", listing, re.M)
    # Then the zstd segments (config, programs, modules: image_segments.h), the first at a 4-byte
    # aligned offset, as the kernel requires after an uncompressed archive.
    if len(heads) < 2 or heads[0][:3] != ("0", "0", "uncompressed") or \
            any(h[2] != "zstd-compressed" for h in heads[1:]) or int(heads[1][1]) % 4:
        raise AssertionError(f"expected an uncompressed segment at 0, then zstd at a 4-byte "
                             f"aligned offset; `zinitrd ls` shows {heads}")
    first = listing.split("# segment 1")[0]
    sizes = {m.group(2): int(m.group(1)) for m in
             re.finditer(r"^-\S+\s+(\d+) (/kernel/x86/microcode/\S+\.bin)$", first, re.M)}
    if sorted(sizes) != ["/kernel/x86/microcode/AuthenticAMD.bin",
                         "/kernel/x86/microcode/GenuineIntel.bin"] or min(sizes.values()) == 0:
        raise AssertionError(f"segment 0 holds {sizes}, not both vendors' microcode")
    return sizes


class MicrocodeBoot:
    append = "root=zfs:rpool/ROOT/debian rd.break=pre-mount"

    def run(self, paths, name, image, echo=False):
        k = vmlib.kver()
        if not os.path.isdir("/lib/firmware/intel-ucode") or not os.path.isdir("/lib/firmware/amd-ucode"):
            return _skip("intel-microcode and amd64-microcode are not installed")
        disks = dict(zip(vmlib.POOL_DISKS, vmlib.pool_disks(paths, k)))
        img = _built(paths, k, os.path.join(paths.out, "zinitrd-microcode-all.img"),
                     ["--microcode", "all"])
        sizes = microcode_layout(_ls(paths, img))
        vm = vmlib.Vm(vmlib.kernel_image(k), img, self.append, [disks["rpool"]], name=name,
                      log_dir=paths.logs, echo=echo)
        try:
            vm.expect(r"rd\.break=pre-mount: starting rescue shell")
            vm.expect(r"# ", timeout=60)
            # The bytes the kernel unpacked from segment 0 are the image's, hash for hash.
            vm.send("busybox sha256sum /kernel/x86/microcode/*.bin\n")
            for path in sorted(sizes):
                want = hashlib.sha256(_cat(paths, img, path)).hexdigest()
                _, m = vm.expect(rf"^([0-9a-f]{{64}})\s+{re.escape(path)}\s*$", timeout=120)
                if m.group(1) != want:
                    raise AssertionError(f"{name}: the kernel unpacked {path} with sha256 "
                                         f"{m.group(1)}, the image holds {want}")
            vm.send("exit\n")
            secs, m = vm.expect(MARKER)
            _check_marker(name, m, DEBIAN)
            vm.wait_exit(60)
        finally:
            vm.kill()
        mb = sum(sizes.values()) / 1e6
        return _finish(name, vm, secs, f"marker after {secs:.1f} s; {mb:.1f} MB of microcode in "
                                       f"rootfs from the uncompressed first segment")


def make_esp(efi, esp):
    """A FAT image ESP holding EFI at EFI/BOOT/BOOTX64.EFI (the removable-media boot path)."""
    size_mb = os.path.getsize(efi) // (1 << 20) + 16
    if os.path.exists(esp):
        os.unlink(esp)
    subprocess.run(["mkfs.fat", "-F", "32", "-n", "ESP", "-C", esp, str(size_mb * 1024)],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["mmd", "-i", esp, "::/EFI", "::/EFI/BOOT"], check=True)
    subprocess.run(["mcopy", "-i", esp, efi, "::/EFI/BOOT/BOOTX64.EFI"], check=True)


class UkiBoot:
    # The only command line the kernel gets: QEMU passes none (no -kernel), the stub reads .cmdline.
    cmdline = "console=ttyS0 panic=-1 no_timer_check root=zfs:rpool/ROOT/debian"

    def run(self, paths, name, image, echo=False):
        k = vmlib.kver()
        missing = [p for p in (OVMF_CODE, OVMF_VARS, STUB, f"/boot/vmlinuz-{k}") if not os.path.exists(p)]
        missing += [t for t in ("mkfs.fat", "mmd", "mcopy", "objcopy") if not shutil.which(t)]
        if missing:
            return _skip(f"missing {', '.join(missing)}")
        disks = dict(zip(vmlib.POOL_DISKS, vmlib.pool_disks(paths, k)))
        efi = _built(paths, k, os.path.join(paths.out, "zinitrd-uki.efi"),
                     ["--uki", "--cmdline", self.cmdline])
        esp = os.path.join(paths.out, f"esp-{os.getpid()}.img")
        vars_fd = os.path.join(paths.out, f"ovmf-vars-{os.getpid()}.fd")
        make_esp(efi, esp)
        shutil.copyfile(OVMF_VARS, vars_fd)
        extra = ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                 "-drive", f"if=pflash,format=raw,unit=1,file={vars_fd}",
                 "-drive", f"if=none,id=esp,format=raw,file={esp}",
                 "-device", "ide-hd,drive=esp,bus=ide.0,bootindex=0"]
        vm = vmlib.Vm(None, None, "", [disks["rpool"]], name=name, log_dir=paths.logs,
                      echo=echo, extra=extra)
        try:
            # The kernel saw the embedded command line, not one from QEMU.
            _, m = vm.expect(r"Kernel command line: (.*)$", timeout=300)
            if m.group(1).strip() != self.cmdline:
                raise AssertionError(f"{name}: the kernel's command line is '{m.group(1)}', "
                                     f"not the UKI's '{self.cmdline}'")
            secs, m = vm.expect(MARKER, timeout=300)
            _check_marker(name, m, DEBIAN)
            vm.wait_exit(60)
        finally:
            vm.kill()
            for f in (esp, vars_fd):
                if os.path.exists(f):
                    os.unlink(f)
        mib = os.path.getsize(efi) / 1e6
        return _finish(name, vm, secs, f"OVMF -> systemd-stub -> marker after {secs:.1f} s; "
                                       f"UKI {mib:.1f} MB, command line from .cmdline")


def _skip(why):
    msg = f"VM SCENARIO CANNOT RUN: {why}; run scripts/setup-debian.sh"
    if os.environ.get("CI"):
        raise AssertionError(msg)
    print(f"SKIPPED: {msg}", flush=True)
    raise SystemExit(SKIP)


SCENARIOS = {
    "microcode_segment_boot": MicrocodeBoot(),
    "uki_ovmf_boot": UkiBoot(),
}
