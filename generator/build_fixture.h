// build_fixture.h: what the pipeline tests (build_test.cc, fault_test.cc) share: build options
// pointing at this source and build tree, and a fixture root holding real modules of a kernel.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "build.h"
#include "process.h"
#include "test_support.h"

namespace zinitrd::gen::build_fixture {

/// Options for building ROOT's image for KVER into OUT with this tree's features and runtime.
inline BuildOptions options_for(const std::filesystem::path& root, const std::string& kver,
                                const std::filesystem::path& out) {
  BuildOptions o;
  o.root = root.string();
  o.kver = kver;
  o.output = out.string();
  o.feature_dirs = {ZINITRD_SOURCE_DIR "/modules.d"};
  o.runtime = ZINITRD_BINARY_DIR "/lib/zinitrd/init";
  o.write.mtime = 1700000000;
  return o;
}

/// The fixture module: every test root made by make_module_root has it.
inline constexpr const char* kVirtioBlk = "kernel/drivers/block/virtio_blk.ko";

/// Fills ROOT with virtio_blk of KVER and its dependencies, indexed by depmod. False, with a
/// loud skip message, when the installed kernel does not have them.
inline bool make_module_root(const std::filesystem::path& root, const std::string& kver) {
  namespace fs = std::filesystem;
  fs::path src = fs::path("/lib/modules") / kver;
  fs::path dst = root / "lib/modules" / kver;
  for (const char* rel :
       {kVirtioBlk, "kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"}) {
    if (!fs::exists(src / rel)) {
      test::skip((src / rel).string() + " is not installed (run scripts/setup-debian.sh)");
      return false;
    }
    fs::create_directories((dst / rel).parent_path());
    fs::copy_file(src / rel, dst / rel);
  }
  for (const char* f : {"modules.order", "modules.builtin", "modules.builtin.modinfo"})
    if (fs::exists(src / f)) fs::copy_file(src / f, dst / f);
  REQUIRE(run_command({"depmod", "-b", root.string(), kver}).ok());
  return true;
}

/// Number of entries in DIR.
inline size_t count_files(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace zinitrd::gen::build_fixture
