// module_file_test.cc: compressed modules decompressed by zinitrd itself, compared with what the
// distributions' tools wrote (xz --check=crc32 as kmod's and the kernel's Makefiles call it,
// zstd, gzip), and .modinfo read with libelf compared with libkmod's modinfo.
#include "module_file.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "process.h"
#include "test_support.h"
#include "text.h"

namespace fs = std::filesystem;
using namespace zinitrd;
using namespace zinitrd::gen;
using test::TempDir;

namespace {

// The installed kernel's virtio_blk.ko (uncompressed on Debian 12), or "".
std::string installed_module() {
  std::string kver = test::installed_kver();
  fs::path p = fs::path("/lib/modules") / kver / "kernel/drivers/block/virtio_blk.ko";
  return !kver.empty() && fs::exists(p) ? p.string() : "";
}

// PATH compressed by the command line tool of C, into PATH + suffix (PATH is kept).
fs::path compress_with_tool(const fs::path& path, ModuleCompression c) {
  std::vector<std::string> argv;
  std::string suffix;
  switch (c) {
    case ModuleCompression::kXz:
      argv = {"xz", "-k", "-f", "--check=crc32", "--lzma2=dict=1MiB", path.string()};
      suffix = ".xz";
      break;
    case ModuleCompression::kZstd:
      argv = {"zstd", "-q", "-k", "-f", "-19", path.string()};
      suffix = ".zst";
      break;
    case ModuleCompression::kGzip:
      argv = {"gzip", "-k", "-f", "-9", path.string()};
      suffix = ".gz";
      break;
    case ModuleCompression::kNone:
      return path;
  }
  auto r = run_command(argv, {.timeout_ms = 60'000, .merge_stderr = true});
  REQUIRE_MESSAGE(r.ok(), argv[0] << ": " << r.out);
  return path.string() + suffix;
}

}  // namespace

TEST_CASE("module compression by file name") {
  CHECK(module_compression("/lib/modules/6.12.0/kernel/fs/zfs.ko") == ModuleCompression::kNone);
  CHECK(module_compression("/x/zfs.ko.xz") == ModuleCompression::kXz);
  CHECK(module_compression("/x/zfs.ko.zst") == ModuleCompression::kZstd);
  CHECK(module_compression("/x/zfs.ko.gz") == ModuleCompression::kGzip);
  CHECK(module_compression("/x/firmware.bin.xz") == ModuleCompression::kNone);  // not a module
  CHECK(uncompressed_module_path("/x/updates/dkms/zfs.ko.xz") == "/x/updates/dkms/zfs.ko");
  CHECK(uncompressed_module_path("/x/a.ko.zst") == "/x/a.ko");
  CHECK(uncompressed_module_path("/x/a.ko.gz") == "/x/a.ko");
  CHECK(uncompressed_module_path("/x/a.ko") == "/x/a.ko");
  CHECK(compression_label(ModuleCompression::kZstd) == "zstd");
}

TEST_CASE("xz, zstd and gzip modules decompress to the original bytes") {
  std::string ko = installed_module();
  if (ko.empty())
    return test::skip(
        "virtio_blk.ko of the installed kernel not found (run "
        "scripts/setup-debian.sh)");
  TempDir dir("zinitrd-modfile");
  fs::path plain = dir / "virtio_blk.ko";
  fs::copy_file(ko, plain);
  std::string original = test::slurp(plain);
  for (auto c : {ModuleCompression::kXz, ModuleCompression::kZstd, ModuleCompression::kGzip}) {
    CAPTURE(compression_label(c));
    fs::path packed = compress_with_tool(plain, c);
    CHECK(module_compression(packed.string()) == c);
    CHECK(test::slurp(packed).size() < original.size());
    auto back = read_module_file(packed.string());
    REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().message));
    CHECK(*back == original);
  }
  auto same = read_module_file(plain.string());
  REQUIRE(same.ok());
  CHECK(*same == original);
}

TEST_CASE("damaged compressed modules are errors naming the file, never garbage") {
  std::string ko = installed_module();
  if (ko.empty())
    return test::skip(
        "virtio_blk.ko of the installed kernel not found (run "
        "scripts/setup-debian.sh)");
  TempDir dir("zinitrd-modfile");
  fs::path plain = dir / "virtio_blk.ko";
  fs::copy_file(ko, plain);
  for (auto c : {ModuleCompression::kXz, ModuleCompression::kZstd, ModuleCompression::kGzip}) {
    CAPTURE(compression_label(c));
    std::string packed = test::slurp(compress_with_tool(plain, c));
    auto truncated = decompress(std::string_view(packed).substr(0, packed.size() / 2), c, "/m.ko");
    REQUIRE_FALSE(truncated.ok());
    CHECK(truncated.error().message.find("cannot decompress /m.ko") != std::string::npos);
    std::string flipped = packed;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
    flipped[flipped.size() / 3] = static_cast<char>(flipped[flipped.size() / 3] ^ 0x55);
    auto corrupt = decompress(flipped, c, "/m.ko");
    REQUIRE_FALSE(corrupt.ok());
    CHECK(corrupt.error().message.find(std::string(compression_label(c))) != std::string::npos);
    CHECK_FALSE(decompress("", c, "/m.ko").ok());
    CHECK_FALSE(decompress(test::slurp(plain), c, "/m.ko").ok());  // not compressed at all
  }
}

TEST_CASE(".modinfo read with libelf matches libkmod's, compressed or not") {
  std::string ko = installed_module();
  if (ko.empty())
    return test::skip(
        "virtio_blk.ko of the installed kernel not found (run "
        "scripts/setup-debian.sh)");
  TempDir dir("zinitrd-modfile");
  fs::path plain = dir / "virtio_blk.ko";
  fs::copy_file(ko, plain);
  fs::path packed = compress_with_tool(plain, ModuleCompression::kXz);
  auto image = read_module_file(packed.string());
  REQUIRE(image.ok());
  auto info = parse_modinfo(*image, packed.string());
  REQUIRE_MESSAGE(info.ok(), (info.ok() ? "" : info.error().message));
  std::vector<std::string> aliases;
  std::string vermagic;
  for (const auto& [k, v] : *info) {
    if (k == "alias") aliases.push_back(v);
    if (k == "vermagic") vermagic = v;
  }
  // modinfo (libkmod) on the uncompressed file: the same aliases, in the same order.
  auto modinfo = run_command({"modinfo", "-F", "alias", plain.string()});
  REQUIRE(modinfo.ok());
  std::vector<std::string> theirs = split_words(modinfo.out, "\n");
  CHECK(aliases == theirs);
  CHECK_FALSE(aliases.empty());
  auto vm = run_command({"modinfo", "-F", "vermagic", plain.string()});
  REQUIRE(vm.ok());
  CHECK(vermagic + "\n" == vm.out);

  auto bad = parse_modinfo("not an ELF file", "/x.ko");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "cannot read the .modinfo of /x.ko: not an ELF file");
}
