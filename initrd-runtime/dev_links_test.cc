// dev_links_test.cc: the /dev/disk/by-* links a label names, made in a fixture /dev as udev makes
// them, and never anywhere else.
#include "dev_links.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

using namespace zinitrd::rt;
using zinitrd::test::TempDir;

namespace fs = std::filesystem;

TEST_CASE("dev links: only /dev/disk/by-KIND/NAME with udev's characters may be made") {
  CHECK(creatable_dev_link("/dev/disk/by-id/ata-Samsung_SSD_860_EVO_1TB_S3Z9NB0K123456A-part3"));
  CHECK(creatable_dev_link("/dev/disk/by-id/nvme-eui.0025385b71b07e2f-part1"));
  CHECK(creatable_dev_link("/dev/disk/by-partuuid/6c9c1b6e-01"));
  CHECK(creatable_dev_link("/dev/disk/by-path/pci-0000:00:1f.2-ata-1.0-part1"));
  CHECK(creatable_dev_link("/dev/disk/by-id/usb-Kingston_DataTraveler\\x203.0-0:0-part1"));
  CHECK_FALSE(creatable_dev_link("/dev/sda1"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id/../../../etc/passwd"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id/./x"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id/a/b"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id/"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id/a b"));
  CHECK_FALSE(creatable_dev_link("/dev/disk/by-id//x"));
  CHECK_FALSE(creatable_dev_link("/etc/disk/by-id/x"));
}

TEST_CASE("dev links: the label's link is made to the device it was read on, as udev would") {
  TempDir t("zinitrd-devlinks");
  fs::create_directories(t / "/dev");
  std::ofstream(t / "/dev/sda3") << "disk";
  std::ofstream(t / "/dev/sdb3") << "other";
  const std::string root = t.path().string();
  const std::string by_id = "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3";
  CHECK(leaf_device_path(by_id, "/dev/sda3", root) == by_id);
  CHECK(fs::read_symlink(t / by_id) == "../../sda3");
  CHECK(fs::equivalent(t / by_id, t / "/dev/sda3"));
  // Asked again (a retry), the link is there already and leads to the device: kept.
  CHECK(leaf_device_path(by_id, "/dev/sda3", root) == by_id);
  // A link of that name leading to another disk is not replaced: the device is used.
  CHECK(leaf_device_path(by_id, "/dev/sdb3", root) == "/dev/sdb3");
  // A plain device name recorded on another system, or anything unsafe: the device.
  CHECK(leaf_device_path("/dev/vdc1", "/dev/sda3", root) == "/dev/sda3");
  CHECK(leaf_device_path("/dev/disk/by-id/../../x", "/dev/sda3", root) == "/dev/sda3");
  CHECK_FALSE(fs::exists(t / "/x"));
  CHECK(leaf_device_path("", "/dev/sda3", root) == "/dev/sda3");
  CHECK(leaf_device_path("/dev/sda3", "/dev/sda3", root) == "/dev/sda3");
}

TEST_CASE("dev links: a recorded node of the same block device is kept (/dev/mapper/NAME)") {
  // cryptsetup without udev makes /dev/mapper/NAME a node of its own, not a link to /dev/dm-0:
  // the pool records the mapper path, and must keep it.
  TempDir t("zinitrd-devlinks");
  fs::create_directories(t / "/dev/mapper");
  const std::string root = t.path().string();
  const dev_t dm0 = makedev(253, 0), dm1 = makedev(253, 1);
  if (::mknod((root + "/dev/dm-0").c_str(), S_IFBLK | 0600, dm0) != 0) {
    return zinitrd::test::skip(
        "mknod of a block device node in $TMPDIR needs root (the suite's "
        "test command runs as root)");
  }
  REQUIRE(::mknod((root + "/dev/mapper/luks1").c_str(), S_IFBLK | 0600, dm0) == 0);
  REQUIRE(::mknod((root + "/dev/mapper/luks2").c_str(), S_IFBLK | 0600, dm1) == 0);
  CHECK(leaf_device_path("/dev/mapper/luks1", "/dev/dm-0", root) == "/dev/mapper/luks1");
  // Another mapping's node (a name the other device has now): the device read.
  CHECK(leaf_device_path("/dev/mapper/luks2", "/dev/dm-0", root) == "/dev/dm-0");
  // A regular file is never taken for a device node.
  std::ofstream(t / "/dev/mapper/plain") << "x";
  CHECK(leaf_device_path("/dev/mapper/plain", "/dev/dm-0", root) == "/dev/dm-0");
}
