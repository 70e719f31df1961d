// image_reader_test.cc: concatenated segments, symlink resolution, normalisation, damaged input,
// and hostile images that try to make `extract` write outside its directory.
#include "image_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "fd.h"
#include "image_writer.h"
#include "test_support.h"

namespace zinitrd::gen {
namespace {

namespace fs = std::filesystem;

using test::slurp;
using test::TempDir;
using test::write_file;

std::string image_of(const ImageTree& tree, Compression c) {
  char templ[] = "/tmp/zinitrd-img-XXXXXX";
  Fd fd(mkstemp(templ));
  REQUIRE(fd.valid());
  WriteOptions o;
  o.compression = c;
  auto r = write_image(tree, o, fd.get());
  if (!r) FAIL(r.error().message);
  std::string s = slurp(templ);
  unlink(templ);
  return s;
}

// One member of a hand-made archive.
struct Raw {
  std::string name;
  mode_t mode;       // with type bits
  std::string data;  // content, or the symlink target
  dev_t rdev = 0;
};

// Writes RAW members with libarchive, bypassing every check the ImageTree would make.
std::string raw_archive(const std::vector<Raw>& members, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_cpio_newc(a);
  if (gzip) archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buf.data(), buf.size(), &used) == ARCHIVE_OK);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_mode(e, m.mode);
    archive_entry_set_rdev(e, m.rdev);
    if (S_ISLNK(m.mode)) archive_entry_set_symlink(e, m.data.c_str());
    archive_entry_set_size(e, S_ISREG(m.mode) ? static_cast<la_int64_t>(m.data.size()) : 0);
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    if (S_ISREG(m.mode) && !m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// Every path below ROOT, relative, sorted.
std::vector<std::string> tree_of(const std::string& root) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(root))
    out.push_back(e.path().lexically_relative(root).string());  // fs::relative would follow links
  std::sort(out.begin(), out.end());
  return out;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& l : lines)
    if (l.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("image reader: early uncompressed cpio + padding + zstd cpio, segments and last-wins") {
  TempDir tmp("zinitrd-reader");
  ImageTree early;
  REQUIRE(early.add_data("/kernel/x86/microcode/GenuineIntel.bin", "ucode").ok());
  REQUIRE(early.add_data("/etc/motd", "early").ok());
  ImageTree main;
  REQUIRE(main.add_data("/etc/motd", "main").ok());
  REQUIRE(main.add_data("/init", "#!/bin/sh\n", 0755).ok());
  std::string a = image_of(early, Compression::kNone);
  CHECK(a.size() % 4 == 0);
  std::string img = a + std::string(512, '\0') + image_of(main, Compression::kZstd);
  write_file(tmp / "img", img);

  auto members = list_image((tmp / "img").string());
  if (!members) FAIL(members.error().message);
  std::vector<std::string> got;
  for (const auto& m : *members)
    got.push_back(std::to_string(m.segment) + " " + m.compression + " " + m.path);
  std::vector<std::string> want = {"0 none /etc",
                                   "0 none /etc/motd",
                                   "0 none /kernel",
                                   "0 none /kernel/x86",
                                   "0 none /kernel/x86/microcode",
                                   "0 none /kernel/x86/microcode/GenuineIntel.bin",
                                   "1 zstd /etc",
                                   "1 zstd /etc/motd",
                                   "1 zstd /init"};
  CHECK(got == want);

  auto motd = read_image_member((tmp / "img").string(), "/etc/motd");
  REQUIRE(motd.ok());
  CHECK(*motd == "main");
  auto ucode = read_image_member((tmp / "img").string(), "kernel/x86/microcode/GenuineIntel.bin");
  REQUIRE(ucode.ok());
  CHECK(*ucode == "ucode");

  // zstd frames are measured, so a segment after a compressed one is read too.
  write_file(tmp / "img2", image_of(main, Compression::kZstd) + a);
  auto m2 = list_image((tmp / "img2").string());
  REQUIRE(m2.ok());
  CHECK(m2->back().segment == 1);
  CHECK(m2->back().compression == "none");
  auto motd2 = read_image_member((tmp / "img2").string(), "/etc/motd");
  REQUIRE(motd2.ok());
  CHECK(*motd2 == "early");
}

TEST_CASE("image reader: names are normalised, symlinks inside the image are followed") {
  TempDir tmp("zinitrd-reader");
  write_file(tmp / "img", raw_archive({
                              {"./usr", S_IFDIR | 0755, ""},
                              {"usr/lib", S_IFDIR | 0755, ""},
                              {"/usr/lib/libc.so.6", S_IFREG | 0644, "libc"},
                              {"lib", S_IFLNK | 0777, "usr/lib"},
                              {"lib64", S_IFLNK | 0777, "/lib"},
                              {"usr/lib/libc.so", S_IFLNK | 0777, "../lib/./libc.so.6"},
                              {"loop1", S_IFLNK | 0777, "loop2"},
                              {"loop2", S_IFLNK | 0777, "loop1"},
                          }));
  auto members = list_image((tmp / "img").string());
  REQUIRE(members.ok());
  CHECK((*members)[0].path == "/usr");
  CHECK((*members)[1].path == "/usr/lib");
  CHECK((*members)[2].path == "/usr/lib/libc.so.6");
  CHECK((*members)[3].link_target == "usr/lib");

  for (const char* p :
       {"/usr/lib/libc.so.6", "/lib/libc.so.6", "/lib64/libc.so", "lib64/../lib/libc.so.6"}) {
    CAPTURE(p);
    auto c = read_image_member((tmp / "img").string(), p);
    if (!c) FAIL(c.error().message);
    CHECK(*c == "libc");
  }
  auto loop = read_image_member((tmp / "img").string(), "/loop1");
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.error().message.find("symbolic links") != std::string::npos);
  auto missing = read_image_member((tmp / "img").string(), "/nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("zinitrd ls") != std::string::npos);
  auto dir = read_image_member((tmp / "img").string(), "/lib");
  REQUIRE_FALSE(dir.ok());
  CHECK(dir.error().message.find("directory") != std::string::npos);
}

TEST_CASE("image reader: damaged and foreign input is an error, not a crash") {
  TempDir tmp("zinitrd-reader");
  ImageTree t;
  REQUIRE(t.add_data("/big", std::string(100000, 'x')).ok());
  std::string good = image_of(t, Compression::kNone);

  write_file(tmp / "trunc", good.substr(0, good.size() / 2));
  CHECK_FALSE(list_image((tmp / "trunc").string()).ok());

  std::string huge = good;  // a size field far beyond the end of the file
  size_t big = huge.find("big");
  REQUIRE(big != std::string::npos);
  huge.replace(big - 110 + 6 + 8 * 6, 8, "7fffffff");
  write_file(tmp / "huge", huge);
  auto h = list_image((tmp / "huge").string());
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().message.find("damaged") != std::string::npos);

  write_file(tmp / "text", "hello world, not an image");
  auto x = list_image((tmp / "text").string());
  REQUIRE_FALSE(x.ok());
  CHECK(x.error().message.find("offset 0") != std::string::npos);

  write_file(tmp / "empty", "");
  CHECK_FALSE(list_image((tmp / "empty").string()).ok());
  CHECK_FALSE(list_image((tmp / "does-not-exist").string()).ok());

  std::string z = image_of(t, Compression::kZstd);
  write_file(tmp / "ztrunc", z.substr(0, z.size() / 2));
  CHECK_FALSE(read_image_member((tmp / "ztrunc").string(), "/big").ok());
}

TEST_CASE("image reader: extract reproduces files, modes, symlinks and content") {
  TempDir tmp("zinitrd-reader");
  write_file(tmp / "src", std::string(3 << 20, 'z') + "tail");
  ImageTree t;
  REQUIRE(t.add_file("/usr/lib/modules/zfs.ko", (tmp / "src").string(), 0644).ok());
  REQUIRE(t.add_data("/etc/hostid", "abcd", 0600).ok());
  REQUIRE(t.add_data("/init", "#!/bin/sh\n", 0755).ok());
  REQUIRE(t.add_symlink("/lib", "usr/lib").ok());
  for (auto c : {Compression::kNone, Compression::kZstd, Compression::kGzip}) {
    CAPTURE(compression_name(c));
    write_file(tmp / "img", image_of(t, c));
    std::string out = tmp / ("out-" + std::string(compression_name(c)));
    std::vector<std::string> warnings;
    auto st = extract_image((tmp / "img").string(), out, &warnings);
    if (!st) FAIL(st.error().message);
    CHECK(warnings.empty());
    CHECK(slurp(out + "/usr/lib/modules/zfs.ko") == slurp(tmp / "src"));
    CHECK(slurp(out + "/lib/modules/zfs.ko") == slurp(tmp / "src"));
    CHECK(fs::read_symlink(out + "/lib") == "usr/lib");
    struct stat s;
    REQUIRE(stat((out + "/etc/hostid").c_str(), &s) == 0);
    CHECK((s.st_mode & 07777) == 0600);
    REQUIRE(stat((out + "/init").c_str(), &s) == 0);
    CHECK((s.st_mode & 07777) == 0755);
  }
}

TEST_CASE("image reader: a hostile image never makes extract write outside its directory") {
  TempDir tmp("zinitrd-reader");
  TempDir outside("zinitrd-reader");  // where the symlinks point; must stay empty
  write_file(outside / "victim", "original");
  const std::string dir = tmp / "x";
  std::vector<Raw> hostile = {
      {"../evil", S_IFREG | 0644, "dotdot"},
      {"a/../../evil2", S_IFREG | 0644, "dotdot2"},
      {"/abs/evil", S_IFREG | 0644, "absolute"},
      {"link", S_IFLNK | 0777, outside.path()},
      {"link/evil", S_IFREG | 0644, "through link"},
      {"sub/up", S_IFLNK | 0777, "../.."},
      {"sub/up/evil3", S_IFREG | 0644, "through relative link"},
      {"victim", S_IFLNK | 0777, outside / "victim"},
      {"victim", S_IFREG | 0644, "replaced"},  // must replace the link, not write through it
      {"dev/null", S_IFCHR | 0666, "", makedev(1, 3)},
      {"fifo", S_IFIFO | 0644, ""},
  };
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    fs::remove_all(dir);
    write_file(tmp / "img", raw_archive(hostile, gz));
    std::vector<std::string> warnings;
    auto st = extract_image((tmp / "img").string(), dir, &warnings);
    if (!st) FAIL(st.error().message);
    for (const auto& w : warnings) MESSAGE(w);

    CHECK(tree_of(outside.path()) == std::vector<std::string>{"victim"});
    CHECK(slurp(outside / "victim") == "original");
    std::string listing;
    for (const auto& f : tree_of(tmp.path())) listing += f + " ";
    CHECK(listing == "img x x/abs x/abs/evil x/link x/sub x/sub/up x/victim ");
    CHECK(slurp(dir + "/abs/evil") == "absolute");  // rooted in DIR, as the kernel roots it
    CHECK(slurp(dir + "/victim") == "replaced");
    CHECK(fs::is_symlink(dir + "/link"));
    CHECK(any_contains(warnings, "'/../evil'"));
    CHECK(any_contains(warnings, "'/a/../../evil2'"));
    CHECK(any_contains(warnings, "'/link/evil'"));
    CHECK(any_contains(warnings, "'/sub/up/evil3'"));
    CHECK(any_contains(warnings, "'/dev/null': device nodes"));
    CHECK(any_contains(warnings, "'/fifo'"));
    CHECK(warnings.size() == 6);
  }
}

}  // namespace zinitrd::gen
