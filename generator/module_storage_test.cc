// module_storage_test.cc: keeping or decompressing compressed modules, from kernel
// configurations as distributions ship them (fixture texts and fixture roots).
#include "module_storage.h"

#include <doctest/doctest.h>

#include "test_support.h"

using namespace zinitrd;
using namespace zinitrd::gen;
using test::TempDir;

namespace {

// The module lines of real /boot/config-* files.
// Debian 13, linux-image-6.12.*-amd64: xz modules the kernel decompresses itself.
constexpr const char* kDebian13 =
    "CONFIG_MODULE_SIG_HASH=\"sha256\"\nCONFIG_MODULE_COMPRESS=y\n"
    "# CONFIG_MODULE_COMPRESS_GZIP is not set\nCONFIG_MODULE_COMPRESS_XZ=y\n"
    "# CONFIG_MODULE_COMPRESS_ZSTD is not set\nCONFIG_MODULE_COMPRESS_ALL=y\n"
    "CONFIG_MODULE_DECOMPRESS=y\n";
// Debian 12, linux-image-6.1.*-amd64: modules are not compressed.
constexpr const char* kDebian12 =
    "CONFIG_MODULE_COMPRESS_NONE=y\n# CONFIG_MODULE_COMPRESS_GZIP is not set\n"
    "# CONFIG_MODULE_COMPRESS_XZ is not set\n# CONFIG_MODULE_COMPRESS_ZSTD is not set\n";
// A kernel that writes xz modules but cannot read them back (Fedora's, and any kernel < 5.17).
constexpr const char* kXzNoDecompress =
    "CONFIG_MODULE_COMPRESS_XZ=y\n# CONFIG_MODULE_DECOMPRESS is not set\n";
// Ubuntu 24.04 and Arch: zstd modules, decompressed by the kernel.
constexpr const char* kZstd = "CONFIG_MODULE_COMPRESS_ZSTD=y\nCONFIG_MODULE_DECOMPRESS=y\n";

const std::set<ModuleCompression> kXzOnly{ModuleCompression::kXz};

}  // namespace

TEST_CASE("kernel configurations: what each kernel loads") {
  auto d13 = parse_kernel_config(kDebian13, "/boot/config-6.12.57+deb13-amd64");
  CHECK(d13.decompress);
  CHECK(d13.format == ModuleCompression::kXz);
  CHECK(d13.loads(ModuleCompression::kXz));
  CHECK(d13.loads(ModuleCompression::kNone));
  CHECK_FALSE(d13.loads(ModuleCompression::kZstd));

  auto d12 = parse_kernel_config(kDebian12, "/boot/config-6.1.0-28-amd64");
  CHECK_FALSE(d12.decompress);
  CHECK(d12.format == ModuleCompression::kNone);
  CHECK(d12.loads(ModuleCompression::kNone));
  CHECK_FALSE(d12.loads(ModuleCompression::kXz));

  CHECK_FALSE(parse_kernel_config(kXzNoDecompress, "c").loads(ModuleCompression::kXz));
  CHECK(parse_kernel_config(kZstd, "c").loads(ModuleCompression::kZstd));
  // "is not set" and other values are not "=y".
  CHECK_FALSE(parse_kernel_config("CONFIG_MODULE_DECOMPRESS=n\nCONFIG_MODULE_COMPRESS_XZ=y\n", "c")
                  .loads(ModuleCompression::kXz));
}

TEST_CASE("kernel configuration found where distributions put it, inside the root") {
  TempDir root("zinitrd-kconfig");
  RootFs fs(root.path().string());
  CHECK(read_kernel_config(fs, "6.12.0-1-amd64").source.empty());
  test::write_file(root / "lib/modules/6.12.0-1-amd64/config", kZstd);  // Fedora's second copy
  auto lib = read_kernel_config(fs, "6.12.0-1-amd64");
  CHECK(lib.source == "/lib/modules/6.12.0-1-amd64/config");
  CHECK(lib.format == ModuleCompression::kZstd);
  test::write_file(root / "boot/config-6.12.0-1-amd64", kDebian13);
  auto boot = read_kernel_config(fs, "6.12.0-1-amd64");
  CHECK(boot.source == "/boot/config-6.12.0-1-amd64");
  CHECK(boot.format == ModuleCompression::kXz);
}

TEST_CASE("module storage: uncompressed modules need no decision") {
  auto plan = plan_module_storage(parse_kernel_config(kDebian12, "c"), {ModuleCompression::kNone},
                                  DecompressModules::kNever, "6.1.0-28-amd64");
  CHECK(plan.decompress.empty());
  CHECK(plan.keep.empty());
  CHECK(plan.problems.empty());
  CHECK(plan.summary.empty());
}

TEST_CASE("module storage: auto keeps what the kernel decompresses, decompresses the rest") {
  // Measured (README, "Compressed modules"): .ko.xz kept gives a smaller image that takes a
  // third of the RAM of decompressed modules in a zstd archive.
  auto loadable = plan_module_storage(parse_kernel_config(kDebian13, "/boot/config-K"), kXzOnly,
                                      DecompressModules::kAuto, "K");
  CHECK(loadable.keep == kXzOnly);
  CHECK(loadable.decompress.empty());
  CHECK(loadable.problems.empty());
  CHECK(loadable.summary == "modules: xz-compressed, kept (K decompresses them itself)");

  auto unloadable = plan_module_storage(parse_kernel_config(kXzNoDecompress, "/boot/config-K"),
                                        kXzOnly, DecompressModules::kAuto, "K");
  CHECK(unloadable.decompress == kXzOnly);
  CHECK(unloadable.problems.empty());
  CHECK(unloadable.summary.find("does not set CONFIG_MODULE_DECOMPRESS") != std::string::npos);

  auto unknown = plan_module_storage(KernelModuleConfig{}, kXzOnly, DecompressModules::kAuto, "K");
  CHECK(unknown.decompress == kXzOnly);
  CHECK(unknown.problems.empty());
}

TEST_CASE("module storage: --decompress-modules=no keeps them only for a kernel that loads them") {
  auto ok = plan_module_storage(parse_kernel_config(kDebian13, "/boot/config-K"), kXzOnly,
                                DecompressModules::kNever, "K");
  CHECK(ok.keep == kXzOnly);
  CHECK(ok.decompress.empty());
  CHECK(ok.problems.empty());
  CHECK(ok.summary == "modules: xz-compressed, kept (K decompresses them itself)");

  auto no_decompress = plan_module_storage(parse_kernel_config(kXzNoDecompress, "/boot/config-K"),
                                           kXzOnly, DecompressModules::kNever, "K");
  REQUIRE(no_decompress.problems.size() == 1);
  CHECK(no_decompress.problems[0] ==
        "the modules of K are xz-compressed and /boot/config-K does not set "
        "CONFIG_MODULE_DECOMPRESS: the kernel loads only uncompressed modules; build with "
        "--decompress-modules=auto (or yes) to carry them decompressed");

  auto other_format = plan_module_storage(parse_kernel_config(kZstd, "/boot/config-K"), kXzOnly,
                                          DecompressModules::kNever, "K");
  REQUIRE(other_format.problems.size() == 1);
  CHECK(other_format.problems[0].find("/boot/config-K decompresses zstd modules only "
                                      "(CONFIG_MODULE_COMPRESS_ZSTD), not xz") !=
        std::string::npos);

  auto unknown = plan_module_storage(KernelModuleConfig{}, kXzOnly, DecompressModules::kNever, "K");
  REQUIRE(unknown.problems.size() == 1);
  CHECK(unknown.problems[0].find("no configuration of K was found (/boot/config-K, "
                                 "/lib/modules/K/config)") != std::string::npos);
}

TEST_CASE("module storage: --decompress-modules=yes decompresses every format") {
  std::set<ModuleCompression> both{ModuleCompression::kXz, ModuleCompression::kZstd};
  auto plan = plan_module_storage(parse_kernel_config(kDebian13, "c"), both,
                                  DecompressModules::kAlways, "K");
  CHECK(plan.decompress == both);
  CHECK(plan.keep.empty());
  CHECK(plan.problems.empty());
  CHECK(plan.summary == "modules: xz, zstd-compressed, decompressed at build time");
}

TEST_CASE("--decompress-modules values") {
  CHECK(*parse_decompress_modules("auto") == DecompressModules::kAuto);
  CHECK(*parse_decompress_modules("yes") == DecompressModules::kAlways);
  CHECK(*parse_decompress_modules("no") == DecompressModules::kNever);
  auto bad = parse_decompress_modules("maybe");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "--decompress-modules: 'maybe' is not auto, yes or no");
}
