"""scenarios_host_only: `host-only = true` as a Debian user gets it, then booted.

Unit tests check the sysfs walk on fixture trees; this checks it on a running system. The Debian
root of debian_root.py boots with the suite's generic image and two more disks: a job disk (a tar
of host_only_job.sh and zinitrd's .deb, made here by cpack from a /usr build of the source) and
an empty one.
In the booted system systemd_marker.sh runs the job: `dpkg -i` of the package, `host-only = true`
in /etc/zinitrd.conf.d/, the kernel's postinst hook (/etc/kernel/postinst.d/zz-zinitrd), which
writes /boot/initrd.img-KVER; the job copies that image to the empty disk. The test then reads it
back and requires:
  - the drivers of this machine's root pool disk (virtio_blk), the zfs stack and its USB
    keyboard (usbhid, xhci_pci: loaded on the machine, kept of their driver directories), and
    none of the hardware it does not have (nvme, usb-storage, SAS and FC HBAs, EHCI): fewer
    modules than the generic image;
  - a second boot of the same machine with that image reaching `running`, as every systemd
    scenario must (scenarios_systemd.SystemdBoot's checks).
The PASS line gives both images' sizes (issue 19's `--host-only` figure, bench/ reads it).
"""
import fcntl
import glob
import os
import re
import subprocess
import tarfile

import vmlib
from scenarios_systemd import ROOT, SystemdBoot

JOB_SCRIPT = os.path.join(vmlib.HERE, "host_only_job.sh")
OUT_BYTES = 256 << 20  # the empty disk the image is copied to
# The machine: q35 (an AHCI controller, no disk on it), the pool disks on virtio, and a USB
# keyboard on an xHCI controller, the keyboard a passphrase would be typed on.
MACHINE = ("-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,bus=xhci.0")
# What its host-only image needs: the pool disk's driver, the zfs stack, the keyboard's drivers
# (loaded on the machine), and none of the drivers of hardware it does not have.
NEEDED = ("virtio_blk", "zfs", "spl", "usbhid", "xhci_pci")
ABSENT = ("nvme", "usb_storage", "uas", "mpt3sas", "megaraid_sas", "virtio_scsi", "lpfc", "qla2xxx",
          "ehci_pci")


def package(paths):
    """zinitrd's .deb as a distribution builds it: a tree of its own configured for /usr (the
    suite's build tree installs under /usr/local, and its paths are compiled in), built, then
    cpack; in build/vm/pkg-usr/ (incremental after the first run, a few minutes)."""
    tree = os.path.join(paths.out, "pkg-usr")
    source = os.path.dirname(os.path.dirname(vmlib.HERE))
    with open(os.path.join(paths.out, "pkg-usr.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for d in glob.glob(os.path.join(tree, "zinitrd_*.deb")):
            os.unlink(d)
        for cmd in (["cmake", "-S", source, "-B", tree, "-DCMAKE_INSTALL_PREFIX=/usr", "-DZINITRD_TESTS=OFF"],
                    ["cmake", "--build", tree, "-j2"], ["cpack", "-G", "DEB", "-B", tree]):
            p = subprocess.run(cmd, cwd=tree if cmd[0] == "cpack" else None, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}")
        debs = glob.glob(os.path.join(tree, "zinitrd_*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"cpack made {len(debs)} .deb files in {tree}")
        return debs[0]


def job_disk(paths, name, deb):
    """The job disk: a tar (whole 512-byte records, as a disk needs) of run.sh and the .deb."""
    path = os.path.join(paths.out, f"{name}-job.tar")
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        t.add(JOB_SCRIPT, arcname="run.sh")
        t.add(deb, arcname=os.path.basename(deb))
    return path


def contents(paths, img):
    """(module names in IMG, bytes of its main segment: the image from its first compressed cpio
    on, without the uncompressed early microcode before it), from `zinitrd ls`."""
    listing = vmlib.image_listing(paths.zinitrd, img)
    return listing["modules"], os.path.getsize(img) - listing["early_bytes"]


class HostOnlyBoot:
    platforms = vmlib.BOOKWORM
    append = f"{ROOT} ro"
    image_args = ()

    def run(self, paths, name, image, echo=False):
        generic = image()
        deb = package(paths)
        job = job_disk(paths, name, deb)
        out = os.path.join(paths.out, f"{name}-out.qcow2")
        if os.path.exists(out):
            os.unlink(out)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", out, str(OUT_BYTES)], check=True)
        first = SystemdBoot(self.append, extra_disks=[(job, "virtio-blk", "zinitrd-job"),
                                                      (out, "virtio-blk", "zinitrd-out")])
        first.timeout = 900  # the boot, then dpkg and the hook's build under TCG
        first.qemu_extra = MACHINE
        first.run(paths, name, lambda: generic, echo=echo)
        log = open(os.path.join(paths.logs, f"{name}.log"), errors="replace").read()
        job_lines = re.findall(r"ZINITRD-JOB (.*)", log)
        status = next((l for l in reversed(job_lines) if l.startswith("status ")), None)
        sized = re.search(r"ZINITRD-JOB image bytes=(\d+) hook_seconds=([\d.]+)", log)
        if status != "status 0" or not sized:
            raise AssertionError(f"{name}: the job in the booted root failed ({status or 'no status'}):\n"
                                 + "\n".join(job_lines[-40:]))
        raw = os.path.join(paths.out, f"{name}-out.raw")
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", out, raw], check=True)
        img = os.path.join(paths.out, f"{name}-host-only.img")
        with open(raw, "rb") as f, open(img, "wb") as g:
            g.write(f.read(int(sized.group(1))))
        os.unlink(raw)
        (mods, main), (generic_mods, generic_main) = contents(paths, img), contents(paths, generic)
        problems = [f"lacks {m}" for m in NEEDED if m not in mods]
        problems += [f"carries {m}, a driver of a bus this machine does not have" for m in ABSENT if m in mods]
        if len(mods) >= len(generic_mods):
            problems.append(f"{len(mods)} modules, not fewer than the generic image's {len(generic_mods)}")
        if problems:
            raise AssertionError(f"{name}: the host-only image {img}: {'; '.join(problems)}\n"
                                 f"    modules: {' '.join(sorted(mods))}")
        # The same machine, booted with the image its own hook wrote.
        second = SystemdBoot(self.append)
        second.qemu_extra = MACHINE
        secs, result = second.run(paths, f"{name}-boot", lambda: img, echo=echo)
        self.measured = {"image": img, "bytes": os.path.getsize(img), "main_bytes": main,
                         "modules": len(mods), "generic_main_bytes": generic_main,
                         "generic_modules": len(generic_mods), "hook_seconds": float(sized.group(2)),
                         "boot_seconds": secs}
        return secs, (f"host-only image {os.path.getsize(img) / 1e6:.1f} MB (main segment "
                      f"{main / 1e6:.1f} MB), {len(mods)} modules; generic main segment "
                      f"{generic_main / 1e6:.1f} MB, {len(generic_mods)} modules; built by the "
                      f"kernel hook in {sized.group(2)} s in the guest; its boot: {result}")


SCENARIOS = {
    "systemd_host_only": HostOnlyBoot(),
}
