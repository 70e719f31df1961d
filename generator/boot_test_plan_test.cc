// boot_test_plan_test.cc: the boot test's command line, disk bus, QEMU argv and console reading.
#include "boot_test_plan.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace zinitrd;
using namespace zinitrd::gen;

namespace {

size_t count(const std::vector<std::string>& v, std::string_view part) {
  return std::count_if(v.begin(), v.end(),
                       [&](const std::string& s) { return s.find(part) != std::string::npos; });
}

}  // namespace

TEST_CASE("boot-test command line: the machine's, without its console and boot loader words") {
  std::vector<std::string> dropped;
  std::string c = boot_test_cmdline(
      "BOOT_IMAGE=/vmlinuz-6.1.0-57-amd64 root=ZFS=rpool/ROOT/debian ro quiet console=tty0 "
      "console=ttyS1,115200n8 rd.foo=\"a b\" initrd=\\initrd.img panic=10 -- single",
      false, &dropped);
  CHECK(c ==
        "root=ZFS=rpool/ROOT/debian ro quiet rd.foo=\"a b\" console=ttyS0 panic=-1 "
        "zinitrd.boot_test=1");
  CHECK(dropped == std::vector<std::string>{"BOOT_IMAGE=/vmlinuz-6.1.0-57-amd64", "console=tty0",
                                            "console=ttyS1,115200n8", "initrd=\\initrd.img",
                                            "panic=10", "the init arguments after --"});
  // Under TCG the kernel's timer check is skipped; a test switch already there is not doubled.
  CHECK(boot_test_cmdline("root=zfs:AUTO zinitrd.boot_test=0", true, nullptr) ==
        "root=zfs:AUTO no_timer_check console=ttyS0 panic=-1 zinitrd.boot_test=1");
  CHECK(boot_test_cmdline("", false, nullptr) == "console=ttyS0 panic=-1 zinitrd.boot_test=1");
  // A quoted word with a space stays one word, even when its key is one we drop.
  CHECK(boot_test_cmdline("\"console=a b\" x", false, nullptr) ==
        "x console=ttyS0 panic=-1 zinitrd.boot_test=1");
}

TEST_CASE("boot-test disk bus: a controller whose driver the image has") {
  auto with = [](std::set<std::string> mods) {
    return choose_disk_bus([mods](std::string_view m) { return mods.count(std::string(m)) > 0; });
  };
  CHECK(with({"virtio_blk", "virtio_pci", "nvme", "ahci", "sd_mod"}) == DiskBus::kVirtio);
  CHECK(with({"virtio_blk", "nvme"}) == DiskBus::kNvme);  // virtio_blk without virtio_pci
  CHECK(with({"ahci", "sd_mod"}) == DiskBus::kSata);
  CHECK(with({"ahci"}) == std::nullopt);  // no sd_mod: no /dev/sdX
  CHECK(with({"virtio_scsi", "virtio_pci", "sd_mod"}) == DiskBus::kScsi);
  CHECK(with({"mpt3sas", "sd_mod"}) == std::nullopt);
}

TEST_CASE("boot-test QEMU argv: every real disk read-only, under a qcow2 overlay") {
  VmPlan p;
  p.kernel = "/boot/vmlinuz-k";
  p.initrd = "/boot/initrd.img-k";
  p.append = "root=zfs:rpool/ROOT/debian console=ttyS0";
  p.console_file = "/var/tmp/x/console";
  p.disks = {{"/dev/sda3", true, "raw", "/var/tmp/x/0.qcow2"},
             {"/srv/a,b.qcow2", false, "qcow2", "/var/tmp/x/1.qcow2"}};
  auto a = qemu_argv(p);
  CHECK(a[0] == "qemu-system-x86_64");
  CHECK(count(a, "file:/var/tmp/x/console") == 1);
  CHECK(count(a, "-nic") == 1);
  CHECK(std::find(a.begin(), a.end(), "none") != a.end());
  CHECK(count(a, "kvm") == 0);
  CHECK(count(a,
              "driver=host_device,node-name=base0-file,filename=/dev/sda3,read-only=on,"
              "cache.direct=on") == 1);
  CHECK(count(a, "driver=raw,node-name=base0,file=base0-file,read-only=on") == 1);
  CHECK(count(a, "driver=file,node-name=base1-file,filename=/srv/a,,b.qcow2,read-only=on") == 1);
  CHECK(count(a, "driver=qcow2,node-name=base1,file=base1-file,read-only=on") == 1);
  CHECK(count(a, "file.filename=/var/tmp/x/0.qcow2,backing=base0") == 1);
  CHECK(count(a, "file.filename=/var/tmp/x/1.qcow2,backing=base1") == 1);
  // Every node of a real disk is read-only; only the overlays are written.
  CHECK(count(a, "node-name=base") == 4);
  CHECK(count(a, "read-only=on") == 4);
  CHECK(count(a, "virtio-blk-pci,drive=disk") == 2);
  p.kvm = true;
  p.bus = DiskBus::kSata;
  a = qemu_argv(p);
  CHECK(count(a, "kvm") == 1);
  CHECK(count(a, "tcg") == 1);  // the fallback
  CHECK(count(a, "ide-hd,drive=disk1,bus=ide.1") == 1);
  p.bus = DiskBus::kScsi;
  a = qemu_argv(p);
  CHECK(count(a, "virtio-scsi-pci,id=scsi0") == 1);
  CHECK(count(a, "scsi-hd,drive=disk0,bus=scsi0.0") == 1);
  p.bus = DiskBus::kNvme;
  CHECK(count(qemu_argv(p), "nvme,drive=disk1,serial=zinitrd1") == 1);
}

TEST_CASE("boot-test console: verdict, boot log, zinitrd's kernel log lines, a panic") {
  std::string console =
      "[    0.000000] Linux version 6.1.0-57-amd64\r\n"
      "zinitrd: zinitrd.boot_test: rpool/ROOT/debian mounted and /sbin/init found in it\r\n"
      "\r\n"
      "ZINITRD-BOOT-LOG [    2.499000] zinitrd 0.1.0 starting\r\n"
      "[    3.1] random: crng init done\r\n"
      "ZINITRD-BOOT-LOG [    5.361000] mounted rpool/ROOT/debian on /sysroot\r\n"
      "ZINITRD-BOOT-VERDICT result=PASS stage=switch_root root=rpool/ROOT/debian "
      "init=/sbin/init children=1 t.kernel=2.499 t.total=5.365\r\n"
      "[    5.519654] reboot: Power down\r\n";
  auto f = read_console(console);
  REQUIRE(f.verdict);
  CHECK(f.verdict->pass);
  CHECK(f.verdict->root == "rpool/ROOT/debian");
  CHECK(f.boot_log == std::vector<std::string>{"[    2.499000] zinitrd 0.1.0 starting",
                                               "[    5.361000] mounted rpool/ROOT/debian on "
                                               "/sysroot"});
  REQUIRE(f.zinitrd_lines.size() == 1);
  CHECK(f.zinitrd_lines[0].rfind("zinitrd.boot_test: rpool", 0) == 0);
  CHECK(f.panic.empty());
  CHECK(f.tail.size() == 8);

  auto p = read_console(
      "[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n"
      "[    2.2] ---[ end Kernel panic\n");
  CHECK_FALSE(p.verdict);
  CHECK(p.panic ==
        "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)");
  CHECK(read_console("").tail.empty());
}
