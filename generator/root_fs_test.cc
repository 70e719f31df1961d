// root_fs_test.cc: RootFs against fixture trees made in a temporary directory: merged-/usr
// links, absolute symlinks that must stay inside the root, `..` clamping, loops and globs.
#include "root_fs.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "test_support.h"

namespace fs = std::filesystem;

using zinitrd::gen::join_path;
using zinitrd::gen::normalize_path;
using zinitrd::gen::RootFs;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;
using zinitrd::test::write_symlink;

TEST_CASE("root_fs: normalize_path and join_path") {
  CHECK(normalize_path("/") == "/");
  CHECK(normalize_path("") == "/");
  CHECK(normalize_path("//usr///lib/./x") == "/usr/lib/x");
  CHECK(normalize_path("/usr/lib/../../../etc") == "/etc");
  CHECK(normalize_path("/a/b/") == "/a/b");
  CHECK(join_path("/usr/bin", "../lib") == "/usr/lib");
  CHECK(join_path("/usr/bin", "/lib64/ld.so") == "/lib64/ld.so");
  CHECK(join_path("/", "x") == "/x");
}

TEST_CASE("root_fs: root and host_path") {
  RootFs host("/");
  CHECK(host.is_host());
  CHECK(host.host_path("/etc/hostid") == "/etc/hostid");
  RootFs target("/target//");
  CHECK_FALSE(target.is_host());
  CHECK(target.root() == "/target");
  CHECK(target.host_path("/etc/hostid") == "/target/etc/hostid");
  CHECK(target.host_path("/") == "/target");
}

TEST_CASE("root_fs: merged /usr and absolute links resolve inside the root") {
  TempDir t("zinitrd-rootfs");
  write_file(t / "/usr/lib/x86_64-linux-gnu/libc.so.6", "libc");
  write_symlink(t / "/lib", "usr/lib");
  write_symlink(t / "/usr/lib64/ld-linux-x86-64.so.2",
                "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  write_file(t / "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "ld");
  write_symlink(t / "/lib64", "usr/lib64");
  RootFs root(t.path().string());

  auto libc = root.resolve("/lib/x86_64-linux-gnu/libc.so.6");
  REQUIRE(libc.ok());
  CHECK(libc->path == "/usr/lib/x86_64-linux-gnu/libc.so.6");
  REQUIRE(libc->links.size() == 1);
  CHECK(libc->links[0].first == "/lib");
  CHECK(libc->links[0].second == "usr/lib");

  auto ld = root.resolve("/lib64/ld-linux-x86-64.so.2");
  REQUIRE(ld.ok());
  CHECK(ld->path == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
  REQUIRE(ld->links.size() == 3);
  CHECK(ld->links[0] == std::pair<std::string, std::string>("/lib64", "usr/lib64"));
  CHECK(ld->links[1] ==
        std::pair<std::string, std::string>("/usr/lib64/ld-linux-x86-64.so.2",
                                            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
  CHECK(ld->links[2] == std::pair<std::string, std::string>("/lib", "usr/lib"));

  auto data = root.read_file("/lib64/ld-linux-x86-64.so.2");
  REQUIRE(data.ok());
  CHECK(*data == "ld");
  CHECK(root.exists("/lib"));
  CHECK(root.resolve("/")->path == "/");
}

TEST_CASE("root_fs: symlinks never escape to host files") {
  // The host has /etc/os-release (and /etc itself); the fixture has neither, so anything that
  // finds them went outside the root.
  REQUIRE(fs::exists("/etc/os-release"));
  TempDir t("zinitrd-rootfs");
  write_symlink(t / "/abs", "/etc/os-release");
  write_symlink(t / "/up", "../../../../../../../../etc");
  write_symlink(t / "/usr/share/dotdot", "../../../../../../etc/os-release");
  write_file(t / "/etc-real/marker", "inside");
  write_symlink(t / "/etc2", "/etc-real");
  RootFs root(t.path().string());

  auto abs = root.resolve("/abs");
  REQUIRE_FALSE(abs.ok());
  CHECK(abs.error().errnum == ENOENT);
  CHECK(abs.error().message == "resolve '/abs': No such file or directory");
  CHECK_FALSE(root.exists("/abs"));
  CHECK_FALSE(root.exists("/up/os-release"));
  CHECK_FALSE(root.exists("/usr/share/dotdot"));
  CHECK_FALSE(root.read_file("/abs").ok());
  CHECK_FALSE(root.exists("/../../etc/os-release"));

  // Once the file exists inside the root, the same links find the fixture's copy.
  write_file(t / "/etc/os-release", "fixture");
  auto via_abs = root.read_file("/abs");
  REQUIRE(via_abs.ok());
  CHECK(*via_abs == "fixture");
  auto via_up = root.read_file("/up/os-release");
  REQUIRE(via_up.ok());
  CHECK(*via_up == "fixture");
  auto via_dotdot = root.resolve("/usr/share/dotdot");
  REQUIRE(via_dotdot.ok());
  CHECK(via_dotdot->path == "/etc/os-release");
  CHECK(*root.read_file("/etc2/marker") == "inside");
}

TEST_CASE("root_fs: loops, 40-link limit, missing components") {
  TempDir t("zinitrd-rootfs");
  write_symlink(t / "/a", "b");
  write_symlink(t / "/b", "/a");
  write_symlink(t / "/self", "self");
  // A chain of exactly 40 links is fine; 41 is ELOOP (the kernel's MAXSYMLINKS).
  write_file(t / "/chain/end", "end");
  for (int i = 0; i < 41; ++i) {
    write_symlink(t / ("/chain/l" + std::to_string(i)),
                  i == 0 ? std::string("end") : "l" + std::to_string(i - 1));
  }
  write_file(t / "/file", "f");
  RootFs root(t.path().string());

  auto loop = root.resolve("/a/x");
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.error().errnum == ELOOP);
  CHECK(loop.error().message.find("'/a/x'") != std::string::npos);
  CHECK(root.resolve("/self").error().errnum == ELOOP);

  auto forty = root.resolve("/chain/l39");
  REQUIRE(forty.ok());
  CHECK(forty->path == "/chain/end");
  CHECK(forty->links.size() == 40);
  auto forty_one = root.resolve("/chain/l40");
  REQUIRE_FALSE(forty_one.ok());
  CHECK(forty_one.error().errnum == ELOOP);

  auto missing = root.resolve("/nope/x");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().errnum == ENOENT);
  CHECK(missing.error().message == "resolve '/nope/x': No such file or directory");
  CHECK(root.resolve("/file/x").error().errnum == ENOTDIR);
  CHECK(root.resolve("/file/..").error().errnum == ENOTDIR);
  CHECK(root.resolve("/chain/..")->path == "/");
}

TEST_CASE("root_fs: glob returns sorted in-root paths, through in-root links") {
  TempDir t("zinitrd-rootfs");
  write_file(t / "/etc/modprobe.d/b.conf", "x");
  write_file(t / "/etc/modprobe.d/a.conf", "x");
  write_file(t / "/etc/modprobe.d/c.txt", "x");
  write_symlink(t / "/etc/modprobe.d/dangling.conf", "/nowhere");
  write_symlink(t / "/cfg", "/etc");  // absolute: must be /etc of the root, not of the host
  RootFs root(t.path().string());

  std::vector<std::string> want = {"/etc/modprobe.d/a.conf", "/etc/modprobe.d/b.conf"};
  CHECK(root.glob("/etc/modprobe.d/*.conf") == want);
  std::vector<std::string> via_link = {"/cfg/modprobe.d/a.conf", "/cfg/modprobe.d/b.conf"};
  CHECK(root.glob("/cfg/modprobe.d/*.conf") == via_link);
  CHECK(root.glob("/etc/*/c.txt") == std::vector<std::string>{"/etc/modprobe.d/c.txt"});
  CHECK(root.glob("/etc/modprobe.d/*.none").empty());
  CHECK(root.glob("/missing/*.conf").empty());

  // Against the host root the same call sees the host's files.
  RootFs host("/");
  auto os = host.glob("/etc/os-rel*");
  CHECK(std::find(os.begin(), os.end(), "/etc/os-release") != os.end());
}
