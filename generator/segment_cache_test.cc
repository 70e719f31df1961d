// segment_cache_test.cc: entries come back only as the bytes they were stored for, damaged ones
// are dropped, unsafe directories are refused, pruning keeps the most recently used.
#include "segment_cache.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>

#include "image_writer.h"
#include "test_support.h"

namespace zinitrd::gen {
namespace {

namespace fs = std::filesystem;
using test::slurp;
using test::TempDir;
using test::write_file;

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

void set_mtime(const fs::path& p, time_t when) {
  struct timeval tv[2] = {{when, 0}, {when, 0}};
  REQUIRE(::utimes(p.c_str(), tv) == 0);
}

}  // namespace

TEST_CASE("segment cache: content hash is 32 hex digits and tells contents apart") {
  CHECK(content_hash("abc").size() == 32);
  CHECK(content_hash("abc") == content_hash("abc"));
  CHECK(content_hash("abc") != content_hash("abd"));
  CHECK(content_hash("") != content_hash(std::string(1, '\0')));
}

TEST_CASE("segment cache: a stored frame comes back for the same bytes and tag only") {
  TempDir tmp("zinitrd-cache");
  auto cache = SegmentCache::open((tmp / "c").string());
  REQUIRE(cache.ok());
  CHECK((fs::status(tmp / "c").permissions() & fs::perms::all) == fs::perms::owner_all);
  const std::string raw(100000, 'r');
  auto frame = zstd_compress(raw, 19, 1);
  REQUIRE(frame.ok());
  CHECK_FALSE(cache->find("t1", raw).has_value());
  REQUIRE(cache->store("t1", raw, *frame).ok());
  auto hit = cache->find("t1", raw);
  REQUIRE(hit.has_value());
  CHECK(*hit == *frame);
  CHECK_FALSE(cache->find("t2", raw).has_value());                  // another level or libzstd
  CHECK_FALSE(cache->find("t1", raw.substr(1) + "x").has_value());  // other bytes
  CHECK(entries(tmp / "c").size() == 1);                            // no temporary left behind
}

TEST_CASE("segment cache: a damaged or mismatched entry is a miss and is removed") {
  TempDir tmp("zinitrd-cache");
  auto cache = SegmentCache::open((tmp / "c").string());
  REQUIRE(cache.ok());
  const std::string raw = "segment bytes " + std::string(5000, 's');
  auto frame = zstd_compress(raw, 19, 1);
  REQUIRE(frame.ok());

  SUBCASE("truncated") {
    REQUIRE(cache->store("t", raw, frame->substr(0, frame->size() - 3)).ok());
  }
  SUBCASE("trailing bytes") { REQUIRE(cache->store("t", raw, *frame + "junk").ok()); }
  SUBCASE("a valid frame of other content (planted under this entry's name)") {
    auto other = zstd_compress(raw.substr(0, raw.size() - 1) + "!", 19, 1);
    REQUIRE(other.ok());
    REQUIRE(cache->store("t", raw, *other).ok());
  }
  REQUIRE(entries(tmp / "c").size() == 1);
  CHECK_FALSE(cache->find("t", raw).has_value());
  CHECK(entries(tmp / "c").empty());
}

TEST_CASE("segment cache: unsafe or unusable directories are refused with the reason") {
  TempDir tmp("zinitrd-cache");
  SUBCASE("writable by others") {
    fs::create_directory(tmp / "c");
    ::chmod((tmp / "c").c_str(), 0777);
    auto r = SegmentCache::open((tmp / "c").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("writable by group or others") != std::string::npos);
  }
  SUBCASE("a file in its place") {
    write_file(tmp / "c", "x");
    auto r = SegmentCache::open((tmp / "c").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not a directory") != std::string::npos);
  }
  SUBCASE("parent missing") {
    auto r = SegmentCache::open((tmp / "no" / "c").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find((tmp / "no" / "c").string()) != std::string::npos);
  }
  SUBCASE("owned by another user") {
    if (::geteuid() != 0) return zinitrd::test::skip("needs root to chown a directory");
    fs::create_directory(tmp / "c");
    ::chmod((tmp / "c").c_str(), 0700);
    REQUIRE(::chown((tmp / "c").c_str(), 65534, 65534) == 0);
    auto r = SegmentCache::open((tmp / "c").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("belongs to uid 65534") != std::string::npos);
  }
  SUBCASE("relative") { CHECK_FALSE(SegmentCache::open("relative/dir").ok()); }
}

TEST_CASE("segment cache: pruning drops the least recently used, and stale temporaries") {
  TempDir tmp("zinitrd-cache");
  auto cache = SegmentCache::open((tmp / "c").string());
  REQUIRE(cache.ok());
  const time_t now = ::time(nullptr);
  std::vector<std::string> raws;
  for (int i = 0; i < 4; ++i) {
    raws.push_back(std::string(1000 + i, static_cast<char>('a' + i)));
    REQUIRE(cache->store("t", raws.back(), "frame-of-100-bytes" + std::string(82, 'x')).ok());
  }
  // Ages: entry 0 oldest ... entry 3 newest.
  auto all = entries(tmp / "c");
  REQUIRE(all.size() == 4);
  for (const auto& p : all)
    for (int i = 0; i < 4; ++i)
      if (p.filename().string().find(std::to_string(1000 + i) + ".zst") != std::string::npos)
        set_mtime(p, now - 1000 + i * 100);
  write_file(tmp / "c" / ".tmp-old", "partial");
  set_mtime(tmp / "c" / ".tmp-old", now - 7200);
  write_file(tmp / "c" / ".tmp-new", "partial");  // a build writing right now: kept
  write_file(tmp / "c" / "unrelated", "kept");    // not ours: never touched

  CHECK(cache->prune(250) == 3);  // two entries fit in 250 bytes; one temporary is stale
  std::vector<std::string> left;
  for (const auto& p : entries(tmp / "c")) left.push_back(p.filename().string());
  std::sort(left.begin(), left.end());
  CAPTURE(left);
  REQUIRE(left.size() == 4);
  CHECK(left[0] == ".tmp-new");
  auto sized = [](const std::string& name, const char* size) {
    std::string suffix = "-";  // appended, not `"-" + ...`: GCC 12's false -Wrestrict
    suffix += size;
    suffix += ".zst";
    return name.find(suffix) != std::string::npos;
  };
  CHECK(((sized(left[1], "1002") && sized(left[2], "1003")) ||
         (sized(left[1], "1003") && sized(left[2], "1002"))));
  CHECK(left[3] == "unrelated");
}

TEST_CASE("segment cache: a frame must be exactly one whole zstd frame") {
  auto frame = zstd_compress("hello", 3, 1);
  REQUIRE(frame.ok());
  auto plain = zstd_decompress_frame(*frame);
  REQUIRE(plain.ok());
  CHECK(*plain == "hello");
  CHECK_FALSE(zstd_decompress_frame(*frame + *frame).ok());
  CHECK_FALSE(zstd_decompress_frame(frame->substr(0, 6)).ok());
  CHECK_FALSE(zstd_decompress_frame("not zstd at all").ok());
}

}  // namespace zinitrd::gen
