// image_segments_test.cc: which entry goes into which segment; an image is the same bytes with
// a cold cache, a warm one, a damaged one and none; secrets never reach the cache; the segments
// read back as one tree.
#include "image_segments.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <filesystem>
#include <set>

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

const std::string kSecret = "THIS-IS-A-KEY-FILE-0123456789abcdef";

std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

// A small image shaped like a real one: modules, a library, a tool, generated files, secrets.
ImageTree real_shaped_tree(const TempDir& tmp) {
  write_file(tmp / "zfs.ko",
             "\x7f"
             "ELF module " +
                 noise(40000, 1));
  write_file(tmp / "libzfs.so",
             "\x7f"
             "ELF library " +
                 noise(30000, 2));
  write_file(tmp / "zpool",
             "\x7f"
             "ELF program " +
                 noise(20000, 3));
  write_file(tmp / "key", kSecret);
  write_file(tmp / "private-lib", "root-only " + noise(100, 4));
  ::chmod((tmp / "zpool").c_str(), 0755);
  ::chmod((tmp / "libzfs.so").c_str(), 0644);
  ::chmod((tmp / "zfs.ko").c_str(), 0644);
  ::chmod((tmp / "private-lib").c_str(), 0600);
  ImageTree t;
  const std::string mods = "/usr/lib/modules/6.1.0-57-amd64";
  REQUIRE(t.add_file(mods + "/updates/dkms/zfs.ko", (tmp / "zfs.ko").string()).ok());
  REQUIRE(t.add_data(mods + "/modules.dep", "updates/dkms/zfs.ko:\n").ok());
  REQUIRE(t.add_file("/usr/lib/x86_64-linux-gnu/libzfs.so.4", (tmp / "libzfs.so").string()).ok());
  REQUIRE(t.add_file("/usr/sbin/zpool", (tmp / "zpool").string()).ok());
  REQUIRE(t.add_file("/usr/lib/private.so", (tmp / "private-lib").string()).ok());
  REQUIRE(t.add_file("/etc/zfs/keys/rpool.key", (tmp / "key").string(), 0600).ok());
  REQUIRE(t.add_data("/etc/zinitrd/authorized_keys", kSecret + " inline", 0600).ok());
  REQUIRE(t.add_data("/etc/zinitrd/boot.conf", "root=zfs:AUTO\n").ok());
  REQUIRE(t.add_symlink("/init", "/usr/lib/zinitrd/init").ok());
  REQUIRE(t.add_symlink("/lib", "usr/lib").ok());
  return t;
}

std::string write_to(const ImageTree& t, const WriteOptions& o, const fs::path& path,
                     WriteStats* stats = nullptr) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  REQUIRE(fd.valid());
  auto r = write_image(t, o, fd.get());
  if (!r) FAIL(r.error().message);
  if (stats) *stats = *r;
  return slurp(path);
}

std::vector<SegmentStats::Cache> cache_states(const WriteStats& st) {
  std::vector<SegmentStats::Cache> out;
  for (const auto& s : st.segments) out.push_back(s.cache);
  return out;
}

}  // namespace

TEST_CASE("image segments: entries go where they change together, secrets in config") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  auto seg = [&](const char* path) {
    const ImageEntry* e = t.find(path);
    REQUIRE(e);
    return std::string(segment_of(*e));
  };
  CHECK(seg("/usr/lib/modules/6.1.0-57-amd64/updates/dkms/zfs.ko") == "modules");
  CHECK(seg("/usr/lib/modules/6.1.0-57-amd64/modules.dep") == "config");  // generated
  CHECK(seg("/usr/lib/x86_64-linux-gnu/libzfs.so.4") == "programs");
  CHECK(seg("/usr/sbin/zpool") == "programs");
  CHECK(seg("/usr/lib/private.so") == "config");  // readable by its owner only
  CHECK(seg("/etc/zfs/keys/rpool.key") == "config");
  CHECK(seg("/etc/zinitrd/authorized_keys") == "config");
  CHECK(seg("/init") == "config");
  CHECK(seg("/usr/sbin") == "config");  // directories come first
  ImageEntry decompressed;              // a .ko.xz decompressed at build time is still a module
  decompressed.path = "/usr/lib/modules/6.12.0/kernel/drivers/ata/ahci.ko";
  decompressed.inline_data = true;
  decompressed.mode = 0644;
  CHECK(std::string(segment_of(decompressed)) == "modules");
  decompressed.path = "/lib/modules/6.12.0/kernel/fs/zfs.ko.xz";  // unmerged /usr, kept compressed
  decompressed.inline_data = false;
  CHECK(std::string(segment_of(decompressed)) == "modules");
}

TEST_CASE("image segments: the same image with no cache, a cold one, a warm one, a damaged one") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  WriteOptions o;
  o.threads = 2;
  const std::string plain = write_to(t, o, tmp / "none.img");

  o.cache_dir = (tmp / "cache").string();
  WriteStats cold, warm, repaired;
  CHECK(write_to(t, o, tmp / "cold.img", &cold) == plain);
  using C = SegmentStats::Cache;
  CHECK(cache_states(cold) == std::vector<C>{C::kNone, C::kStored, C::kStored});
  CHECK(write_to(t, o, tmp / "warm.img", &warm) == plain);
  CHECK(cache_states(warm) == std::vector<C>{C::kNone, C::kReused, C::kReused});
  CHECK(warm.compressed_bytes == plain.size());

  // Damage every entry: each is noticed, compressed again and replaced.
  for (const auto& e : fs::directory_iterator(tmp / "cache")) {
    std::string bytes = slurp(e.path());
    bytes[bytes.size() / 2] ^= 0x55;
    write_file(e.path(), bytes);
  }
  CHECK(write_to(t, o, tmp / "repaired.img", &repaired) == plain);
  CHECK(cache_states(repaired) == std::vector<C>{C::kNone, C::kStored, C::kStored});

  // Other content in a cached segment: a miss, and the image has the new bytes.
  write_file(tmp / "zpool",
             "\x7f"
             "ELF program v2 " +
                 noise(20000, 9));
  WriteStats changed;
  const std::string v2 = write_to(t, o, tmp / "v2.img", &changed);
  CHECK(v2 != plain);
  CHECK(cache_states(changed) == std::vector<C>{C::kNone, C::kStored, C::kReused});
  auto zpool = read_image_member((tmp / "v2.img").string(), "/usr/sbin/zpool");
  REQUIRE(zpool.ok());
  CHECK(*zpool == slurp(tmp / "zpool"));
}

TEST_CASE("image segments: no key material is ever written to the cache") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  WriteOptions o;
  o.cache_dir = (tmp / "cache").string();
  write_to(t, o, tmp / "img");
  size_t cached = 0;
  for (const auto& e : fs::directory_iterator(tmp / "cache")) {
    auto plain = zstd_decompress_frame(slurp(e.path()));
    REQUIRE(plain.ok());
    CHECK(plain->find(kSecret) == std::string::npos);
    CHECK(plain->find("root-only") == std::string::npos);
    ++cached;
  }
  CHECK(cached == 2);
  // ...while the image carries it, in its config segment.
  auto key = read_image_member((tmp / "img").string(), "/etc/zfs/keys/rpool.key");
  REQUIRE(key.ok());
  CHECK(*key == kSecret);
}

TEST_CASE("image segments: the segments read back as one tree, directories first") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  WriteOptions o;
  write_to(t, o, tmp / "img");
  auto members = list_image((tmp / "img").string());
  REQUIRE(members.ok());
  CHECK(members->size() == t.size());
  size_t last_segment = 0;
  for (const auto& m : *members) {
    CAPTURE(m.path);
    CHECK(m.compression == "zstd");
    CHECK(m.segment >= last_segment);
    last_segment = m.segment;
    if (S_ISDIR(m.mode)) CHECK(m.segment == 0);
  }
  CHECK(last_segment == 2);
  for (const char* p : {"/usr/sbin/zpool", "/lib/modules/6.1.0-57-amd64/updates/dkms/zfs.ko",
                        "/etc/zinitrd/boot.conf"}) {
    CAPTURE(p);
    CHECK(read_image_member((tmp / "img").string(), p).ok());
  }
}

TEST_CASE("image segments: one trailer, at the end: `zstd -dc | cpio -t` lists every entry") {
  // What lsinitramfs (unmkinitramfs) and dracut's lsinitrd run on the compressed part: it must
  // not stop after the first segment.
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  WriteOptions o;
  o.level = 3;
  write_to(t, o, tmp / "img");
  CommandOutput cpio =
      run_command({"sh", "-c", "zstd -q -d -c \"$0\" | cpio -t --quiet", (tmp / "img").string()},
                  CommandOptions{30'000, true});
  REQUIRE(cpio.ok());
  std::string expected;
  for (const char* seg : {"config", "programs", "modules"})
    for (const ImageEntry* e : t.sorted())
      if (e->path != "/" && std::string(segment_of(*e)) == seg)
        expected += e->path.substr(1) + "\n";
  CHECK(cpio.out == expected);

  // Each frame is its own segment for the kernel; only the last carries the trailer, and inode
  // numbers never repeat.
  const std::string img = slurp(tmp / "img");
  std::vector<std::string> frames;
  for (size_t pos = 0; pos < img.size();) {
    size_t n = ZSTD_findFrameCompressedSize(img.data() + pos, img.size() - pos);
    REQUIRE_FALSE(ZSTD_isError(n));
    auto plain = zstd_decompress_frame(std::string_view(img).substr(pos, n));
    REQUIRE(plain.ok());
    frames.push_back(*plain);
    pos += n;
  }
  REQUIRE(frames.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK((frames[i].find("TRAILER!!!") != std::string::npos) == (i == 2));
    CHECK(frames[i].size() % 4 == 0);
  }
  std::set<std::string> inodes;
  for (const auto& f : frames)
    for (size_t pos = f.find("070701"); pos != std::string::npos; pos = f.find("070701", pos + 1))
      if (pos % 4 == 0 && f.compare(pos + 110, 10, "TRAILER!!!") != 0)
        CHECK(inodes.insert(f.substr(pos + 6, 8)).second);
}

TEST_CASE("image segments: modules kept compressed are not compressed hard again") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  ImageTree packed;
  write_file(tmp / "ahci.ko.xz",
             "\xfd"
             "7zXZ" +
                 noise(30000, 5));
  for (const ImageEntry* e : t.sorted())
    if (e->kind == ImageEntry::Kind::kFile && !e->inline_data &&
        std::string(segment_of(*e)) != "modules")
      REQUIRE(packed.add_file(e->path, e->source, e->mode).ok());
  REQUIRE(packed
              .add_file("/usr/lib/modules/6.12.0/kernel/drivers/ata/ahci.ko.xz",
                        (tmp / "ahci.ko.xz").string())
              .ok());
  WriteOptions o;
  o.cache_dir = (tmp / "cache").string();
  WriteStats st;
  write_to(packed, o, tmp / "img", &st);
  using C = SegmentStats::Cache;
  // Level 3 for the .ko.xz segment (below the cache's threshold), 19 for the programs.
  CHECK(cache_states(st) == std::vector<C>{C::kNone, C::kStored, C::kNone});
  auto ahci = read_image_member((tmp / "img").string(),
                                "/usr/lib/modules/6.12.0/kernel/drivers/ata/ahci.ko.xz");
  REQUIRE(ahci.ok());
  CHECK(*ahci == slurp(tmp / "ahci.ko.xz"));
}

TEST_CASE("image segments: an unusable cache is a note, never a failed build") {
  TempDir tmp("zinitrd-segments");
  ImageTree t = real_shaped_tree(tmp);
  write_file(tmp / "cache", "a file where the directory should be");
  WriteOptions o;
  o.cache_dir = (tmp / "cache").string();
  WriteStats st;
  const std::string img = write_to(t, o, tmp / "img", &st);
  REQUIRE(st.notes.size() == 1);
  CHECK(st.notes[0].find("not kept between builds") != std::string::npos);
  o.cache_dir.clear();
  CHECK(write_to(t, o, tmp / "plain") == img);

  // Below kSegmentCacheFromLevel nothing is cached: compressing is as fast as checking a copy.
  o.cache_dir = (tmp / "cache3").string();
  o.level = 3;
  WriteStats fast;
  write_to(t, o, tmp / "l3", &fast);
  CHECK_FALSE(fs::exists(tmp / "cache3"));
  CHECK(cache_states(fast) == std::vector<SegmentStats::Cache>(3, SegmentStats::Cache::kNone));
}

}  // namespace zinitrd::gen
