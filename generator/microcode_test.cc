// microcode_test.cc: which microcode files each mode chooses, and the early segment's layout as
// `zinitrd ls` and as the kernel's find_cpio_data() read it.
#include "microcode.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "fd.h"
#include "image_reader.h"
#include "image_writer.h"
#include "test_support.h"

using namespace zinitrd::gen;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

// Two processors of an Intel i7-8650U (family 6 model 142 stepping 10) as /proc/cpuinfo shows.
constexpr const char* kIntelCpuinfo =
    "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\n"
    "model name\t: Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\nstepping\t: 10\nmicrocode\t: 0xf4\n\n"
    "processor\t: 1\nvendor_id\t: GenuineIntel\ncpu family\t: 7\nmodel\t\t: 1\nstepping\t: 1\n\n";
// An AMD Ryzen (family 25 = 0x19, the kernel's family with the extended part added).
constexpr const char* kAmdCpuinfo =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 80\nstepping\t: 0\n";

// A root holding both vendors' packages as Debian installs them (a few files each).
void make_microcode_root(const TempDir& root) {
  write_file(root / "/lib/firmware/intel-ucode/06-8e-0a", "INTEL-068E0A");
  write_file(root / "/lib/firmware/intel-ucode/06-9e-0d.initramfs", "INTEL-069E0D");
  write_file(root / "/lib/firmware/intel-ucode/README", "not microcode");
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd.bin", "AMD-OLD");
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd_fam19h.bin", "AMD-19H");
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd_fam17h.bin", "AMD-17H");
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd_fam19h.bin.asc", "signature");
}

MicrocodePlan plan(const TempDir& root, MicrocodeMode mode, bool host_only, const char* cpuinfo) {
  MicrocodeOptions o;
  o.mode = mode;
  o.host_only = host_only;
  o.cpu = parse_cpuinfo(cpuinfo);
  return plan_microcode(RootFs(root.path().string()), o);
}

std::vector<std::string> sources_of(const MicrocodePlan& p, std::string_view vendor) {
  for (const auto& b : p.blobs)
    if (b.vendor == vendor) return b.sources;
  return {};
}

// The kernel's find_cpio_data() (lib/earlycpio.c) reduced to what it does: walk newc headers from
// offset 0, each header and name padded to 4 bytes, data padded to 4 bytes, until a header is
// not "070701"/"070702"; return the data of NAME. Any layout the kernel would not read fails here.
std::optional<std::string> kernel_find_cpio_data(std::string_view d, std::string_view name) {
  size_t p = 0;
  auto hex = [&](size_t at) { return std::stoul(std::string(d.substr(at, 8)), nullptr, 16); };
  while (p + 110 <= d.size()) {
    if (d.substr(p, 6) != "070701" && d.substr(p, 6) != "070702") return std::nullopt;
    size_t filesize = hex(p + 6 + 6 * 8), namesize = hex(p + 6 + 11 * 8);
    std::string_view n = d.substr(p + 110, namesize - 1);
    size_t data = (p + 110 + namesize + 3) & ~size_t{3};
    if (n == name) return std::string(d.substr(data, filesize));
    if (n == "TRAILER!!!") return std::nullopt;
    p = (data + filesize + 3) & ~size_t{3};
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("microcode: --microcode names and the CPU /proc/cpuinfo describes") {
  CHECK(*parse_microcode_mode("auto") == MicrocodeMode::kAuto);
  CHECK(*parse_microcode_mode("all") == MicrocodeMode::kAll);
  CHECK(*parse_microcode_mode("none") == MicrocodeMode::kNone);
  auto bad = parse_microcode_mode("intel");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("auto (this CPU's vendor), all (every vendor) or none") !=
        std::string::npos);

  CpuId intel = parse_cpuinfo(kIntelCpuinfo);  // the first processor only
  CHECK(intel.vendor == "GenuineIntel");
  CHECK(intel.family == 6);
  CHECK(intel.model == 142);
  CHECK(intel.stepping == 10);
  CpuId amd = parse_cpuinfo(kAmdCpuinfo);
  CHECK(amd.vendor == "AuthenticAMD");
  CHECK(amd.family == 0x19);
  CHECK(parse_cpuinfo("").vendor.empty());
  CHECK(microcode_image_path("GenuineIntel") == "kernel/x86/microcode/GenuineIntel.bin");
}

TEST_CASE("microcode: auto takes this CPU's vendor and --host-only its own files and all both") {
  TempDir root("zinitrd-ucode");
  make_microcode_root(root);
  const std::string i = "/lib/firmware/intel-ucode/", a = "/lib/firmware/amd-ucode/";

  auto p = plan(root, MicrocodeMode::kAuto, false, kIntelCpuinfo);
  REQUIRE(p.blobs.size() == 1);
  CHECK(sources_of(p, "GenuineIntel") ==
        std::vector<std::string>{i + "06-8e-0a", i + "06-9e-0d.initramfs"});  // README is not
  CHECK(p.warnings.empty());

  p = plan(root, MicrocodeMode::kAuto, true, kIntelCpuinfo);
  CHECK(sources_of(p, "GenuineIntel") == std::vector<std::string>{i + "06-8e-0a"});

  p = plan(root, MicrocodeMode::kAuto, true, kAmdCpuinfo);
  REQUIRE(p.blobs.size() == 1);
  CHECK(sources_of(p, "AuthenticAMD") == std::vector<std::string>{a + "microcode_amd_fam19h.bin"});

  p = plan(root, MicrocodeMode::kAuto, false, kAmdCpuinfo);
  CHECK(sources_of(p, "AuthenticAMD") ==
        std::vector<std::string>{a + "microcode_amd.bin", a + "microcode_amd_fam17h.bin",
                                 a + "microcode_amd_fam19h.bin"});  // not the .asc

  // all: both vendors, whatever this CPU is; --host-only does not narrow `all`.
  for (bool host_only : {false, true}) {
    p = plan(root, MicrocodeMode::kAll, host_only, kIntelCpuinfo);
    REQUIRE(p.blobs.size() == 2);
    CHECK(sources_of(p, "GenuineIntel").size() == 2);
    CHECK(sources_of(p, "AuthenticAMD").size() == 3);
  }

  p = plan(root, MicrocodeMode::kNone, false, kIntelCpuinfo);
  CHECK(p.blobs.empty());
  CHECK(p.warnings.empty());

  // A CPU with nothing in the package: no segment and no warning (nothing to update).
  p = plan(root, MicrocodeMode::kAuto, true,
           "vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 1\nstepping\t: 1\n");
  CHECK(p.blobs.empty());
  CHECK(p.warnings.empty());
  CHECK(p.summary.find("has no update for GenuineIntel family 0x06 model 0x01") !=
        std::string::npos);

  // Another vendor (QEMU's TCG CPU may say so): nothing to carry, nothing to fix.
  p = plan(root, MicrocodeMode::kAuto, false, "vendor_id\t: HygonGenuine\n");
  CHECK(p.blobs.empty());
  CHECK(p.warnings.empty());
}

TEST_CASE("microcode: a vendor package that is not installed is a warning naming it") {
  TempDir root("zinitrd-ucode");
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd_fam19h.bin", "AMD-19H");
  auto p = plan(root, MicrocodeMode::kAuto, false, kIntelCpuinfo);
  CHECK(p.blobs.empty());
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("install intel-microcode") != std::string::npos);
  CHECK(p.warnings[0].find("non-free-firmware") != std::string::npos);
  p = plan(root, MicrocodeMode::kAll, false, kIntelCpuinfo);
  CHECK(p.blobs.size() == 1);  // AMD's, and a warning for Intel's
  CHECK(p.warnings.size() == 1);
}

TEST_CASE("microcode: auto for another machine takes the root's installed vendors, not this CPU") {
  TempDir root("zinitrd-ucode");
  MicrocodeOptions o;
  o.other_machine = true;
  o.cpu = parse_cpuinfo(kIntelCpuinfo);  // must not matter: it is not the target's CPU
  write_file(root / "/lib/firmware/amd-ucode/microcode_amd_fam19h.bin", "AMD-19H");
  auto p = plan_microcode(RootFs(root.path().string()), o);
  REQUIRE(p.blobs.size() == 1);
  CHECK(p.blobs[0].vendor == "AuthenticAMD");
  CHECK(p.warnings.empty());
  CHECK(p.summary.find("the root's packages") != std::string::npos);

  make_microcode_root(root);
  p = plan_microcode(RootFs(root.path().string()), o);
  CHECK(p.blobs.size() == 2);

  TempDir bare("zinitrd-ucode");
  p = plan_microcode(RootFs(bare.path().string()), o);
  CHECK(p.blobs.empty());
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("install the package of the CPU this root boots on") !=
        std::string::npos);
}

TEST_CASE("microcode: the segment comes first uncompressed and 4-byte aligned then the archive") {
  TempDir root("zinitrd-ucode");
  make_microcode_root(root);
  RootFs fs(root.path().string());
  auto p = plan(root, MicrocodeMode::kAll, false, kIntelCpuinfo);
  auto early = microcode_tree(fs, p);
  REQUIRE(early.ok());

  ImageTree main_tree;
  REQUIRE(main_tree.add_data("/init", "#!/bin/sh\n").ok());
  REQUIRE(main_tree.add_data("/etc/odd-size", "12345").ok());
  auto write = [&](const std::string& path) {
    zinitrd::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd.valid());
    auto n = write_microcode_segment(*early, 1700000000, fd.get());
    REQUIRE(n.ok());
    CHECK(*n % 4 == 0);
    CHECK(static_cast<uint64_t>(::lseek(fd.get(), 0, SEEK_CUR)) == *n);
    WriteOptions w;
    w.compression = Compression::kZstd;
    w.mtime = 1700000000;
    REQUIRE(write_image(main_tree, w, fd.get()).ok());
    return *n;
  };
  uint64_t early_bytes = write((root / "a.img").string());
  write((root / "b.img").string());
  std::string bytes = zinitrd::test::slurp(root / "a.img");
  CHECK(bytes == zinitrd::test::slurp(root / "b.img"));  // reproducible

  // The kernel's reading: newc from byte 0, the blobs are the files concatenated in order.
  CHECK(bytes.substr(0, 6) == "070701");
  CHECK(kernel_find_cpio_data(bytes, "kernel/x86/microcode/GenuineIntel.bin") ==
        std::optional<std::string>("INTEL-068E0AINTEL-069E0D"));
  CHECK(kernel_find_cpio_data(bytes, "kernel/x86/microcode/AuthenticAMD.bin") ==
        std::optional<std::string>("AMD-OLDAMD-17HAMD-19H"));
  // The compressed archive starts right after, at the 4-byte aligned offset (zstd's magic).
  CHECK(bytes.substr(early_bytes, 4) == std::string("\x28\xb5\x2f\xfd", 4));

  // zinitrd ls: segment 0 at byte 0 uncompressed, segment 1 zstd; the last segment wins /init.
  auto members = list_image((root / "a.img").string());
  REQUIRE(members.ok());
  std::vector<std::string> seg0, seg1;
  for (const auto& m : *members) {
    if (m.segment == 0) {
      CHECK(m.segment_offset == 0);
      CHECK(m.compression == "none");
      seg0.push_back(m.path);
    } else {
      CHECK(m.segment == 1);
      CHECK(m.segment_offset == early_bytes);
      CHECK(m.compression == "zstd");
      seg1.push_back(m.path);
    }
  }
  CHECK(std::find(seg0.begin(), seg0.end(), "/kernel/x86/microcode/GenuineIntel.bin") !=
        seg0.end());
  CHECK(std::find(seg0.begin(), seg0.end(), "/kernel/x86/microcode/AuthenticAMD.bin") !=
        seg0.end());
  CHECK(std::find(seg1.begin(), seg1.end(), "/init") != seg1.end());
  auto init = read_image_member((root / "a.img").string(), "/init");
  REQUIRE(init.ok());
  CHECK(*init == "#!/bin/sh\n");
}

TEST_CASE("microcode: an unreadable blob stops the build and names the package") {
  TempDir root("zinitrd-ucode");
  make_microcode_root(root);
  auto p = plan(root, MicrocodeMode::kAuto, false, kIntelCpuinfo);
  REQUIRE(p.blobs.size() == 1);
  p.blobs[0].sources.push_back("/lib/firmware/intel-ucode/06-00-00");  // vanished since planning
  auto t = microcode_tree(RootFs(root.path().string()), p);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message.find("reinstall intel-microcode") != std::string::npos);
}

namespace {

// An Intel update as the loader reads it: the 48-byte header (version 1, loader 1) and DATA.
std::string intel_update(uint32_t signature, uint32_t revision, const std::string& data) {
  std::string u(48, '\0');
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) u[at + i] = static_cast<char>(v >> (8 * i));
  };
  put(0, 1);
  put(4, revision);
  put(12, signature);
  put(20, 1);
  put(28, static_cast<uint32_t>(data.size()));
  put(32, static_cast<uint32_t>(48 + data.size()));
  return u + data;
}

}  // namespace

TEST_CASE("microcode: an Intel update in several files goes into the blob once") {
  // Debian's intel-ucode has one file per signature; an update serving two signatures (its
  // extended table) is in both files. Updates keep their first file's order.
  const std::string shared = intel_update(0x806e9, 0xf4, std::string(1024, 's'));
  const std::string a_only = intel_update(0x806ea, 0xf6, std::string(512, 'a'));
  const std::string b_only = intel_update(0x906e9, 0xf8, std::string(256, 'b'));
  TempDir root("zinitrd-ucode");
  write_file(root / "/lib/firmware/intel-ucode/06-8e-09", a_only + shared);
  write_file(root / "/lib/firmware/intel-ucode/06-9e-09", shared + b_only);
  write_file(root / "/lib/firmware/intel-ucode/06-9e-0a", "not an update");  // kept whole
  RootFs fs(root.path().string());
  auto p = plan(root, MicrocodeMode::kAuto, false, kIntelCpuinfo);
  MicrocodeStats stats;
  auto t = microcode_tree(fs, p, &stats);
  REQUIRE(t.ok());
  const ImageEntry* blob = t->find("/kernel/x86/microcode/GenuineIntel.bin");
  REQUIRE(blob != nullptr);
  CHECK(blob->data == a_only + shared + b_only + "not an update");
  CHECK(stats.duplicates_dropped == 1);
  CHECK(stats.duplicate_bytes == shared.size());

  // The parser: sizes of 0 mean 2000 data bytes in 2048; a truncated or foreign file is refused.
  CHECK(intel_updates(a_only + shared)->size() == 2);
  CHECK_FALSE(intel_updates(shared.substr(0, shared.size() - 4)).has_value());
  CHECK_FALSE(intel_updates(std::string(48, '\0')).has_value());
  std::string defaults = intel_update(0x806e9, 1, std::string(2000, 'd'));
  for (size_t at : {28, 32})
    for (int i = 0; i < 4; ++i) defaults[at + i] = '\0';
  REQUIRE(intel_updates(defaults).has_value());
  CHECK(intel_updates(defaults)->size() == 1);
  CHECK_FALSE(intel_updates(defaults + "x").has_value());
}
