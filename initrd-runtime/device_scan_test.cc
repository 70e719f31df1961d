// device_scan_test.cc: one read of each device serves the three scans.
#include "device_scan.h"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "test_support.h"
#include "zfs_member.h"

using namespace zinitrd::rt;
using zinitrd::test::TempDir;

namespace {

BlockDevice file_device(const TempDir& dir, const std::string& name, uint64_t size,
                        const std::string& start, const std::string& label_nvlist) {
  const std::string path = (dir / name).string();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << start;
  f.seekp(static_cast<std::streamoff>(kLabelNvlistOffset));  // the first label slot's nvlist
  f << label_nvlist;
  f.seekp(static_cast<std::streamoff>(size - 1));
  f.put('\0');
  BlockDevice d;
  d.name = name;
  d.path = path;
  d.devnum = "253:" + std::to_string(name.size());
  d.size = size;
  return d;
}

}  // namespace

TEST_CASE("device scan: a device's start and its label slots, from one read") {
  TempDir dir("device-scan");
  DeviceProbe probe(read_device_regions);
  const uint64_t size = 4 << 20;
  auto luks = file_device(dir, "vda", size, "LUKS\xba\xbe", "");
  auto member = file_device(dir, "vdb", size, "", "\x01\x01 pool_guid");
  BlockDevice absent;
  absent.name = "vdc";
  absent.path = (dir / "vdc").string();
  absent.size = size;
  auto found = scan_devices({luks, member, absent}, probe);
  REQUIRE(found.size() == 3);
  CHECK(found[0].start.size() == kDeviceStartBytes);
  CHECK(found[0].start.starts_with("LUKS\xba\xbe"));
  CHECK(found[0].label_slots.size() == 4);  // 4 MiB: the two slots at the end too
  CHECK(found[1].label_slots[0].starts_with("\x01\x01 pool_guid"));
  CHECK(is_zfs_member_label(found[1].label_slots[0]));
  CHECK_FALSE(is_zfs_member_label(found[1].label_slots[2]));
  // Not there (yet): an answer of nothing, not kept: once it exists, it is read.
  CHECK(found[2].start.empty());
  CHECK(found[2].label_slots.empty());
  file_device(dir, "vdc", size, "SWAP", "");
  found = scan_devices({absent}, probe);
  REQUIRE(found.size() == 1);
  CHECK(found[0].start.starts_with("SWAP"));
}
