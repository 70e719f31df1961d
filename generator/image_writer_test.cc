// image_writer_test.cc: the written cpio is what GNU cpio and libarchive read back, byte-identical
// across builds, with reproducible metadata, in every compression the kernel accepts.
#include "image_writer.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "fd.h"
#include "image_reader.h"
#include "process.h"
#include "segment_cache.h"
#include "test_support.h"

namespace zinitrd::gen {
namespace {

namespace fs = std::filesystem;

using test::slurp;
using test::TempDir;
using test::write_file;

// Writes TREE to PATH; REQUIREs success.
WriteStats write_to(const ImageTree& tree, const WriteOptions& options, const fs::path& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd.valid());
  auto r = write_image(tree, options, fd.get());
  if (!r) FAIL(r.error().message);
  return *r;
}

std::string pseudo_random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>(seed >> 24);
  }
  return s;
}

// A small tree: directories, an inline file, a file from disk, symlinks.
ImageTree sample_tree(const TempDir& tmp) {
  write_file(tmp / "src.bin", pseudo_random(300000, 7) + "end");
  chmod((tmp / "src.bin").c_str(), 0750);
  ImageTree t;
  REQUIRE(t.add_directory("/usr/bin").ok());
  REQUIRE(t.add_data("/etc/hostid", std::string("\x01\x02\x03\x04", 4), 0600).ok());
  REQUIRE(t.add_data("/empty", "").ok());
  REQUIRE(t.add_file("/usr/bin/tool", (tmp / "src.bin").string()).ok());
  REQUIRE(t.add_symlink("/bin", "usr/bin").ok());
  REQUIRE(t.add_symlink("/init", "/usr/bin/tool").ok());
  return t;
}

}  // namespace

TEST_CASE("image writer: compression names round-trip, unknown names are refused") {
  for (auto c : {Compression::kZstd, Compression::kGzip, Compression::kXz, Compression::kLz4,
                 Compression::kNone}) {
    auto p = parse_compression(compression_name(c));
    REQUIRE(p.ok());
    CHECK(*p == c);
  }
  auto bad = parse_compression("brotli");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("zstd") != std::string::npos);
}

TEST_CASE("image writer: uncompressed image lists the same in GNU cpio and image_reader") {
  TempDir tmp("zinitrd-writer");
  ImageTree t = sample_tree(tmp);
  WriteOptions o;
  o.compression = Compression::kNone;
  o.mtime = 1700000000;
  WriteStats st = write_to(t, o, tmp / "img");
  CHECK(st.entries == t.size());
  CHECK(st.compressed_bytes == st.uncompressed_bytes);
  CHECK(st.compressed_bytes == fs::file_size(tmp / "img"));

  // GNU cpio's view, in archive order.
  CommandOutput cpio = run_command({"cpio", "-t", "--quiet", "-F", (tmp / "img").string()},
                                   CommandOptions{30'000, true});
  REQUIRE(cpio.ok());
  const std::string& listed = cpio.out;
  std::string expected;
  for (const ImageEntry* e : t.sorted()) expected += e->path.substr(1) + "\n";
  CHECK(listed == expected);

  auto members = list_image((tmp / "img").string());
  REQUIRE(members.ok());
  REQUIRE(members->size() == t.size());
  size_t i = 0;
  for (const ImageEntry* e : t.sorted()) {
    const ImageMember& m = (*members)[i++];
    CHECK(m.path == e->path);
    CHECK(m.uid == 0);
    CHECK(m.gid == 0);
    CHECK(m.mtime == 1700000000);
    CHECK(m.segment == 0);
    CHECK(m.compression == "none");
    if (e->kind == ImageEntry::Kind::kSymlink) CHECK(m.link_target == e->data);
    if (e->kind == ImageEntry::Kind::kFile) CHECK((m.mode & 07777) == e->mode);
  }
  auto tool = read_image_member((tmp / "img").string(), "/usr/bin/tool");
  REQUIRE(tool.ok());
  CHECK(*tool == slurp(tmp / "src.bin"));
  auto hostid = read_image_member((tmp / "img").string(), "/etc/hostid");
  REQUIRE(hostid.ok());
  CHECK(*hostid == std::string("\x01\x02\x03\x04", 4));
}

TEST_CASE("image writer: headers carry sequential inodes, dev 0, uid/gid 0") {
  TempDir tmp("zinitrd-writer");
  ImageTree t = sample_tree(tmp);
  WriteOptions o;
  o.compression = Compression::kNone;
  write_to(t, o, tmp / "img");
  std::string img = slurp(tmp / "img");
  size_t pos = 0;
  unsigned expected_ino = 1;
  auto field = [&](int i) { return std::stoul(img.substr(pos + 6 + 8 * i, 8), nullptr, 16); };
  for (;;) {
    REQUIRE(pos + 110 <= img.size());
    REQUIRE(img.compare(pos, 6, "070701") == 0);
    size_t namesize = field(11), filesize = field(6);
    std::string name = img.substr(pos + 110, namesize - 1);
    if (name == "TRAILER!!!") break;
    CHECK(field(0) == expected_ino++);
    CHECK(field(2) == 0);  // uid
    CHECK(field(3) == 0);  // gid
    CHECK(field(7) == 0);  // devmajor
    CHECK(field(8) == 0);  // devminor
    pos = (pos + 110 + namesize + 3) & ~size_t{3};
    pos = (pos + filesize + 3) & ~size_t{3};
  }
  CHECK(expected_ino == t.size() + 1);
}

TEST_CASE("image writer: two builds of the same tree are byte-identical") {
  TempDir tmp("zinitrd-writer");
  ImageTree t = sample_tree(tmp);
  for (auto c : {Compression::kZstd, Compression::kGzip, Compression::kNone}) {
    CAPTURE(compression_name(c));
    WriteOptions o;
    o.compression = c;
    o.mtime = 1234;
    write_to(t, o, tmp / "a");
    write_to(t, o, tmp / "b");
    CHECK(slurp(tmp / "a") == slurp(tmp / "b"));
    o.mtime = 1235;  // the comparison can fail: metadata reaches the bytes
    write_to(t, o, tmp / "c");
    CHECK(slurp(tmp / "a") != slurp(tmp / "c"));
  }
}

TEST_CASE("image writer: every compression round-trips in the format the kernel reads") {
  TempDir tmp("zinitrd-writer");
  ImageTree t = sample_tree(tmp);
  struct Case {
    Compression c;
    std::string magic;
    const char* name;
  };
  const Case cases[] = {
      {Compression::kZstd, "\x28\xb5\x2f\xfd", "zstd"},
      {Compression::kGzip, "\x1f\x8b", "gzip"},
      {Compression::kXz,
       std::string("\xfd"
                   "7zXZ\0",
                   6),
       "xz"},
      {Compression::kLz4, "\x02\x21\x4c\x18", "lz4"},
      {Compression::kNone, "070701", "none"},
  };
  uint64_t plain_size = 0;
  for (const auto& k : cases) {
    CAPTURE(k.name);
    WriteOptions o;
    o.compression = k.c;
    o.threads = 2;
    WriteStats st = write_to(t, o, tmp / "img");
    std::string img = slurp(tmp / "img");
    CHECK(img.compare(0, k.magic.size(), k.magic) == 0);
    CHECK(st.compressed_bytes == img.size());
    if (k.c == Compression::kZstd) {
      // Segments (image_segments.h), each its own cpio with a trailer: a little more than one.
      uint64_t sum = 0;
      for (const auto& seg : st.segments) sum += seg.uncompressed_bytes;
      CHECK(st.segments.size() == 2);  // config and programs: no module in this tree
      CHECK(sum == st.uncompressed_bytes);
    } else {
      if (plain_size == 0) plain_size = st.uncompressed_bytes;
      CHECK(st.uncompressed_bytes == plain_size);
    }
    if (k.c == Compression::kXz) CHECK(img[7] == 0x01);  // stream flags: CRC32 check
    auto members = list_image((tmp / "img").string());
    REQUIRE(members.ok());
    CHECK(members->size() == t.size());
    CHECK(members->front().compression == k.name);
    auto tool = read_image_member((tmp / "img").string(), "/bin/tool");  // through the /bin symlink
    if (!tool) FAIL(tool.error().message);
    CHECK(*tool == slurp(tmp / "src.bin"));
  }
}

TEST_CASE("image writer: the same bytes whatever the number of threads (1-CPU builders too)") {
  // Bigger than one zstd job and one xz block, so that several workers really split the input.
  ImageTree t;
  for (int i = 0; i < 24; ++i)
    REQUIRE(t.add_data("/f" + std::to_string(i),
                       pseudo_random(1 << 19, i) + std::string(1 << 19, char('a' + i)))
                .ok());
  TempDir tmp("zinitrd-writer");
  for (auto c : {Compression::kZstd, Compression::kXz}) {
    CAPTURE(compression_name(c));
    WriteOptions o;
    o.compression = c;
    o.level = 3;  // several jobs (1 MiB at level 3: 24 here); a level-19 job is 32 MiB
    o.threads = 1;
    write_to(t, o, tmp / "one");
    for (int threads : {2, 3, 8}) {
      CAPTURE(threads);
      o.threads = threads;
      write_to(t, o, tmp / "many");
      CHECK(slurp(tmp / "one") == slurp(tmp / "many"));
    }
  }
}

TEST_CASE("image writer: a file that cannot be read names its source") {
  TempDir tmp("zinitrd-writer");
  write_file(tmp / "gone", "x");
  ImageTree t;
  REQUIRE(t.add_file("/gone", (tmp / "gone").string()).ok());
  REQUIRE(unlink((tmp / "gone").c_str()) == 0);
  // Level 19 makes each segment in memory first; level 3 compresses it as it is written.
  for (int level : {-1, 3}) {
    CAPTURE(level);
    Fd fd(::open((tmp / "img").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    WriteOptions o;
    o.level = level;
    auto r = write_image(t, o, fd.get());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find((tmp / "gone").string()) != std::string::npos);
    CHECK(r.error().errnum == ENOENT);
  }
}

TEST_CASE("image writer: a full output reports ENOSPC") {
  ImageTree t;
  REQUIRE(t.add_data("/x", "some content").ok());
  Fd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return zinitrd::test::skip("/dev/full is not available");
  }
  WriteOptions o;
  o.compression = Compression::kNone;
  auto r = write_image(t, o, fd.get());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().errnum == ENOSPC);
}

// Not a pass/fail timing: prints the throughput so regressions are visible in the test log.
TEST_CASE("image writer: speed on a ~40 MB, ~1600-file tree of real binaries") {
  // Like a real image: ~1550 small files (libraries, tools, firmware) plus big ones (modules)
  // up to ~40 MB.
  std::vector<std::pair<std::string, uint64_t>> small, big;
  std::error_code ec;
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/bin"}) {
    for (auto it = fs::recursive_directory_iterator(
             dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      uint64_t sz = it->file_size(ec);
      if (ec || sz > (8u << 20) || access(it->path().c_str(), R_OK) != 0) continue;
      (sz <= (64u << 10) ? small : big).emplace_back(it->path().string(), sz);
    }
  }
  ImageTree t;
  uint64_t total = 0;
  size_t files = 0;
  auto add = [&](const std::pair<std::string, uint64_t>& f) {
    if (t.add_file("/data" + f.first, f.first).ok()) {
      total += f.second;
      ++files;
    }
  };
  for (size_t i = 0; i < small.size() && files < 1550; ++i) add(small[i]);
  for (size_t i = 0; i < big.size() && total + big[i].second <= (40u << 20); ++i) add(big[i]);
  if (total < (10u << 20)) {
    return zinitrd::test::skip(
        "not enough host files to build a benchmark tree (run scripts/setup-debian.sh)");
  }
  TempDir tmp("zinitrd-writer");
  for (auto c : {Compression::kZstd, Compression::kNone}) {
    WriteOptions o;
    o.compression = c;
    o.level = c == Compression::kZstd ? 3 : -1;  // the writer's own speed, not level 19's
    write_to(t, o, tmp / "warm");                // page cache
    auto t0 = std::chrono::steady_clock::now();
    WriteStats st = write_to(t, o, tmp / "img");
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(compression_name(c) << ": " << files << " files, " << st.uncompressed_bytes / 1e6
                                << " MB -> " << st.compressed_bytes / 1e6 << " MB in " << s
                                << " s (" << st.uncompressed_bytes / 1e6 / s << " MB/s)");
    CHECK(st.entries == t.size());
  }
}

TEST_CASE("image writer: a zstd frame is the same bytes for 1 and 2 workers at the default level") {
  const std::string raw = pseudo_random(1 << 20, 3) + std::string(1 << 20, 'z');
  auto one = zstd_compress(raw, kDefaultZstdLevel, 1);
  auto two = zstd_compress(raw, kDefaultZstdLevel, 2);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  CHECK(*one == *two);
  CHECK(one->size() < raw.size() / 2 + 4096);
}

TEST_CASE("image writer: compressed as written, the archive write_cpio makes, trailer or not") {
  // One file whose archive ends around libarchive's 1 MiB block: the trailer, held back when it
  // is dropped, falls into one block, the next, or across the two.
  for (size_t size = (1 << 20) - 380; size <= (1 << 20) - 100; size += 4) {
    CAPTURE(size);
    ImageTree t;
    REQUIRE(t.add_data("/big", pseudo_random(size, static_cast<uint32_t>(size))).ok());
    REQUIRE(t.add_data("/small", "x").ok());
    const auto entries = t.sorted();
    std::string with, without;
    REQUIRE(write_cpio(entries, 0, with, CpioLayout{7, true}).ok());
    auto n = write_cpio(entries, 0, without, CpioLayout{7, false});
    REQUIRE(n.ok());
    CHECK(*n == without.size());
    CHECK(with.size() == without.size() + 124);
    CHECK(with.compare(0, without.size(), without) == 0);
    CHECK(with.compare(without.size() + 110, 10, "TRAILER!!!") == 0);
    for (bool trailer : {true, false}) {
      CAPTURE(trailer);
      auto z = write_cpio_zstd(entries, 0, CpioLayout{7, trailer}, 1, 2);
      REQUIRE(z.ok());
      auto plain = zstd_decompress_frame(z->frame);
      REQUIRE(plain.ok());
      CHECK(*plain == (trailer ? with : without));
      CHECK(z->uncompressed_bytes == plain->size());
    }
  }
}

TEST_CASE("image writer: compressed as written, the same bytes for 1 and 2 workers") {
  ImageTree t;
  for (int i = 0; i < 6; ++i)
    REQUIRE(
        t.add_data("/f" + std::to_string(i), pseudo_random(1 << 20, i) + std::string(1 << 20, 'q'))
            .ok());
  auto one = write_cpio_zstd(t.sorted(), 0, CpioLayout{}, 3, 1);
  auto two = write_cpio_zstd(t.sorted(), 0, CpioLayout{}, 3, 2);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  CHECK(one->frame == two->frame);
  CHECK(one->frame.size() < one->uncompressed_bytes * 3 / 4);
}

}  // namespace zinitrd::gen
