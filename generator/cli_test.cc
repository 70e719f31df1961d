// cli_test.cc: the `zinitrd` command as users run it (the real binary): configuration files
// under --root, command line precedence, default output paths by distribution, exit codes.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "image_reader.h"
#include "process.h"
#include "test_support.h"
#include "text.h"

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
  REQUIRE(zinitrd::gen::run_command({"depmod", "-b", root.string(), kKver}).ok());
}

struct Run {
  int status;
  std::string output;
};

// Runs zinitrd ARGS (words separated by blanks) after the words of WRAPPER (env, taskset...),
// with stdout and stderr captured.
Run run_zinitrd(const std::string& args, std::vector<std::string> wrapper = {}) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.push_back(ZINITRD_BINARY_DIR "/bin/zinitrd");
  for (auto& w : zinitrd::split_words(args)) argv.push_back(std::move(w));
  zinitrd::gen::CommandOptions o;
  o.merge_stderr = true;
  o.timeout_ms = 300'000;
  auto r = zinitrd::gen::run_command(argv, o);
  REQUIRE(r.ran);
  return {r.status, r.out};
}

std::string magic(const fs::path& p) { return zinitrd::test::slurp(p).substr(0, 6); }

}  // namespace

TEST_CASE("cli: /etc/zinitrd.conf and conf.d under --root set options, the command line wins") {
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
  const std::vector<std::string> env = {"env", "PATH=" + bin.path().string()};
  const std::string args =
      "boot-test --kver " + std::string(kKver) + " --image /nonexistent --disk /nonexistent";
  auto r = run_zinitrd(args, env);
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find("qemu-system-x86_64 is not installed") != std::string::npos);
  CHECK(r.output.find("qemu-system-x86") != std::string::npos);

  // QEMU without qemu-img: the overlays cannot be made; qemu-utils is named.
  fs::create_symlink("/bin/true", bin / "qemu-system-x86_64");
  r = run_zinitrd(args, env);
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find("qemu-img is not installed; install the package qemu-utils") !=
        std::string::npos);
}

TEST_CASE("cli: boot-test usage errors and setup failures") {
  auto r = run_zinitrd("boot-test --timeout 0");
  CHECK(r.status == 2);
  CHECK(r.output.find("--timeout must be a positive number") != std::string::npos);
  r = run_zinitrd("boot-test --kver " + std::string(kKver) + " --image /nonexistent");
  INFO(r.output);
  const bool qemu = zinitrd::gen::run_command(
                        {"sh", "-c", "command -v qemu-system-x86_64 && command -v qemu-img"})
                        .ok();
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

TEST_CASE("cli: SOURCE_DATE_EPOCH sets every mtime, and anything but a time is refused") {
  TempDir root("zinitrd-cli");
  make_root(root.path());
  std::string base = "build -q --omit zfs --root " + root.path().string() + " --kver " + kKver;
  auto r = run_zinitrd(base + " -o " + (root / "a.img").string(),
                       {"env", "SOURCE_DATE_EPOCH=1234567890"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto members = zinitrd::gen::list_image((root / "a.img").string());
  REQUIRE(members.ok());
  for (const auto& m : *members) CHECK(m.mtime == 1234567890);
  // Set but empty: unset, as in most build tools.
  CHECK(run_zinitrd(base + " -o " + (root / "b.img").string(), {"env", "SOURCE_DATE_EPOCH="})
            .status == 0);
  for (const char* bad :
       {"12abc", "-5", " 12", "1e9", "0x10", "4294967296", "99999999999999999999"}) {
    CAPTURE(bad);
    r = run_zinitrd(base + " -o " + (root / "c.img").string(),
                    {"env", std::string("SOURCE_DATE_EPOCH=") + bad});
    CHECK(r.status == 2);
    CHECK(r.output.find("SOURCE_DATE_EPOCH='" + std::string(bad) + "' is not a time") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(root / "c.img"));
  }
}

TEST_CASE("cli: one CPU or many, the image is byte-identical (taskset -c 0)") {
  // On a 1-CPU machine both runs use one worker; the writer's own test compares 1 and N threads.
  TempDir root("zinitrd-cli");
  make_root(root.path());
  // Several MB of incompressible data, so that zstd's workers split the input between them.
  std::string data;
  for (uint32_t i = 0, x = 1; i < (12u << 20); ++i)
    data += static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  write_file(root / "data.bin", data);
  std::string base = "build -q --omit zfs --root " + root.path().string() + " --kver " + kKver +
                     " --include " + (root / "data.bin").string() + ":/data.bin -o ";
  auto many = run_zinitrd(base + (root / "many.img").string());
  INFO(many.output);
  REQUIRE(many.status == 0);
  auto one = run_zinitrd(base + (root / "one.img").string(), {"taskset", "-c", "0"});
  INFO(one.output);
  REQUIRE(one.status == 0);
  CHECK(zinitrd::test::slurp(root / "one.img") == zinitrd::test::slurp(root / "many.img"));
}

TEST_CASE("cli: --root never reads the host, whatever the root's links say") {
  // HOST stands for the host: every file in it has a twin inside the root (ROOT + the same
  // absolute path) or none. The root reaches HOST's paths only through absolute symlinks, which
  // the kernel would follow to HOST but zinitrd must resolve inside the root.
  TempDir root("zinitrd-cli-root"), host("zinitrd-cli-host");
  const std::string marker = "HOST-ONLY-BYTES-4f1e9c";
  auto in_root = [&](const fs::path& host_path) { return root / host_path.string(); };
  make_root(root.path());
  // Merged /usr with an absolute link: /lib -> /usr/lib (the host has kernels there too).
  fs::create_directories(root / "usr");
  fs::rename(root / "lib", root / "usr/lib");
  zinitrd::test::write_symlink(root / "lib", "/usr/lib");
  write_file(root / "etc/os-release", "ID=debian\n");
  write_file(root / "etc/hostid", std::string("\x5a\x17\x0c\x3e", 4));
  // The configuration file: the host's twin would ask for gzip and keep zfs (which cannot build).
  write_file(host / "zinitrd.conf", "compress = gzip\n# " + marker + "\n");
  write_file(in_root(host / "zinitrd.conf"),
             "compress = none\nomit = zfs\nkeyfile = /etc/zfs/keys/rpool.key\n");
  zinitrd::test::write_symlink(root / "etc/zinitrd.conf", (host / "zinitrd.conf").string());
  // The key file, behind an absolute link.
  write_file(host / "rpool.key", marker);
  write_file(in_root(host / "rpool.key"), "ROOT-KEY");
  zinitrd::test::write_symlink(root / "etc/zfs/keys/rpool.key", (host / "rpool.key").string());
  // A feature folder only the host has, and one of the root's own.
  write_file(host / "spy/feature.conf", "when = always\nset = spy=" + marker + "\n");
  zinitrd::test::write_symlink(root / "etc/zinitrd/modules.d/spy", (host / "spy").string());
  write_file(root / "etc/zinitrd/modules.d/local/feature.conf",
             "when = always\nhostid = yes\nset = origin=root\n");
  // /boot, where the default output goes.
  fs::create_directories(host / "boot");
  fs::create_directories(in_root(host / "boot"));
  zinitrd::test::write_symlink(root / "boot", (host / "boot").string());

  // No --kver (the only kernel of the root), no -o (the root's /boot).
  auto r = run_zinitrd("build -q --root " + root.path().string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(fs::is_empty(host / "boot"));
  fs::path image = in_root(host / "boot") / ("initrd.img-" + std::string(kKver));
  REQUIRE(fs::exists(image));
  std::string bytes = zinitrd::test::slurp(image);
  CHECK(magic(image) == "070701");  // compress = none: the root's configuration
  CHECK(bytes.find(marker) == std::string::npos);
  auto member = [&](const char* path) {
    auto m = zinitrd::gen::read_image_member(image.string(), path);
    return m ? *m : std::string("(missing)");
  };
  CHECK(member("/etc/zfs/keys/rpool.key") == "ROOT-KEY");
  CHECK(member("/etc/hostid") == std::string("\x5a\x17\x0c\x3e", 4));
  CHECK(zinitrd::test::slurp("/etc/hostid") != member("/etc/hostid"));
  std::string boot_conf = member("/etc/zinitrd/boot.conf");
  CHECK(boot_conf.find("origin\troot") != std::string::npos);
  CHECK(boot_conf.find("spy") == std::string::npos);

  // A key the root lacks is refused, never taken from the host that has it.
  write_file(host / "only-here.key", marker);
  r = run_zinitrd("build -q --root " + root.path().string() + " --keyfile " +
                  (host / "only-here.key").string() + " -o " + (root / "k.img").string());
  CHECK(r.status == 1);
  CHECK(r.output.find("key file " + (host / "only-here.key").string() + ": not found in " +
                      root.path().string()) != std::string::npos);
  CHECK_FALSE(fs::exists(root / "k.img"));
}
