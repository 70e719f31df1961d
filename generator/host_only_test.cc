// host_only_test.cc: the pieces of --host-only that do not need a pool on this host: the root
// pool from /proc/mounts, vdevs from zpool output, the sysfs walk on a fixture tree, and a
// host-only build with injected drivers.
#include "host_only.h"

#include <doctest/doctest.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>

#include "build.h"
#include "image_reader.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace zinitrd::gen;
using zinitrd::test::TempDir;

TEST_CASE("host-only: the root pool comes from the dataset mounted at /") {
  std::string mounts =
      "sysfs /sys sysfs rw 0 0\n"
      "rpool/ROOT/my\\040root / zfs rw,xattr,posixacl 0 0\n"
      "rpool/home /home zfs rw 0 0\n";
  auto pool = zfs_pool_mounted_at(mounts, "/");
  REQUIRE(pool.ok());
  CHECK(*pool == "rpool");
  CHECK_FALSE(zfs_pool_mounted_at("/dev/vda1 / ext4 rw 0 0\n", "/").ok());
  // The last mount on a path wins, as in the kernel.
  CHECK_FALSE(zfs_pool_mounted_at(mounts + "/dev/sda1 / ext4 rw 0 0\n", "/").ok());
}

TEST_CASE("host-only: leaf vdevs of `zpool list -vHPL`") {
  std::string out =
      "rpool\t476G\t100G\t376G\t-\t-\t5%\t21%\t1.00x\tONLINE\t-\n"
      "\tmirror-0\t476G\t100G\t376G\t-\t-\t5%\t21.0%\t-\tONLINE\n"
      "\t/dev/nvme0n1p3\t-\t-\t-\t-\t-\t-\t-\t-\tONLINE\n"
      "\t/dev/sda3\t-\t-\t-\t-\t-\t-\t-\t-\tONLINE\n"
      "cache\t-\t-\t-\t-\t-\t-\t-\t-\t-\n"
      "\t/dev/sdb1\t10G\t1G\t9G\t-\t-\t0%\t10%\t-\tONLINE\n";
  auto v = parse_zpool_vdevs(out);
  CHECK(v == std::vector<std::string>{"/dev/nvme0n1p3", "/dev/sda3", "/dev/sdb1"});
  CHECK(parse_zpool_vdevs("").empty());
}

TEST_CASE("host-only: the sysfs walk collects drivers and modaliases up to the bus") {
  TempDir sys("zinitrd-sysfs");
  fs::path pci = sys / "devices/pci0000:00/0000:00:03.0";
  fs::path disk = pci / "virtio1/block/vda";
  fs::create_directories(disk / "vda1");
  fs::create_directories(sys / "module/virtio_pci");
  fs::create_directories(sys / "module/virtio_blk");
  fs::create_directories(sys / "bus/pci/drivers/virtio-pci");
  fs::create_directories(sys / "bus/virtio/drivers/virtio_blk");
  fs::create_symlink(sys / "module/virtio_pci", sys / "bus/pci/drivers/virtio-pci/module");
  fs::create_symlink(sys / "module/virtio_blk", sys / "bus/virtio/drivers/virtio_blk/module");
  fs::create_symlink(sys / "bus/pci/drivers/virtio-pci", pci / "driver");
  fs::create_symlink(sys / "bus/virtio/drivers/virtio_blk", pci / "virtio1/driver");
  zinitrd::test::write_file(pci / "modalias",
                            "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00\n");
  zinitrd::test::write_file(pci / "virtio1/modalias", "virtio:d00000002v00001AF4\n");
  fs::create_directories(sys / "dev/block");
  fs::create_symlink(disk / "vda1", sys / "dev/block/254:1");

  DeviceDrivers d;
  REQUIRE(collect_device_drivers(sys.path().string(), makedev(254, 1), d).ok());
  CHECK(d.modules == std::vector<std::string>{"virtio_blk", "virtio_pci"});
  CHECK(d.modaliases ==
        std::vector<std::string>{"virtio:d00000002v00001AF4",
                                 "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"});
  DeviceDrivers none;
  CHECK_FALSE(collect_device_drivers(sys.path().string(), makedev(8, 0), none).ok());
}

namespace {

// A --host-only image of the installed kernel for a machine whose devices are DRIVERS, written
// to OUT/img; the build's result.
zinitrd::Result<BuildReport> build_host_only(const TempDir& out, const std::string& kver,
                                             const DeviceDrivers& drivers) {
  BuildOptions o;
  o.kver = kver;
  o.output = (out / "img").string();
  o.feature_dirs = {ZINITRD_SOURCE_DIR "/modules.d"};
  o.runtime = ZINITRD_BINARY_DIR "/lib/zinitrd/init";
  o.host_only = true;
  o.host_drivers = drivers;
  return build_image(o);
}

// True when the image OUT/img has a member whose path ends in SUFFIX.
bool image_has(const TempDir& out, std::string_view suffix) {
  auto members = list_image((out / "img").string());
  REQUIRE(members.ok());
  return std::any_of(members->begin(), members->end(),
                     [&](const ImageMember& m) { return m.path.ends_with(suffix); });
}

}  // namespace

TEST_CASE("host-only build: only the found drivers, with a warning naming what was left out") {
  std::string kver = zinitrd::test::installed_kver();
  if (zinitrd::test::installed_zfs_ko(kver).empty()) {
    return zinitrd::test::skip("no DKMS zfs.ko for '" + kver + "' (run scripts/setup-debian.sh)");
  }
  TempDir out("zinitrd-hostonly");
  auto r = build_host_only(
      out, kver,
      DeviceDrivers{{"virtio_blk"}, {"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"}});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  MESSAGE("host-only image (virtio_blk): " << r->written.compressed_bytes << " bytes, "
                                           << r->written.entries << " entries");
  auto has = [&](std::string_view suffix) { return image_has(out, suffix); };
  CHECK(has("/virtio_blk.ko"));
  CHECK(has("/virtio_pci.ko"));  // from the modalias
  CHECK(has("/zfs.ko"));
  CHECK_FALSE(has("/ahci.ko"));
  CHECK_FALSE(has("/nvme.ko"));
  CHECK(std::any_of(r->warnings.begin(), r->warnings.end(), [](const std::string& w) {
    return w.find("--host-only") != std::string::npos &&
           w.find("kernel/drivers/ata/") != std::string::npos;
  }));
}

TEST_CASE("parse_proc_modules: the names, '-' read as '_', sorted, each once") {
  CHECK(parse_proc_modules("zfs 3657728 6 - Live 0x0000000000000000 (POE)\n"
                           "xhci_pci 24576 0 - Live 0x0000000000000000\n"
                           "hid-generic 16384 0 - Live 0x0000000000000000\n\n") ==
        std::vector<std::string>{"hid_generic", "xhci_pci", "zfs"});
  CHECK(parse_proc_modules("").empty());
}

TEST_CASE("host-only build: of the driver directories, the modules this machine has loaded") {
  std::string kver = zinitrd::test::installed_kver();
  if (zinitrd::test::installed_zfs_ko(kver).empty()) {
    return zinitrd::test::skip("no DKMS zfs.ko for '" + kver + "' (run scripts/setup-debian.sh)");
  }
  TempDir out("zinitrd-hostonly-loaded");
  // The pool on virtio; a USB keyboard on xhci and an AHCI controller on this machine.
  DeviceDrivers d{{"virtio_blk"}, {"pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00"}};
  d.loaded = {"ahci", "pinctrl_alderlake", "usbhid", "xhci_hcd", "xhci_pci", "zfs"};
  auto r = build_host_only(out, kver, d);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  auto has = [&](std::string_view suffix) { return image_has(out, suffix); };
  CHECK(has("/virtio_blk.ko"));
  CHECK(has("/usbhid.ko"));          // the keyboard a passphrase is typed on
  CHECK(has("/xhci-pci.ko"));        // and its USB host controller
  CHECK(has("/ahci.ko"));            // a disk controller of this machine, loaded
  CHECK_FALSE(has("/nvme.ko"));      // none here
  CHECK_FALSE(has("/ehci-pci.ko"));  // not loaded: no such controller
  CHECK_FALSE(has("/usb-storage.ko"));
  CHECK(has("/pinctrl-alderlake.ko"));  // the GPIO controller of this laptop's i2c-HID keyboard
  // Bridges and keyboards of other machines: no VMD, no Hyper-V (nor its bus driver) here.
  for (const char* p : {"/vmd.ko", "/pci-hyperv.ko", "/hyperv-keyboard.ko", "/hv_vmbus.ko",
                        "/pinctrl-jasperlake.ko"})
    CHECK_MESSAGE(!has(p), p);
}
