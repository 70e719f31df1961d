// image_tree_test.cc: ImageTree parents, the image's own symlinks (merged /usr), conflicts,
// ordering, and add_from_root against a fixture root.
#include "image_tree.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "test_support.h"

namespace fs = std::filesystem;

using zinitrd::gen::ImageEntry;
using zinitrd::gen::ImageTree;
using zinitrd::gen::RootFs;
using zinitrd::test::TempDir;
using zinitrd::test::write_symlink;

namespace {

// Writes in-root file PATH of fixture root DIR with exactly MODE; returns its host path.
std::string write_file_mode(const TempDir& dir, const std::string& path, const std::string& content,
                            mode_t mode) {
  fs::path p = dir / path;
  zinitrd::test::write_file(p, content);
  REQUIRE(::chmod(p.c_str(), mode) == 0);
  return p.string();
}

std::vector<std::string> paths(const ImageTree& t) {
  std::vector<std::string> out;
  for (const auto* e : t.sorted()) out.push_back(e->path);
  return out;
}

}  // namespace

TEST_CASE("image_tree: parents are created as 0755 directories") {
  ImageTree t;
  REQUIRE(t.add_data("/etc/zinitrd/boot.conf", "x=1\n", 0600).ok());
  CHECK(t.size() == 3);
  const ImageEntry* etc = t.find("/etc");
  REQUIRE(etc != nullptr);
  CHECK(etc->kind == ImageEntry::Kind::kDirectory);
  CHECK(etc->mode == 0755);
  const ImageEntry* conf = t.find("/etc/zinitrd/boot.conf");
  REQUIRE(conf != nullptr);
  CHECK(conf->kind == ImageEntry::Kind::kFile);
  CHECK(conf->inline_data);
  CHECK(conf->data == "x=1\n");
  CHECK(conf->mode == 0600);
  CHECK(t.contains("/etc/zinitrd"));
  CHECK_FALSE(t.contains("/usr"));
  CHECK(t.find("/") == nullptr);
}

TEST_CASE("image_tree: parents that are symlinks are followed (merged /usr)") {
  ImageTree t;
  REQUIRE(t.add_symlink("/lib", "usr/lib").ok());
  REQUIRE(t.add_symlink("/sbin", "/usr/sbin").ok());
  REQUIRE(t.add_data("/lib/x86_64-linux-gnu/libc.so.6", "libc").ok());
  REQUIRE(t.add_data("/sbin/zpool", "zpool", 0755).ok());
  CHECK(t.find("/usr/lib/x86_64-linux-gnu/libc.so.6") != nullptr);
  CHECK(t.find("/lib/x86_64-linux-gnu/libc.so.6") == nullptr);
  CHECK(t.find("/usr/sbin/zpool") != nullptr);
  CHECK(t.find("/lib")->kind == ImageEntry::Kind::kSymlink);
  CHECK(t.find("/lib")->data == "usr/lib");
  CHECK(t.contains("/lib/x86_64-linux-gnu/libc.so.6"));
  CHECK(t.contains("/lib"));

  // A link inside a linked directory, pointing up with "..".
  REQUIRE(t.add_symlink("/lib/x86_64-linux-gnu/up", "../../..").ok());
  REQUIRE(t.add_data("/lib/x86_64-linux-gnu/up/etc/hostid", "id").ok());
  CHECK(t.find("/etc/hostid") != nullptr);

  // A directory asked for through a link is the link's target; no conflict.
  CHECK(t.add_directory("/lib").ok());
  CHECK(t.add_directory("/lib/modules").ok());
  CHECK(t.find("/usr/lib/modules") != nullptr);

  // Same entry twice is fine; a different one is a conflict naming the path.
  CHECK(t.add_symlink("/lib", "usr/lib").ok());
  CHECK(t.add_data("/sbin/zpool", "zpool", 0755).ok());
  auto other = t.add_symlink("/lib", "/usr/lib32");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("'/lib'") != std::string::npos);
  auto content = t.add_data("/usr/sbin/zpool", "other", 0755);
  REQUIRE_FALSE(content.ok());
  CHECK(content.error().message.find("'/usr/sbin/zpool'") != std::string::npos);
}

TEST_CASE("image_tree: conflicting kinds are errors naming the path") {
  ImageTree t;
  REQUIRE(t.add_data("/etc/hostid", "id").ok());
  auto dir = t.add_directory("/etc/hostid");
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.error().message.find("'/etc/hostid'") != std::string::npos);
  auto under = t.add_data("/etc/hostid/x", "x");
  REQUIRE_FALSE(under.ok());
  CHECK(under.error().message.find("'/etc/hostid'") != std::string::npos);
  REQUIRE(t.add_directory("/bin").ok());
  auto link = t.add_symlink("/bin", "usr/bin");
  REQUIRE_FALSE(link.ok());
  CHECK(link.error().message.find("'/bin'") != std::string::npos);
  CHECK_FALSE(t.add_data("/", "root").ok());
  CHECK(t.add_directory("/").ok());

  // Symlink loops inside the image are reported, not followed forever.
  REQUIRE(t.add_symlink("/loop1", "loop2").ok());
  REQUIRE(t.add_symlink("/loop2", "/loop1").ok());
  auto looped = t.add_data("/loop1/x", "x");
  REQUIRE_FALSE(looped.ok());
  CHECK(looped.error().errnum == ELOOP);
  CHECK_FALSE(t.contains("/loop1"));
}

TEST_CASE("image_tree: sorted puts parents before children") {
  ImageTree t;
  REQUIRE(t.add_data("/a-b", "1").ok());
  REQUIRE(t.add_data("/a/b/c", "2").ok());
  REQUIRE(t.add_symlink("/z", "a").ok());
  REQUIRE(t.add_data("/a.txt", "3").ok());
  REQUIRE(t.add_directory("/a/b/d", 0700).ok());
  std::vector<std::string> want = {"/a", "/a/b", "/a/b/c", "/a/b/d", "/a-b", "/a.txt", "/z"};
  CHECK(paths(t) == want);
  CHECK(t.find("/a/b/d")->mode == 0700);
}

TEST_CASE("image_tree: add_file takes the source's mode unless given") {
  TempDir src("zinitrd-tree");
  std::string script = write_file_mode(src, "/hook.sh", "#!/bin/sh\n", 0750);
  ImageTree t;
  REQUIRE(t.add_file("/usr/lib/hook.sh", script).ok());
  CHECK(t.find("/usr/lib/hook.sh")->mode == 0750);
  CHECK(t.find("/usr/lib/hook.sh")->source == script);
  REQUIRE(t.add_file("/etc/hook.sh", script, 0600).ok());
  CHECK(t.find("/etc/hook.sh")->mode == 0600);
  auto missing = t.add_file("/x", (src / "missing").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().errnum == ENOENT);
  CHECK_FALSE(t.add_file("/d", src.path().string()).ok());  // a directory is not a file
}

TEST_CASE("image_tree: add_from_root keeps link chains and merged /usr as on the system") {
  TempDir root_dir("zinitrd-tree");
  write_file_mode(root_dir, "/usr/lib/x86_64-linux-gnu/libzfs.so.4.1.0", "libzfs", 0644);
  write_symlink(root_dir / "/usr/lib/x86_64-linux-gnu/libzfs.so.4", "libzfs.so.4.1.0");
  write_symlink(root_dir / "/lib", "usr/lib");
  write_symlink(root_dir / "/lib64", "usr/lib64");
  write_symlink(root_dir / "/usr/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-2.so");
  write_file_mode(root_dir, "/usr/lib/x86_64-linux-gnu/ld-2.so", "ld", 0755);
  write_symlink(root_dir / "/etc/escape", "/etc/os-release");  // host has it, the fixture does not
  RootFs root(root_dir.path().string());

  ImageTree t;
  REQUIRE(t.add_from_root(root, "/lib/x86_64-linux-gnu/libzfs.so.4").ok());
  CHECK(t.find("/lib")->kind == ImageEntry::Kind::kSymlink);
  CHECK(t.find("/lib")->data == "usr/lib");
  const ImageEntry* so = t.find("/usr/lib/x86_64-linux-gnu/libzfs.so.4");
  REQUIRE(so != nullptr);
  CHECK(so->kind == ImageEntry::Kind::kSymlink);
  CHECK(so->data == "libzfs.so.4.1.0");
  const ImageEntry* real = t.find("/usr/lib/x86_64-linux-gnu/libzfs.so.4.1.0");
  REQUIRE(real != nullptr);
  CHECK(real->kind == ImageEntry::Kind::kFile);
  CHECK(real->source == (root_dir / "/usr/lib/x86_64-linux-gnu/libzfs.so.4.1.0").string());
  CHECK(real->mode == 0644);

  REQUIRE(t.add_from_root(root, "/lib64/ld-linux-x86-64.so.2").ok());
  CHECK(t.find("/lib64")->data == "usr/lib64");
  CHECK(t.find("/usr/lib64/ld-linux-x86-64.so.2")->data == "/lib/x86_64-linux-gnu/ld-2.so");
  CHECK(t.find("/usr/lib/x86_64-linux-gnu/ld-2.so")->mode == 0755);
  CHECK(t.contains("/lib64/ld-linux-x86-64.so.2"));

  REQUIRE(t.add_from_root(root, "/usr/lib").ok());  // a directory: already there, merges
  auto escape = t.add_from_root(root, "/etc/escape");
  REQUIRE_FALSE(escape.ok());
  CHECK(escape.error().errnum == ENOENT);
  CHECK(t.find("/etc/os-release") == nullptr);

  std::vector<std::string> want = {"/lib",
                                   "/lib64",
                                   "/usr",
                                   "/usr/lib",
                                   "/usr/lib/x86_64-linux-gnu",
                                   "/usr/lib/x86_64-linux-gnu/ld-2.so",
                                   "/usr/lib/x86_64-linux-gnu/libzfs.so.4",
                                   "/usr/lib/x86_64-linux-gnu/libzfs.so.4.1.0",
                                   "/usr/lib64",
                                   "/usr/lib64/ld-linux-x86-64.so.2"};
  CHECK(paths(t) == want);
}
