// switch_root_test.cc: the checks before the switch and the initramfs cleanup, on a temp tree.
#include "switch_root.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "test_support.h"
#include "util.h"

using namespace zinitrd::rt;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/zinitrd-root-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("remove_tree_same_device empties a directory tree, symlinks not followed") {
  std::string root = temp_dir();
  std::string outside = temp_dir();
  REQUIRE(write_file(outside + "/keep", "x"));
  REQUIRE(make_dirs(root + "/a/b/c"));
  REQUIRE(write_file(root + "/a/b/c/file", "x"));
  REQUIRE(write_file(root + "/top", "x"));
  REQUIRE(symlink(outside.c_str(), (root + "/a/link").c_str()) == 0);
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(remove_tree_same_device(fd) == 0);
  CHECK_FALSE(path_exists(root + "/a"));
  CHECK_FALSE(path_exists(root + "/top"));
  CHECK(path_exists(root));
  CHECK(path_exists(outside + "/keep"));  // the symlink went, not its target
  CHECK(system(("rm -rf '" + root + "' '" + outside + "'").c_str()) == 0);
}

TEST_CASE("find_new_init resolves inside the new root") {
  if (geteuid() != 0) {
    return zinitrd::test::skip("find_new_init needs root (it chroots into the new root)");
  }
  std::string root = temp_dir();
  REQUIRE(make_dirs(root + "/lib/systemd"));
  REQUIRE(make_dirs(root + "/sbin"));
  REQUIRE(write_file(root + "/lib/systemd/systemd", "#!/bin/true\n", 0755));
  // An absolute symlink, as Debian has it: valid inside the new root only.
  REQUIRE(symlink("/lib/systemd/systemd", (root + "/sbin/init").c_str()) == 0);
  std::string init;
  CHECK_FALSE(find_new_init(root, "", init).has_value());
  CHECK(init == "/sbin/init");
  auto missing = find_new_init(root, "/usr/bin/nothere", init);
  REQUIRE(missing.has_value());
  CHECK(missing->summary.find("init=/usr/bin/nothere") != std::string::npos);
  REQUIRE(write_file(root + "/noexec", "x", 0644));
  CHECK(find_new_init(root, "/noexec", init).has_value());
  std::string empty = temp_dir();
  auto none = find_new_init(empty, "", init);
  REQUIRE(none.has_value());
  CHECK(none->status.find("/sbin/init") != std::string::npos);
  CHECK(system(("rm -rf '" + root + "' '" + empty + "'").c_str()) == 0);
}
