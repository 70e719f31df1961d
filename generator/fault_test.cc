// fault_test.cc: `zinitrd build` against broken fixture roots (docs/reliability.md): modules that
// cannot be read, a missing library, absolute symlinks under --root. Every problem is listed in
// one message, nothing is written, and nothing under --root is ever read from the host's paths.
// (The command-line faults of the real binary, signals, permissions and hostile images are the
// scripts of tests/fault/.)
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "build.h"
#include "build_fixture.h"
#include "cli.h"
#include "image_reader.h"
#include "test_support.h"

namespace zinitrd::gen {
namespace {

namespace fs = std::filesystem;
using build_fixture::count_files;
using build_fixture::kVirtioBlk;
using build_fixture::make_module_root;
using build_fixture::options_for;
using test::slurp;
using test::TempDir;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("fault: unreadable required modules and a missing library, listed in one message") {
  std::string kver = test::installed_kver();
  if (kver.empty()) {
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  }
  TempDir root("zinitrd-fault-root"), outdir("zinitrd-fault-out");
  if (!make_module_root(root.path(), kver)) return;
  fs::path mods = root.path() / "lib/modules" / kver;
  // virtio_blk.ko is a directory; virtio.ko a dangling symlink (root cannot be stopped by
  // chmod 000: tests/fault/unreadable_module_test.sh does that as an unprivileged user).
  fs::remove(mods / kVirtioBlk);
  fs::create_directory(mods / kVirtioBlk);
  fs::remove(mods / "kernel/drivers/virtio/virtio.ko");
  fs::create_symlink("/nowhere/virtio.ko", mods / "kernel/drivers/virtio/virtio.ko");
  // A program whose libraries are not in the root.
  fs::create_directories(root.path() / "usr/bin");
  fs::copy_file("/bin/ls", root.path() / "usr/bin/ls");
  fs::path out = outdir.path() / "initrd.img";
  test::write_file(out, "OLD IMAGE");

  auto o = options_for(root.path(), kver, out);
  o.kmods = {"virtio_blk"};
  o.installs = {"/usr/bin/ls"};
  auto r = build_image(o);
  REQUIRE_FALSE(r.ok());
  const std::string& m = r.error().message;
  INFO(m);
  CHECK(contains(m, "nothing was written"));
  CHECK(contains(m, "/lib/modules/" + kver + "/" + kVirtioBlk + " cannot be read"));
  CHECK(contains(m, "virtio.ko"));
  CHECK(contains(m, "libc.so.6"));  // the missing library of ls
  CHECK(contains(m, "zfs"));        // and zfs.ko, zpool..., all in the same message
  CHECK(contains(m, "zpool"));
  CHECK(slurp(out) == "OLD IMAGE");
  CHECK(count_files(outdir.path()) == 1);  // no temporary file left behind
}

TEST_CASE("fault: a module behind an absolute symlink under --root is read inside the root") {
  std::string kver = test::installed_kver();
  if (kver.empty()) {
    return test::skip("no installed kernel under /lib/modules (run scripts/setup-debian.sh)");
  }
  TempDir root("zinitrd-fault-root"), outdir("zinitrd-fault-out");
  if (!make_module_root(root.path(), kver)) return;
  fs::path mods = root.path() / "lib/modules" / kver;
  // The module lives at /opt/mods inside the root, which the host does not have: libkmod must
  // not follow the absolute link on the host.
  fs::create_directories(root.path() / "opt/mods");
  fs::rename(mods / kVirtioBlk, root.path() / "opt/mods/virtio_blk.ko");
  fs::create_symlink("/opt/mods/virtio_blk.ko", mods / kVirtioBlk);
  REQUIRE_FALSE(fs::exists("/opt/mods/virtio_blk.ko"));

  auto o = options_for(root.path(), kver, outdir.path() / "initrd.img");
  o.kmods = {"virtio_blk"};
  o.omit = {"zfs"};
  auto r = build_image(o);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  auto text = read_image_member((outdir.path() / "initrd.img").string(), "/opt/mods/virtio_blk.ko");
  REQUIRE(text.ok());
  CHECK(*text == slurp(root.path() / "opt/mods/virtio_blk.ko"));

  // A link to a module the host has but the root does not: refused, never read from the host.
  std::string host_only = "/lib/modules/" + kver + "/kernel/drivers/block/loop.ko";
  if (!fs::exists(host_only)) {
    return test::skip("second half: " + host_only +
                      " is not installed (run scripts/setup-debian.sh)");
  }
  fs::remove(mods / kVirtioBlk);
  fs::create_symlink(host_only, mods / kVirtioBlk);
  test::write_file(outdir.path() / "initrd.img", "OLD IMAGE");
  auto leak = build_image(o);
  REQUIRE_FALSE(leak.ok());
  INFO(leak.error().message);
  CHECK(contains(leak.error().message, kVirtioBlk + std::string(" cannot be read")));
  CHECK(slurp(outdir.path() / "initrd.img") == "OLD IMAGE");
}

TEST_CASE("fault: configuration values holding Boost's message tokens are reported, not a hang") {
  // Found by fuzz_config_file: Boost.Program_options' what() looped forever on these.
  for (const char* text : {"level = %value%\n", "level = x%canonical_option%\n", "%option% = 1\n",
                           "compress = %value%\n"}) {
    std::string error = check_config_text(text);
    INFO(text);
    CHECK(error != "");
  }
  CHECK(contains(check_config_text("level = %value%\n"), "the argument ('% value% ') for option"));
  CHECK(check_config_text("compress = xz\nlevel = 3\nadd = busybox\n") == "");
}

}  // namespace zinitrd::gen
