// image_segments.cc: the zstd image's segments and their cache (see image_segments.h).
#include "image_segments.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <new>
#include <optional>
#include <system_error>
#include <thread>

#include "module_file.h"
#include "segment_cache.h"

namespace zinitrd::gen {
namespace {

constexpr std::array<const char*, 3> kSegments = {"config", "programs", "modules"};
constexpr int64_t kInodesPerSegment = 1 << 24;  // newc's inode field has 32 bits

// A kernel module file (.ko, .ko.xz, .ko.zst, .ko.gz) under a modules directory.
bool is_module(std::string_view path) {
  return path.find("/lib/modules/") != std::string_view::npos &&
         std::string_view(uncompressed_module_path(path)).ends_with(".ko");
}

// The permission bits the written entry will have (write_archive: 0 takes the source's).
mode_t effective_mode(const ImageEntry& e) {
  if (e.mode != 0 || e.inline_data) return e.mode;
  struct stat st;
  return ::stat(e.source.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Writes the compressed SEGMENT to FD.
Status write_fd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("write image", "", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

struct Segment {
  std::vector<const ImageEntry*> entries;
  std::string raw;  // uncompressed cpio
  std::optional<std::string> compressed;
  std::optional<Error> error;
  SegmentStats stats;
  int level = 0;
  bool cacheable = false;
};

// Modules kept compressed (.ko.xz, .ko.zst, .ko.gz: Debian 13 ships .ko.xz) do not shrink again:
// level 19 would spend about 10 s on a generic image's 19 MB of them for nothing.
constexpr int kLevelForCompressed = 3;

bool compressed_modules_only(const std::vector<const ImageEntry*>& entries) {
  return !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const ImageEntry* e) {
    return module_compression(e->path) != ModuleCompression::kNone;
  });
}

// Which of kSegments ENTRY goes into.
size_t segment_index(const ImageEntry& e) {
  if (e.kind != ImageEntry::Kind::kFile) return 0;
  if (is_module(e.path)) return 2;
  // Generated, under /etc, at the top (/init) or readable by its owner only: config, never cached.
  if (e.inline_data || e.path.starts_with("/etc/") || e.path.find('/', 1) == std::string::npos)
    return 0;
  if ((effective_mode(e) & 0044) == 0) return 0;
  return 1;
}

}  // namespace

const char* segment_of(const ImageEntry& e) { return kSegments[segment_index(e)]; }

Result<WriteStats> write_zstd_segments(const ImageTree& tree, const WriteOptions& options, int fd) {
  const int level = options.level >= 0 ? options.level : kDefaultZstdLevel;
  const int threads = compression_threads(options);
  WriteStats total;

  std::optional<SegmentCache> cache;
  if (!options.cache_dir.empty() && level >= kSegmentCacheFromLevel) {
    auto opened = SegmentCache::open(options.cache_dir);
    if (opened)
      cache = std::move(*opened);
    else
      total.notes.push_back("compressed segments are not kept between builds: " +
                            opened.error().message);
  }
  // A cached frame is reused only by the libzstd and level that made it.
  auto tag = [](int lv) {
    return "zstd" + std::string(ZSTD_versionString()) + "-" + std::to_string(lv);
  };

  // Pass: split the sorted entries; each segment keeps their order (parents before children).
  std::array<Segment, kSegments.size()> segs;
  for (const ImageEntry* e : tree.sorted()) {
    if (e->path == "/") continue;  // the root directory is the kernel's rootfs itself
    segs[segment_index(*e)].entries.push_back(e);
  }

  // Pass: the cpio of each segment the cache may hold, and what it holds. Below
  // kSegmentCacheFromLevel a segment is compressed as it is written, in the next pass.
  size_t last = 0;
  for (size_t i = 0; i < segs.size(); ++i)
    if (!segs[i].entries.empty()) last = i;
  auto layout_of = [last](size_t i) {
    // Inode numbers unique across the image (each segment its own range, so that no segment's
    // bytes depend on another's); a trailer only after the last segment.
    CpioLayout layout;
    layout.first_ino = static_cast<int64_t>(i) * kInodesPerSegment + 1;
    layout.trailer = i == last;
    return layout;
  };
  for (size_t i = 0; i < segs.size(); ++i) {
    Segment& s = segs[i];
    s.stats.name = kSegments[i];
    if (s.entries.empty()) continue;
    s.stats.entries = s.entries.size();
    s.level = compressed_modules_only(s.entries) ? std::min(level, kLevelForCompressed) : level;
    if (s.level < kSegmentCacheFromLevel) continue;
    auto size = write_cpio(s.entries, options.mtime, s.raw, layout_of(i));
    if (!size) return size.error();
    s.stats.uncompressed_bytes = *size;
    s.cacheable = cache && i > 0;
    if (s.cacheable) {
      s.compressed = cache->find(tag(s.level), s.raw);
      if (s.compressed) s.stats.cache = SegmentStats::Cache::kReused;
    }
  }

  // Pass: compress the rest, the segments side by side (each one's jobs are uneven: a level-19
  // job is 32 MiB, so the modules alone would leave workers idle). At the lower levels,
  // compressing costs about what reading does, so each segment is compressed while it is read.
  auto compress = [&options, threads](Segment& s, const CpioLayout& layout) {
    try {
      if (s.level < kSegmentCacheFromLevel) {
        auto z = write_cpio_zstd(s.entries, options.mtime, layout, s.level, threads);
        if (!z) {
          s.error = z.error();
          return;
        }
        s.stats.uncompressed_bytes = z->uncompressed_bytes;
        s.compressed = std::move(z->frame);
        return;
      }
      auto z = zstd_compress(s.raw, s.level, threads);
      if (z)
        s.compressed = std::move(*z);
      else
        s.error = z.error();
    } catch (const std::bad_alloc&) {  // a worker's exception would end the process unexplained
      s.error =
          Error::msg("not enough memory to compress the " + s.stats.name + " segment at level " +
                     std::to_string(s.level) + "; " + kLessMemoryAdvice);
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(segs.size());  // no allocation between starting threads and joining them
  for (size_t i = 0; i < segs.size(); ++i) {
    Segment& s = segs[i];
    if (s.entries.empty() || s.compressed) continue;
    try {
      workers.emplace_back(compress, std::ref(s), layout_of(i));
    } catch (const std::system_error&) {
      compress(s, layout_of(i));  // no thread to be had (a tight RLIMIT_NPROC, say): here, then
    }
  }
  for (auto& w : workers) w.join();

  // Pass: write them in order; store what was compressed.
  for (auto& s : segs) {
    if (s.entries.empty()) continue;
    if (s.error) return *s.error;
    if (auto st = write_fd(fd, *s.compressed); !st) return st.error();
    s.stats.compressed_bytes = s.compressed->size();
    if (s.cacheable && s.stats.cache == SegmentStats::Cache::kNone) {
      if (auto st = cache->store(tag(s.level), s.raw, *s.compressed); st)
        s.stats.cache = SegmentStats::Cache::kStored;
      else
        total.notes.push_back("the " + s.stats.name +
                              " segment was not kept for the next build: " + st.error().message);
    }
    total.entries += s.stats.entries;
    total.uncompressed_bytes += s.stats.uncompressed_bytes;
    total.compressed_bytes += s.stats.compressed_bytes;
    total.segments.push_back(s.stats);
  }
  return total;
}

}  // namespace zinitrd::gen
