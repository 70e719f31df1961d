// cli_test.cc: the `zinitrd` command as users run it (the real binary): configuration files
// under --root, command line precedence, default output paths by distribution, exit codes.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_support.h"

namespace fs = std::filesystem;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

constexpr const char* kKver = "9.9.9-test";

// A root with an empty, indexed modules tree: enough for an image without the zfs feature.
void make_root(const fs::path& root) {
  fs::path mods = root / "lib/modules" / kKver;
  for (const char* f : {"modules.order", "modules.builtin", "modules.builtin.modinfo"})
    write_file(mods / f, "");
  std::string cmd = "depmod -b '" + root.string() + "' " + kKver + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

struct Run {
  int status;
  std::string output;
};

// Runs zinitrd ARGS with stdout and stderr captured.
Run run_zinitrd(const std::string& args) {
  std::string cmd = ZINITRD_BINARY_DIR "/bin/zinitrd " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string magic(const fs::path& p) { return zinitrd::test::slurp(p).substr(0, 6); }

}  // namespace

TEST_CASE("cli: /etc/zinitrd.conf and conf.d under --root set options; the command line wins") {
  TempDir root("zinitrd-cli");
  make_root(root.path());
  write_file(root / "etc/zinitrd.conf", "# comment\ncompress = none\n");
  write_file(root / "etc/zinitrd.conf.d/10-omit.conf", "omit = zfs\n");
  std::string base = "build --root " + root.path().string() + " --kver " + kKver;

  auto r = run_zinitrd(base + " -o " + (root / "a.img").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(magic(root / "a.img") == "070701");  // uncompressed newc, from the config file

  r = run_zinitrd(base + " --compress gzip -o " + (root / "b.img").string());
  REQUIRE(r.status == 0);
  CHECK(magic(root / "b.img").substr(0, 2) == "\x1f\x8b");  // the command line wins

  write_file(root / "etc/zinitrd.conf.d/20-typo.conf", "compresss = xz\n");
  r = run_zinitrd(base + " -o " + (root / "c.img").string());
  CHECK(r.status == 2);
  CHECK(r.output.find("20-typo.conf") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "c.img"));
}

TEST_CASE("cli: the default output follows the distribution's convention, inside --root") {
  TempDir root("zinitrd-cli");
  make_root(root.path());
  fs::create_directories(root / "boot");
  write_file(root / "etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\n");
  // With one kernel under --root, --kver may be left out.
  auto r = run_zinitrd("build --root " + root.path().string() + " --omit zfs -q");
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(fs::exists(root / "boot/initrd.img-9.9.9-test"));

  write_file(root / "etc/os-release", "ID=fedora\nID_LIKE=\"rhel centos\"\n");
  r = run_zinitrd("build --root " + root.path().string() + " --omit zfs -q");
  REQUIRE(r.status == 0);
  CHECK(fs::exists(root / "boot/initramfs-9.9.9-test.img"));
}

TEST_CASE("cli: exit codes 0 / 1 / 2 and messages that say what to do") {
  TempDir root("zinitrd-cli");
  make_root(root.path());
  CHECK(run_zinitrd("--version").status == 0);
  CHECK(run_zinitrd("").status == 2);
  CHECK(run_zinitrd("frobnicate").status == 2);
  CHECK(run_zinitrd("build --no-such-flag").status == 2);
  CHECK(run_zinitrd("build --compress rar").status == 2);
  CHECK(run_zinitrd("build --host-only --generic").status == 2);
  auto r = run_zinitrd("build --root " + root.path().string() + " --kver 0.0.0-none -o " +
                       (root / "x.img").string());
  CHECK(r.status == 1);
  CHECK(r.output.find("0.0.0-none") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "x.img"));
  // zfs is in the default plan: without zfs.ko the build must refuse, naming DKMS.
  r = run_zinitrd("build --root " + root.path().string() + " -o " + (root / "y.img").string());
  CHECK(r.status == 1);
  CHECK(r.output.find("dkms") != std::string::npos);
  CHECK_FALSE(fs::exists(root / "y.img"));
}

TEST_CASE("cli: boot-test exits 2 without QEMU and names the package that provides it") {
  TempDir bin("zinitrd-cli-noqemu");
  fs::create_directories(bin.path());
  // zinitrd is run by its path; PATH matters only for finding QEMU.
  std::string env = "env PATH=" + bin.path().string() + " ";
  std::string cmd = env + ZINITRD_BINARY_DIR "/bin/zinitrd boot-test --kver " + kKver +
                    " --image /nonexistent --disk /nonexistent 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = ::pclose(p);
  INFO(out);
  CHECK(WEXITSTATUS(rc) == 2);
  CHECK(out.find("qemu-system-x86_64 is not installed") != std::string::npos);
  CHECK(out.find("qemu-system-x86") != std::string::npos);

  // QEMU without qemu-img: the overlays cannot be made; qemu-utils is named.
  fs::create_symlink("/bin/true", bin / "qemu-system-x86_64");
  p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  out.clear();
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  rc = ::pclose(p);
  INFO(out);
  CHECK(WEXITSTATUS(rc) == 2);
  CHECK(out.find("qemu-img is not installed; install the package qemu-utils") != std::string::npos);
}

TEST_CASE("cli: boot-test usage errors and setup failures") {
  auto r = run_zinitrd("boot-test --timeout 0");
  CHECK(r.status == 2);
  CHECK(r.output.find("--timeout must be a positive number") != std::string::npos);
  r = run_zinitrd("boot-test --kver " + std::string(kKver) + " --image /nonexistent");
  INFO(r.output);
  bool qemu = std::system(
                  "command -v qemu-system-x86_64 >/dev/null && "
                  "command -v qemu-img >/dev/null") == 0;
  if (qemu) {
    CHECK(r.status == 1);  // no kernel for 9.9.9-test: nothing booted
    CHECK(r.output.find("zinitrd: boot-test: no kernel /boot/vmlinuz-9.9.9-test") !=
          std::string::npos);
  } else {
    CHECK(r.status == 2);
  }
}

TEST_CASE(
    "cli: boot_test = yes in zinitrd.conf is accepted by build and read by the hooks' query") {
  TempDir root("zinitrd-cli-boottest");
  make_root(root.path());
  write_file(root / "etc/zinitrd.conf", "boot_test = yes\nomit = zfs\ncompress = none\n");
  auto r = run_zinitrd("build --root " + root.path().string() + " --kver " + kKver + " -o " +
                       (root / "a.img").string());
  INFO(r.output);
  CHECK(r.status == 0);
  write_file(root / "etc/zinitrd.conf", "boot_test = maybe\nomit = zfs\n");
  r = run_zinitrd("build --root " + root.path().string() + " --kver " + kKver + " -o " +
                  (root / "b.img").string());
  CHECK(r.status == 2);
  CHECK(r.output.find("boot_test") != std::string::npos);
  // The host's own configuration: this machine sets no boot_test.
  if (!fs::exists("/etc/zinitrd.conf") && !fs::exists("/etc/zinitrd.conf.d")) {
    r = run_zinitrd("boot-test --configured");
    CHECK(r.status == 1);
    CHECK(r.output == "boot_test = no\n");
  }
}
