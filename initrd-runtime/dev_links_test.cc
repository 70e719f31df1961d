// dev_links_test.cc: the /dev/disk/by-* links a label names, made in a fixture /dev as udev makes
// them, and never anywhere else.
#include "dev_links.h"

#include <doctest/doctest.h>
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
