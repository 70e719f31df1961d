// pe_file_test.cc: PE32+ headers read back, the checksum as objcopy and the stub's build compute
// it, and the timestamp rewrite that makes a UKI reproducible.
#include "pe_file.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "test_support.h"
#include "uki.h"

using namespace zinitrd::gen;

namespace {

void put(std::string& d, size_t off, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) d[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A minimal PE32+ image: DOS header, "PE\0\0" at 0x80, an optional header of 240 bytes and one
// section ".text" (RVA 0x1000, 0x200 bytes at file offset 0x400).
std::string tiny_pe() {
  std::string d(0x600, '\0');
  d[0] = 'M';
  d[1] = 'Z';
  put(d, 0x3c, 0x80, 4);
  d.replace(0x80, 4, std::string("PE\0\0", 4));
  size_t coff = 0x84, opt = coff + 20;
  put(d, coff, 0x8664, 2);     // Machine
  put(d, coff + 2, 1, 2);      // NumberOfSections
  put(d, coff + 4, 12345, 4);  // TimeDateStamp
  put(d, coff + 16, 240, 2);   // SizeOfOptionalHeader
  put(d, opt, 0x20b, 2);       // PE32+
  put(d, opt + 24, 0x140000000, 8);
  put(d, opt + 32, 0x1000, 4);
  put(d, opt + 36, 0x200, 4);
  put(d, opt + 56, 0x2000, 4);
  size_t sec = opt + 240;
  d.replace(sec, 5, ".text");
  put(d, sec + 8, 0x1f0, 4);
  put(d, sec + 12, 0x1000, 4);
  put(d, sec + 16, 0x200, 4);
  put(d, sec + 20, 0x400, 4);
  for (size_t i = 0x400; i < 0x5f0; ++i) d[i] = static_cast<char>(i * 7);
  return d;
}

uint32_t le32(std::string_view d, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[off + i]);
  return v;
}

}  // namespace

TEST_CASE("pe: headers and sections of a PE32+ image") {
  std::string d = tiny_pe();
  auto pe = parse_pe(d, "tiny");
  REQUIRE(pe.ok());
  CHECK(pe->machine == 0x8664);
  CHECK(pe->image_base == 0x140000000);
  CHECK(pe->section_alignment == 0x1000);
  REQUIRE(pe->sections.size() == 1);
  CHECK(pe->sections[0].name == ".text");
  CHECK(pe->end_rva(0x1000) == 0x2000);
  REQUIRE(pe->find(".text"));
  CHECK(pe_section_data(d, *pe->find(".text")).size() == 0x1f0);
  CHECK(pe->find(".linux") == nullptr);

  for (auto [bad, why] : {std::pair<std::string, std::string>{"", "no MZ header"},
                          {d.substr(0, 0xa0), "truncated optional header"},
                          {"MZ" + std::string(0x50, '\0'), "no PE signature"}}) {
    auto r = parse_pe(bad, "bad.efi");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("'bad.efi' is not a PE32+ EFI image (" + why) !=
          std::string::npos);
  }
}

TEST_CASE("pe: the timestamp is rewritten and the checksum follows it") {
  std::string d = tiny_pe();
  REQUIRE(set_pe_timestamp(d, 1700000000).ok());
  CHECK(le32(d, 0x84 + 4) == 1700000000);
  auto sum = pe_checksum(d);
  REQUIRE(sum.ok());
  CHECK(le32(d, 0x84 + 20 + 64) == *sum);
  std::string again = tiny_pe();
  REQUIRE(set_pe_timestamp(again, 1700000000).ok());
  CHECK(again == d);
  REQUIRE(set_pe_timestamp(again, 1).ok());
  CHECK(le32(again, 0x84 + 20 + 64) != *sum);
  std::string not_pe = "hello";
  CHECK_FALSE(set_pe_timestamp(not_pe, 0).ok());
}

TEST_CASE("pe: the checksum agrees with the one systemd's stub was built with") {
  if (!std::filesystem::exists(kUkiStubPath))
    return zinitrd::test::skip(std::string(kUkiStubPath) +
                               " is not installed (package systemd-boot-efi; run "
                               "scripts/setup-debian.sh)");
  std::string stub = zinitrd::test::slurp(kUkiStubPath);
  auto pe = parse_pe(stub, kUkiStubPath);
  REQUIRE(pe.ok());
  CHECK(pe->machine == 0x8664);
  CHECK(pe->find(".text") != nullptr);
  size_t coff = le32(stub, 0x3c) + 4;
  uint32_t stored = le32(stub, coff + 20 + 64);
  REQUIRE(stored != 0);
  auto sum = pe_checksum(stub);
  REQUIRE(sum.ok());
  CHECK(*sum == stored);
}
