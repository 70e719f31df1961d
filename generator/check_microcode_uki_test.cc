// check_microcode_uki_test.cc: the image-microcode and uki items on gathered facts.
#include "check_microcode_uki.h"

#include <doctest/doctest.h>

using namespace zinitrd::gen;

namespace {

constexpr const char* kKver = "6.1.0-28-amd64";

ImageMember member(std::string path, unsigned segment, uint64_t offset, std::string comp) {
  ImageMember m;
  m.path = std::move(path);
  m.size = 1000;
  m.segment = segment;
  m.segment_offset = offset;
  m.compression = std::move(comp);
  return m;
}

}  // namespace

TEST_CASE("image-microcode: first uncompressed segment ok and elsewhere or absent a warning") {
  ImageFacts img;
  img.exists = true;
  MicrocodeFacts intel{"GenuineIntel", "intel-microcode", true};
  img.members = {member("/kernel/x86/microcode/GenuineIntel.bin", 0, 0, "none"),
                 member("/init", 1, 2048, "zstd")};
  auto i = check_image_microcode(kKver, img, intel);
  REQUIRE(i);
  CHECK(i->state == CheckState::kOk);
  CHECK(i->id == "image-microcode");

  img.members = {member("/kernel/x86/microcode/GenuineIntel.bin", 0, 0, "zstd")};
  i = check_image_microcode(kKver, img, intel);
  REQUIRE(i);
  CHECK(i->state == CheckState::kWarn);
  CHECK(i->detail.find("where the kernel's early loader never looks") != std::string::npos);

  img.members = {member("/kernel/x86/microcode/AuthenticAMD.bin", 0, 0, "none")};  // other vendor
  i = check_image_microcode(kKver, img, intel);
  REQUIRE(i);
  CHECK(i->state == CheckState::kWarn);
  CHECK(i->fix.find("zinitrd build --kver 6.1.0-28-amd64") != std::string::npos);

  i = check_image_microcode(kKver, img, {"GenuineIntel", "intel-microcode", false});
  REQUIRE(i);
  CHECK(i->fix.find("install intel-microcode") != std::string::npos);

  CHECK_FALSE(check_image_microcode(kKver, img, {}));  // --root: the CPU is not known
  CHECK_FALSE(check_image_microcode(kKver, img, {"HygonGenuine", "", false}));
  img.exists = false;
  CHECK_FALSE(check_image_microcode(kKver, img, intel));  // the image item says it
}

TEST_CASE("uki: none is no item and each defect is named") {
  UkiFacts u;
  CHECK_FALSE(check_uki(kKver, u));
  u.exists = true;
  u.path = "/boot/efi/EFI/Linux/debian-6.1.0-28-amd64.efi";
  u.uname = kKver;
  u.cmdline = "root=zfs:AUTO";
  u.initrd_has_zfs = true;
  u.mtime = 200;
  u.module_mtime = 100;
  auto i = check_uki(kKver, u);
  REQUIRE(i);
  CHECK(i->state == CheckState::kOk);
  CHECK(i->detail.find("root=zfs:AUTO") != std::string::npos);

  UkiFacts old = u;
  old.module_mtime = 300;
  CHECK(check_uki(kKver, old)->state == CheckState::kWarn);
  UkiFacts other = u;
  other.uname = "6.1.0-27-amd64";
  CHECK(check_uki(kKver, other)->state == CheckState::kFail);
  UkiFacts nozfs = u;
  nozfs.initrd_has_zfs = false;
  CHECK(check_uki(kKver, nozfs)->state == CheckState::kFail);
  UkiFacts broken = u;
  broken.read_error = "'x' is not a bootable UKI: no .linux section";
  i = check_uki(kKver, broken);
  CHECK(i->state == CheckState::kFail);
  CHECK(i->fix.find("zinitrd build --uki --kver 6.1.0-28-amd64") != std::string::npos);
}
