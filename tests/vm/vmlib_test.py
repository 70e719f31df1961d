#!/usr/bin/env python3
"""vmlib_test: the harness's own rules that decide a boot's fate (label `unit`, no VM runs).

died_before_init lets a scenario boot once more only when the kernel faulted on its own before
the initramfs ran, or stalled before it began to unpack it; every failure that may be zinitrd's
must stay a failure.
"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmlib  # noqa: E402

BOOT = "[   1.28] [    0.000000] Command line: console=ttyS0 root=zfs:rpool/ROOT/debian\n"


def oops(modules):
    return ("[   4.77] [    1.949490] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n"
            "[   4.77] [    1.949600] RIP: 0010:sched_clock_tick+0x5/0x60\n"
            f"[   4.77] [    1.953173] Modules linked in:{modules}\n"
            "[   4.77] [    1.953823] Kernel panic - not syncing: Fatal exception in interrupt\n")


class DiedBeforeInit(unittest.TestCase):
    def verdict(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
            f.write(text)
            f.flush()
            return vmlib.died_before_init(f.name)

    def test_an_oops_with_no_module_loaded_and_no_zinitrd_line_is_the_emulators(self):
        self.assertIn("int3", self.verdict(BOOT + oops("")))

    def test_an_oops_once_modules_are_loaded_is_a_result(self):
        self.assertIsNone(self.verdict(BOOT + oops(" zfs(PO) spl(O) virtio_blk")))

    def test_an_oops_after_zinitrd_spoke_is_a_result(self):
        text = BOOT + "[   4.19] [    3.55] zinitrd: zinitrd 0.1.0 starting\n" + oops("")
        self.assertIsNone(self.verdict(text))

    def test_a_panic_of_the_images_making_is_a_result(self):
        for reason in ("No working init found.", "Attempted to kill init! exitcode=0x00000100",
                       "VFS: Unable to mount root fs on unknown-block(0,0)"):
            text = BOOT + f"[   4.77] [    1.95] Kernel panic - not syncing: {reason}\n"
            self.assertIsNone(self.verdict(text), reason)

    def test_a_kernel_stalled_before_the_initramfs_is_the_emulators(self):
        text = BOOT + ("[   1.19] [    0.958000] NET: Registered PF_INET protocol family\n"
                       "[   1.19] [    0.960110] IP idents hash table entries: 16384 (order: 5)\n")
        self.assertIn("stalled before it unpacked the initramfs", self.verdict(text))
        self.assertIn("IP idents hash table", self.verdict(text))

    def test_a_stall_once_the_initramfs_is_unpacked_is_a_result(self):
        unpacked = BOOT + "[   1.53] [    1.057432] Trying to unpack rootfs image as initramfs...\n"
        self.assertIsNone(self.verdict(unpacked))
        quiet = BOOT.replace("root=zfs", "quiet root=zfs")  # too little logged to tell
        self.assertIsNone(self.verdict(quiet))
        self.assertIsNone(self.verdict("[   0.10] SeaBIOS (version 1.16.2)\n"))  # no kernel yet

    def test_a_boot_that_never_faulted_is_a_result(self):
        self.assertIsNone(self.verdict(BOOT + "[   9.0] ZINITRD-TEST-MARKER root=x usr=none\n"))
        self.assertIsNone(vmlib.died_before_init("/nonexistent/zinitrd-test.log"))


class DriveArgs(unittest.TestCase):
    def devices(self, args):
        return [args[i + 1] for i, a in enumerate(args) if a == "-device"]

    def test_virtio_disks_past_the_root_bus_go_behind_bridges(self):
        n = vmlib.VIRTIO_ON_ROOT + 31 + 2  # the root bus's share, one full bridge, two more
        devs = self.devices(vmlib.drive_args([(f"/d{i}", "virtio-blk", f"s{i}") for i in range(n)]))
        bridges = [d for d in devs if d.startswith("pci-bridge")]
        self.assertEqual(bridges, ["pci-bridge,id=vbr0,chassis_nr=1,shpc=off",
                                   "pci-bridge,id=vbr1,chassis_nr=2,shpc=off"])
        disks = [d for d in devs if d.startswith("virtio-blk-pci")]
        self.assertEqual(len(disks), n)
        self.assertTrue(all(",bus=" not in d for d in disks[:vmlib.VIRTIO_ON_ROOT]))
        self.assertIn("bus=vbr0,addr=0x1,serial=s24", disks[vmlib.VIRTIO_ON_ROOT])
        self.assertIn("bus=vbr0,addr=0x1f,", disks[vmlib.VIRTIO_ON_ROOT + 30])
        self.assertIn("bus=vbr1,addr=0x1,", disks[vmlib.VIRTIO_ON_ROOT + 31])
        # a bridge is declared before the first disk on it
        self.assertLess(devs.index(bridges[1]), devs.index(disks[vmlib.VIRTIO_ON_ROOT + 31]))

    def test_a_scenario_with_few_disks_has_no_bridge(self):
        devs = self.devices(vmlib.drive_args(["/a", ("/b", "sata"), "/c"]))
        self.assertFalse(any("bridge" in d or ",bus=vbr" in d for d in devs))

    def test_an_ide_disk_boots_the_pc_machine_and_q35_otherwise(self):
        self.assertEqual(vmlib.machine_for([("/a", "ide")]), "pc")
        self.assertEqual(vmlib.machine_for(["/a", ("/b", "sata")]), "q35")
        self.assertEqual(vmlib.machine_for([]), "q35")
        with self.assertRaises(AssertionError):
            vmlib.machine_for([("/a", "ide"), ("/b", "sata")])

    def test_a_bus_takes_no_more_disks_than_it_has_room_for(self):
        devs = self.devices(vmlib.drive_args([("/a", "ide"), ("/b", "ide")]))
        self.assertEqual(devs, ["ide-hd,bus=ide.0,unit=0,drive=d0", "ide-hd,bus=ide.0,unit=1,drive=d1"])
        self.assertEqual(self.devices(vmlib.drive_args([("/a", "sd")])), ["sdhci-pci,id=sd", "sd-card,drive=d0"])
        with self.assertRaises(AssertionError):
            vmlib.drive_args([("/a", "sd"), ("/b", "sd")])


if __name__ == "__main__":
    unittest.main()
