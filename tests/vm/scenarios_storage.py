"""scenarios_storage: boot from every disk a real machine has (issue "Boot from every disk").

The rest of the suite boots virtio-blk disks only, so it never saw SATA, NVMe, SCSI, USB and SAS
roots fail. Here the root pool sits on each bus QEMU's q35 emulates (vmlib.BUSES), on the PATA
of QEMU's default PC (i440fx, as older machines have it) and on an SD card behind SDHCI (card
readers, eMMC boards); the marker's disks= proves which driver each disk hung off, and state=
that the pool came up whole.

QEMU's default TCG CPU lacks PCLMULQDQ, so crct10dif_pclmul fails with ENODEV: sd_mod and
nvme_core (through t10_pi -> crc_t10dif, whose softdep names it) must load anyway. A few buses
also boot on `-cpu max`, where the accelerated module loads, to cover both paths.

Also: a pool with a cache device and a hot spare (pools/55-aux.sh); dRAID with a special vdev
mirror (pools/57-draid.sh); a mirror whose members sit on two buses (the USB one appears seconds after the virtio one:
the import must wait for it, not come up DEGRADED); a mirror with one member gone for good
(DEGRADED after a bounded wait, naming what is missing); pools named like the root pool
(pools/40-namesake.sh): a foreign one that must be neither booted nor written, a twin that makes
the name ambiguous (refused, listing both GUIDs, or chosen by GUID); and a USB keyboard plugged in
while the passphrase prompt waits (its driver must be loaded then, or nobody could type); dying
disks beside the root pool's, whose every read fails.
"""
import re
import time

from scenarios_crypt import PASS, prompt
from vmlib import BOTH, DEAD_DISK, RESCUE, SLOW_DEAD_DISK, Boot, Fails

DEBIAN = dict(root="rpool/ROOT/debian", usr="rpool/ROOT/debian/usr", label="debian")
ROOT = "root=zfs:rpool/ROOT/debian"
BUSES = ("virtio-scsi", "sata", "nvme", "usb-storage", "usb-uas", "megasas", "lsi", "mptsas",
         "pvscsi", "am53c974", "ide", "sd")
CPU_MAX = ("sata", "nvme", "usb-storage")


def on_bus(bus, cpu=None):
    return Boot(ROOT, disks=(("rpool", bus),), cpu=cpu, **DEBIAN)


def status_after_import(pool):
    """The interaction of a boot stopped after the import (rd.break=pre-mount): `zpool status -P
    POOL` in the rescue shell, then exit (the boot goes on); its lines are then in the console."""
    end = f"{pool.upper()}-STATUS-END"
    return [(r"rd\.break=pre-mount: starting rescue shell", ""),
            (r"# ", f"zpool status -P {pool}; echo {end}\n"),
            (rf"^{end}", "exit\n")]


def plug_keyboard(vm):
    """Hot-plugs a USB keyboard on the xhci controller the scenario started with."""
    time.sleep(2)  # the prompt has been up a moment: the runtime is waiting on the console
    vm.qmp("device_add", driver="usb-kbd", bus="xhci.0", id="kbd")


class SlowDeadDisk(Boot):
    # The kernel's own shutdown waits for the dying disk's probe (its partition table, about 80 s
    # into the boot) before the VM powers off.
    exit_timeout = 180

    def check_console(self, text):
        """The root pool was imported before the kernel gave up on the dying disk's partition
        table (a boot that waited for that disk imports only after it)."""
        imported = text.find("zinitrd: imported pool 'rpool'")
        gave_up = re.search(r"\bsda: unable to read partition table", text)
        if imported < 0 or (gave_up and gave_up.start() < imported):
            raise AssertionError("slow_dead_disk_beside: the import waited for the dying disk "
                                 f"(import at {imported}, its partition table given up at "
                                 f"{gave_up.start() if gave_up else None})")


SCENARIOS = {
    **{f"bus_{b.replace('-', '_')}": on_bus(b) for b in BUSES},
    **{f"bus_{b.replace('-', '_')}_cpu_max": on_bus(b, cpu="max") for b in CPU_MAX},
    # The usb-storage member shows up seconds after the virtio one (xhci, then the USB device,
    # then its SCSI host and sd_mod): importing as soon as one member is there gives DEGRADED.
    "mirror_virtio_usb": Boot("root=zfs:mpool/root", disks=("mirror-a", ("mirror-b", "usb-storage")),
                              root="mpool/root", label="mirror"),
    # The other member never comes: after rd.zfs.member_wait seconds the pool is imported
    # DEGRADED, and the console says so and names what is missing on that line.
    "mirror_member_missing": Boot("root=zfs:mpool/root rd.zfs.member_wait=3", disks=("mirror-a",),
                                  root="mpool/root", label="mirror", state="DEGRADED",
                                  saw=[r"imported DEGRADED.*missing|missing.*imported DEGRADED"]),
    # Striped mirrors and a log device (three top-level vdevs), the disks spread over three buses
    # that come up at different times: /init imports from the labels only once every top-level
    # vdev and member is there, with a root vdev over all three (zfs_import_ioctl.h), and the
    # pool is ONLINE; on ZFS 2.1 and 2.3.
    "layout_striped_mirrors_log": Boot(
        "root=zfs:wpool/root", disks=(("lay-a", "sata"), ("lay-b", "nvme"), "lay-c",
                                      ("lay-d", "sata"), ("lay-log", "nvme")),
        root="wpool/root", label="layout", platforms=BOTH),
    # The same pool with a disk gone: imported DEGRADED by zpool from the listing after
    # rd.zfs.member_wait, each present member by the by-id link the pool records (made here, as
    # for the import ioctl), not renamed /dev/sdX: zpool status after the import shows them so.
    "layout_degraded_keeps_names": Boot(
        "root=zfs:wpool/root rd.zfs.member_wait=3 rd.break=pre-mount",
        disks=(("lay-a", "sata"), ("lay-b", "nvme"), "lay-c", ("lay-log", "nvme")),
        root="wpool/root", label="layout", state="DEGRADED", platforms=BOTH,
        interact=status_after_import("wpool"),
        saw=[rf"^\s+/dev/disk/by-id/virtio-{d}-part1\s+ONLINE\s+0"
             for d in ("lay-a", "lay-b", "lay-c", "lay-log")]),
    # A raidz1 root pool on three disks behind three controllers (virtio-scsi, SATA, virtio).
    "layout_raidz": Boot("root=zfs:raidpool/root", disks=(("lay-r1", "virtio-scsi"), ("lay-r2", "sata"),
                                                       "lay-r3"),
                         root="raidpool/root", label="raidz", platforms=BOTH),
    # A cache device and a hot spare, which no member's label names, on their by-id links (the
    # pool's MOS records those), a log device removed years ago (a hole among the top-level
    # vdevs; its disk, still attached, keeps the pool's old label) and the data disk
    # MBR-partitioned to its very end (the whole disk then shows the partition's last two labels
    # as its own): imported from the labels of the data disk alone, the vdev keeps its by-id
    # path, and in the shell after the import (rd.break) zpool sees the cache ONLINE and the
    # spare AVAIL, not UNAVAIL for want of a link no udev made.
    "layout_cache_spare_mbr": Boot(
        "root=zfs:auxpool/root rd.break=pre-mount",
        disks=("aux-spare", ("aux-cache", "nvme"), ("aux-data", "sata"), "aux-log"),
        root="auxpool/root", label="aux", platforms=BOTH,
        interact=status_after_import("auxpool"),
        saw=[r"imported pool 'auxpool' \(GUID \d+\) from the labels of /dev/sda1 \(the kernel's import: [\d.]+s\)$",
             r"^\s+/dev/disk/by-id/virtio-aux-data-part1\s+ONLINE\s+0",
             r"^\s+/dev/disk/by-id/virtio-aux-cache-part1\s+ONLINE\s+0",
             r"^\s+/dev/disk/by-id/virtio-aux-spare-part1\s+AVAIL\b"]),
    # dRAID (one parity, a distributed spare: a vdev with no disk of its own) over four SATA disks
    # and a special allocation class mirrored on two NVMe drives, as servers pair two SSDs with a
    # row of disks (pools/57-draid.sh): imported from the labels (the spare comes from the MOS),
    # and in the shell after the import zpool shows the special mirror ONLINE under its by-id
    # paths and the distributed spare AVAIL.
    "layout_draid_special": Boot(
        "root=zfs:drpool/root rd.break=pre-mount",
        disks=(("dr-1", "sata"), ("dr-2", "sata"), ("dr-3", "sata"), ("dr-4", "sata"),
               ("dr-s1", "nvme"), ("dr-s2", "nvme")),
        root="drpool/root", label="draid", platforms=BOTH,
        interact=status_after_import("drpool"),
        saw=[r"imported pool 'drpool' \(GUID \d+\) from the labels of .* \(the kernel's import: [\d.]+s\)$",
             r"^\s+draid1-0-0\s+AVAIL\b",
             r"^\s+special\s*$",
             *(rf"^\s+/dev/disk/by-id/virtio-{d}-part1\s+ONLINE\s+0" for d in
               ("dr-1", "dr-2", "dr-3", "dr-4", "dr-s1", "dr-s2"))]),
    # The first boot after an installation: the root pool was exported by the live system, under
    # its own hostid. No system owns it: imported from its labels without -f (zfs_label.h).
    "exported_by_installer": Boot("root=zfs:epool/root", disks=("exported",), root="epool/root",
                                  label="exported", platforms=BOTH),
    # A pool also named rpool, last used by another host, first on the bus: the real rpool is
    # booted and the foreign disk is never written (an import, even a failed -f, writes labels).
    "namesake_foreign_first": Boot(ROOT, disks=("ns-foreign", "rpool"), untouched=("ns-foreign",),
                                   **DEBIAN),
    # AUTO with zfs_force=1: the foreign namesake has a bootfs too, but it is another host's pool;
    # forcing is for this host's root pool, not for taking over another's.
    "namesake_auto_force": Boot("root=zfs:AUTO zfs_force=1", disks=("ns-foreign", "rpool"),
                                untouched=("ns-foreign",), **DEBIAN),
    # Two pools named rpool, both this host's: which one is meant cannot be guessed. Both GUIDs
    # are shown (so root=zfs:GUID/... can be written), then the rescue shell.
    "namesake_ambiguous": Fails(ROOT + " rd.timeout=10", disks=("rpool", "ns-twin"),
                                messages=[RESCUE], saw=[r"GUID(rpool)", r"GUID(nstwin)"]),
    # The same two disks, the pool named by its GUID, as initramfs-tools accepts.
    "namesake_root_by_guid": Boot("root=zfs:GUID(rpool)/ROOT/debian", disks=("ns-twin", "rpool"),
                                  **DEBIAN),
    # Dying disks beside the root pool's, every read failing with EIO: one on SATA (libata's error
    # handling retries and resets the link before it gives up) and one on virtio. The search for
    # pool labels must pass over them, and the root pool come up ONLINE.
    "dead_disks_beside": Boot(ROOT, disks=((DEAD_DISK, "sata"), "rpool", DEAD_DISK), platforms=BOTH,
                              **DEBIAN),
    # A dying disk that takes its time to fail (a second per request: libata's error handling
    # then spends a minute and more on its partition table) beside the root pool's disk: the
    # boot must not wait for the dying disk, neither in the search for labels (which the pool's
    # disk answers at once) nor for its driver's init before switch_root. What is still stuck in
    # the kernel then is left behind (strays: processes of the initramfs that end when the kernel
    # lets them).
    "slow_dead_disk_beside": SlowDeadDisk(ROOT, disks=((SLOW_DEAD_DISK, "sata"), "rpool"),
                                          strays=r"none|\d+:init(,\d+:init)*", **DEBIAN),
    # The same with a resume device to look for first (Debian's installer writes RESUME= for a
    # swap partition; this one is on no disk): the search for its swap signature must not wait
    # for the dying disk either.
    "slow_dead_disk_resume": SlowDeadDisk(ROOT + " resume=LABEL=noswap",
                                          disks=((SLOW_DEAD_DISK, "sata"), "rpool"),
                                          strays=r"none|\d+:init(,\d+:init)*", **DEBIAN),
    # A USB keyboard plugged in while the passphrase prompt waits: its drivers (usbhid,
    # hid-generic) must load then, before anything is typed; the passphrase itself comes over the
    # serial console as in scenarios_crypt.
    "usb_keyboard_at_prompt": Boot(
        "root=zfs:cpool/ROOT/pass", disks=("cpool",), root="cpool/ROOT/pass",
        usr="cpool/ROOT/pass/usr", label="crypt-pass", usbhid="yes", devices=["qemu-xhci,id=xhci"],
        interact=[(prompt("cpool/ROOT/pass", 1), plug_keyboard),
                  (r"hid-generic .*USB HID .*Keyboard", PASS, 60)]),
}
