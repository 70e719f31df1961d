"""scenarios_systemd: zinitrd hands a real Debian with systemd a healthy system.

Every other scenario's root runs a test script as /sbin/init, which cannot see what a real system
needs after the switch: a writable /, the pool imported once, the other datasets left for
zfs-mount.service, no second passphrase prompt. These boot the Debian root of debian_root.py
(systemd, udev, zfsutils-linux, the root-on-ZFS guide's datasets) with the command lines of the
boot loaders users have, and its zinitrd-marker.service (systemd_marker.sh) reports the state
systemd reached, the failed units, the mounts and the pools on one console line, then powers off.

Each boot must show: state `running`, no failed unit, / writable, rpool/home and rpool/var/log
mounted, /run/zinitrd/boot.log present, the root pool imported once (its history) and, of the
others, only the guide's boot pool on rpool's disk, which the root's zpool.cache names with rpool:
zfs-import-cache imports it after the switch and /boot is mounted from it (the other root pool's
disk is attached too and stays untouched); zfs-import-cache runs, not zfs-import-scan (crpool's
root has no zpool.cache, as many ZFSBootMenu roots: the boot must not leave one there); the
system's hostid, /run a tmpfs, the crypttab volume of the LUKS root (lpool, the guide's LUKS
variant) found open by systemd-cryptsetup@ (none elsewhere), and a clean poweroff (QEMU exits 0 after "reboot: Power down"). With rootflags=ro, / must be read-only; the state systemd reports then is recorded.
Console logs: build/vm/logs/NAME.log; the journal's complaints: build/vm/logs/NAME.journal.

On the trixie platform the root is the Debian 13 target itself (systemd 257, ZFS 2.3 built by
DKMS in it, its pools made by its own ZFS), and the image is built for it from the host with
`zinitrd build --root TARGET`, as an installer builds it before the first boot.
"""
import os
import re

import debian_root
import platforms
import vmlib

MARKER = r"ZINITRD-SYSTEMD-MARKER (.*)"
PROMPT = r"Enter passphrase for 'crpool' \(try 1 of 3\)"
LUKS_PROMPT = rf"Enter passphrase for LUKS device '{debian_root.LUKS_NAME}' on /dev/\S+ \(try 1 of 3\)"
TIMEOUT = 420  # QEMU start to the marker; systemd under TCG needs one or two minutes


class SystemdBoot:
    """A boot of the Debian root with APPEND that must reach the marker with these fields.

    writable: / must be writable (and systemd `running`, nothing failed), or read-only (the state
    is only recorded). snapshot: a snapshot the marker must list. interact: as for vmlib.Boot.
    """

    def __init__(self, append, pool="rpool", writable=True, snapshot=None, interact=(), extra_disks=(),
                 platforms=vmlib.BOOKWORM, image_args=()):
        self.append, self.pool, self.writable = append, pool, writable
        self.platforms = platforms
        self.snapshot, self.interact = snapshot, interact
        self.extra_disks = tuple(extra_disks)  # vmlib.drive_args entries after the two pools
        self.timeout = TIMEOUT
        self.qemu_extra = ()  # more QEMU arguments (devices of the machine)
        self.image_args = tuple(image_args)  # () is the default image, as for most vmlib.Boot scenarios

    def expected(self, platform):
        p = self.pool
        # imports: the root pool imported once in this boot (by zinitrd; zfs-import-cache finds
        # it imported already), by zinitrd's import ioctl, whose line is in the pool's history
        # (importlog), its vdev still named by the by-id path it was created with (vdevs: the
        # initramfs has no udev, zinitrd made that link); cache: the root's zpool.cache names it, so zfs-import-cache (not
        # zfs-import-scan, which would import every pool it sees) runs; run: a tmpfs, writable.
        # rpool's disk holds the guide's boot pool too, which the root's zpool.cache names: the
        # initramfs leaves it to zfs-import-cache, and zfs-mount.service mounts /boot from it.
        # crpool's root has no zpool.cache (pools-systemd/10-debian.sh): zfs-import-cache's
        # condition fails, and none must appear in the root (the kernel's own write of it stays in
        # the initramfs; one there would switch zfs-import-scan off where it is enabled). Debian
        # installs zfs-import-scan disabled: it runs on neither root.
        # lpool (on LUKS, the guide's LUKS variant) has a zpool.cache too, and its vdev is the
        # mapping its crypttab names, which systemd-cryptsetup@ must find open: crypt= lists the
        # root's systemd-cryptsetup units and their states.
        pools = "bpool," + p if p == "rpool" else p
        cached = p in ("rpool", "lpool")
        luks = p == "lpool"
        want = {"root": f"{p}/ROOT/debian", "home": f"{p}/home", "varlog": f"{p}/var/log",
                "boot": "bpool/BOOT/debian" if p == "rpool" else "none",
                "bootlog": "yes", "pools": pools, "imports": "1", "importlog": "1",
                "cache": pools if cached else "none",
                "vdevs": f"/dev/mapper/{debian_root.LUKS_NAME}" if luks else f"/dev/disk/by-id/virtio-sd-{p}-part1",
                "crypt": f"systemd-cryptsetup@{debian_root.LUKS_NAME}.service:active" if luks else "none",
                "hostid": debian_root.hostid(platform.root), "run": "tmpfs,rw", "zfs-mount": "active",
                "zfs-import-cache": "active" if cached else "inactive",
                "zfs-import-scan": "inactive",
                "rw": "yes" if self.writable else "no", "mode": "rw" if self.writable else "ro"}
        # units: zfs-mount-generator made the mount units of /home, /var/log and /boot from the
        # guide's zfs-list.cache (crpool's root has no /boot pool).
        want["units"] = f"{p},{p},bpool" if p == "rpool" else f"{p},{p},-"
        if self.writable:
            want.update(state="running", failed="none")
        return want

    def run(self, paths, name, image, echo=False):
        """Boots, asserts, files the journal's complaints; returns (seconds, result text)."""
        platform = platforms.split(name)[0]
        k = platform.kver()
        disks = debian_root.pool_disks(paths, k, platform.root)
        # rpool's root must leave the other root pool's disk alone; crpool's is booted without
        # rpool's disk (where zfs-import-scan is enabled it would import every pool it sees).
        others = ["crpool"] if self.pool == "rpool" else []
        # 2 GiB: systemd, udev and the ZFS ARC (QEMU takes the last -m).
        # Each disk has the serial it had in the pool VM, so the root's udev makes the by-id
        # links the labels record (virtio-sd-rpool-part1), as a real disk's stay the same.
        attach = [(disks[p], "virtio-blk", f"sd-{p}") for p in [self.pool, *others]] + list(self.extra_disks)
        vm = vmlib.Vm(platform.kernel(), image(), self.append, attach,
                      name=name, log_dir=paths.logs, echo=echo, extra=["-m", "2048", *self.qemu_extra])
        try:
            for pattern, text in self.interact:
                vm.expect(pattern, timeout=self.timeout)
                vm.send(text)
            secs, m = vm.expect(MARKER, timeout=self.timeout)
            got = dict(re.findall(r"(\S+?)=(\S*)", m.group(1)))
            vm.expect(r"ZINITRD-SYSTEMD-END", timeout=120)
            status = vm.wait_exit(180)
        finally:
            vm.kill()
        text = vm.text()
        file_details(paths, name, vm.lines)
        want = self.expected(platform)
        seen = {key: got.get(key) for key in want}
        problems = [f"{key}={seen[key]} (expected {want[key]})" for key in want if seen[key] != want[key]]
        if self.snapshot and self.snapshot.format(k=k) not in got.get("snapshots", "").split(","):
            problems.append(f"snapshots={got.get('snapshots')} (expected {self.snapshot.format(k=k)})")
        console = "\n".join(l for _, l in vm.lines if "ZINITRD-SYSTEMD-" not in l)
        asked = len(re.findall(r"(?i)enter passphrase|please enter", console))
        if asked != len(self.interact):
            problems.append(f"{asked} passphrase prompts on the console (expected {len(self.interact)})")
        if status != 0 or "reboot: Power down" not in text:
            problems.append(f"no clean poweroff (QEMU exit status {status})")
        if "Kernel panic" in text:
            problems.append("the kernel panicked")
        if problems:
            raise AssertionError(f"{name}: {'; '.join(problems)}\n    marker: {m.group(0)}\n"
                                 f"    console: {os.path.join(paths.logs, name + '.log')}")
        return secs, (f"systemd state {got.get('state')} after {secs:.1f} s (guest uptime "
                      f"{got.get('uptime')} s), / {'rw' if self.writable else 'ro'}, failed "
                      f"units: {got.get('failed')}")


def file_details(paths, name, lines):
    """Writes the marker's detail lines (failed units, journal warnings, ZFS units) to NAME.journal."""
    with open(os.path.join(paths.logs, f"{name}.journal"), "w") as f:
        for _, line in lines:
            m = re.search(r"ZINITRD-SYSTEMD-(FAILED|JOURNAL|ZFS|HISTORY|ANALYZE|JOBS) (.*)", line)
            if m:
                f.write(f"{m.group(1).lower()}: {m.group(2)}\n")


def prepare(paths, platform):
    """The platform's Debian root's pools (debootstrap and a pool VM on first use, then cached)."""
    k = platform.kver()
    debian_root.pool_disks(paths, k, platform.root)
    print(f"systemd root of {platform.name}: {debian_root.facts(paths, k, platform.root)}")


ROOT = "root=zfs:rpool/ROOT/debian"
SCENARIOS = {
    # GRUB's entries (Debian's 10_linux) always pass `ro`; nothing remounts a ZFS root that fstab
    # does not list, so the initramfs must mount it read-write, as zfs-initramfs and dracut do.
    # On Debian 13 too: the target an installer made, imaged with --root before its first boot.
    "systemd_grub_ro": SystemdBoot(f"{ROOT} ro", platforms=vmlib.BOTH),
    # ZFSBootMenu passes neither ro nor rw.
    "systemd_zbm_plain": SystemdBoot(ROOT),
    "systemd_rw": SystemdBoot(f"{ROOT} rw"),
    # The whole pool encrypted (the guide's variant): one passphrase in the initramfs; after the
    # switch zfs-mount.service mounts crpool/home and crpool/var/log with the loaded key, and
    # nothing asks again.
    "systemd_crypt": SystemdBoot("root=zfs:crpool/ROOT/debian ro", pool="crpool",
                                 interact=[(PROMPT, debian_root.PASSPHRASE + "\n")],
                                 platforms=vmlib.BOTH),
    # The guide's LUKS variant: the pool on a LUKS2 volume that the root's crypttab names luks1.
    # The initramfs opens it under that name (rd.luks.name=, as the image built on the machine
    # takes it from crypttab) with the only passphrase prompt; after the switch
    # systemd-cryptsetup@luks1 finds it open (not failed, no second prompt), zfs-import-cache
    # finds lpool imported.
    "systemd_luks": SystemdBoot(f"root=zfs:lpool/ROOT/debian ro rd.luks.name={debian_root.LUKS_UUID}="
                                f"{debian_root.LUKS_NAME}", pool="lpool",
                                interact=[(LUKS_PROMPT, debian_root.PASSPHRASE + "\n")],
                                image_args=("--add", "luks")),
    "systemd_snapshot": SystemdBoot(f"{ROOT} ro bootfs.snapshot", snapshot="rpool/ROOT/debian@{k}"),
    # rootflags=ro asks for a read-only root: it must stay read-only; systemd is not expected to
    # reach `running` on it (what it reports is recorded).
    "systemd_rootflags_ro": SystemdBoot(f"{ROOT} ro rootflags=ro", writable=False),
}
