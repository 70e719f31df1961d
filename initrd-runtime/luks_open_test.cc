// luks_open_test.cc: finding LUKS devices in a fixture /sys/class/block + /dev, without running
// cryptsetup (the devices a test asks for are absent or open already).
#include "luks_open.h"

#include <doctest/doctest.h>

#include "log.h"
#include "test_support.h"

using namespace zinitrd;
using namespace zinitrd::rt;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

constexpr const char* kFixtureUuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d";  // luks2-header.bin

std::string header_bytes() {
  return test::slurp(ZINITRD_SOURCE_DIR "/common/testdata/luks2-header.bin");
}

// A block device NAME in the fixture's sysfs, as the kernel describes it (dev, size, uevent).
void block(const TempDir& t, const std::string& name, int major, int minor, const char* sectors,
           const std::string& devname = "") {
  const std::string num = std::to_string(major) + ":" + std::to_string(minor);
  write_file(t / ("sys/" + name + "/dev"), num + "\n");
  write_file(t / ("sys/" + name + "/size"), std::string(sectors) + "\n");
  write_file(t / ("sys/" + name + "/uevent"),
             "MAJOR=" + std::to_string(major) + "\nMINOR=" + std::to_string(minor) +
                 "\nDEVNAME=" + (devname.empty() ? name : devname) + "\nDEVTYPE=disk\n");
}

// A machine with a partitioned disk vda whose vda1 holds the fixture LUKS2 header, and vdb.
void make_machine(const TempDir& t) {
  block(t, "vda", 254, 0, "524288");
  write_file(t / "dev/vda", std::string(4096, '\0'));
  block(t, "vda1", 254, 1, "522240");
  write_file(t / "dev/vda1", header_bytes());
  block(t, "sr0", 11, 0, "0");  // a drive without a medium: never read
}

LuksOpener opener(const TempDir& t) {
  return LuksOpener(LuksSystem{(t / "sys").string(), (t / "dev").string()});
}

}  // namespace

TEST_CASE("a target matches its device by UUID (with or without dashes), label or name") {
  LuksHeader h;
  h.uuid = kFixtureUuid;
  h.label = "zroot-a";
  LuksTarget t;
  t.uuid = kFixtureUuid;
  CHECK(luks_target_matches(t, "/dev/vda1", h));
  t.uuid = "0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d";
  CHECK(luks_target_matches(t, "/dev/vda1", h));
  t.uuid = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4e";
  CHECK_FALSE(luks_target_matches(t, "/dev/vda1", h));
  LuksTarget l;
  l.label = "zroot-a";
  CHECK(luks_target_matches(l, "/dev/vdb2", h));
  LuksTarget p;
  p.path = "/dev/vda1";
  CHECK(luks_target_matches(p, "/dev/vda1", h));
  CHECK_FALSE(luks_target_matches(p, "/dev/vdb1", h));
  CHECK_FALSE(luks_target_matches(LuksTarget{}, "/dev/vda1", h));
}

TEST_CASE("dm-crypt mappings are recognised by their dm UUID") {
  CHECK(dm_crypt_luks_uuid("CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d-cryptroot") ==
        "0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d");
  CHECK(dm_crypt_luks_uuid("CRYPT-LUKS1-0A1B2C3D4E5F4A6B8C7D9E8F7A6B5C4D-x-y") ==
        "0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d");
  CHECK(dm_crypt_luks_uuid("CRYPT-PLAIN-swap").empty());
  CHECK(dm_crypt_luks_uuid("LVM-abc").empty());
}

TEST_CASE("an absent rd.luks.uuid device: the hints name it and the LUKS device that is there") {
  log_setup(LogMode::kTool, false);
  TempDir t;
  make_machine(t);
  BootConfig config;
  LuksRequest request;
  request.uuids = {"11111111-2222-4333-8444-555555555555"};
  LuksOpener o = opener(t);
  o.configure(config, request);
  REQUIRE(o.wanted());
  CHECK_FALSE(o.open_present(nullptr, {}, {}));  // nothing to open: not an error by itself
  auto hints = o.missing_hints();
  REQUIRE(hints.size() == 2);
  CHECK(hints[0].find("'luks-11111111-2222-4333-8444-555555555555'") != std::string::npos);
  CHECK(hints[0].find("rd.luks.uuid=") != std::string::npos);
  CHECK(hints[0].find("no block device has a LUKS header with UUID 11111111") != std::string::npos);
  CHECK(hints[1].find(std::string("/dev/vda1 (UUID ") + kFixtureUuid + ", label zroot-a)") !=
        std::string::npos);
}

TEST_CASE("a device open already (an earlier try, the rescue shell) is not opened again") {
  log_setup(LogMode::kTool, false);
  TempDir t;
  make_machine(t);
  block(t, "dm-0", 253, 0, "489472");
  write_file(t / "sys/dm-0/dm/uuid", "CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d-cryptroot\n");
  write_file(t / "sys/dm-0/dm/name", "cryptroot\n");
  BootConfig config;
  config.luks = {{"cryptroot", std::string("UUID=") + kFixtureUuid, "", {}}};
  LuksOpener o = opener(t);
  o.configure(config, {});
  CHECK_FALSE(o.open_present(nullptr, {}, {}));
  CHECK(o.missing_hints().empty());  // opened, and no LUKS device is left unclaimed
}

TEST_CASE("an image that opens nothing says which LUKS devices are there") {
  log_setup(LogMode::kTool, false);
  TempDir t;
  make_machine(t);
  BootConfig config;
  LuksOpener o = opener(t);
  o.configure(config, {});
  CHECK_FALSE(o.wanted());
  CHECK_FALSE(o.open_present(nullptr, {}, {}));
  auto hints = o.missing_hints();
  REQUIRE(hints.size() == 1);
  CHECK(hints[0].find("that nothing opens: ") != std::string::npos);
  CHECK(hints[0].find("/dev/vda1 (UUID ") != std::string::npos);
}

TEST_CASE("a LUKS device whose node the kernel names in a subdirectory is found at that node") {
  log_setup(LogMode::kTool, false);
  TempDir t;
  // A Smart Array controller's partition: sysfs says cciss!c0d0p1, its node is /dev/cciss/c0d0p1.
  block(t, "cciss!c0d0p1", 104, 1, "522240", "cciss/c0d0p1");
  write_file(t / "dev/cciss/c0d0p1", header_bytes());
  BootConfig config;
  LuksOpener o = opener(t);
  o.configure(config, {});
  CHECK_FALSE(o.open_present(nullptr, {}, {}));
  auto hints = o.missing_hints();
  REQUIRE(hints.size() == 1);
  CHECK(hints[0].find(std::string("/dev/cciss/c0d0p1 (UUID ") + kFixtureUuid) != std::string::npos);
}
