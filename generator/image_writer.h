// image_writer.h: writes an ImageTree as a compressed newc cpio, the format the kernel unpacks.
//
// The archive is written with libarchive (newc), compressed in-process; zstd uses libzstd with
// worker threads. Output is reproducible: entries sorted, uid/gid 0, one fixed mtime, inode
// numbers assigned in order, so the same inputs give byte-identical images.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "image_tree.h"
#include "result.h"

namespace zinitrd::gen {

/// Compressors the kernel can unpack (CONFIG_RD_*).
enum class Compression { kZstd, kGzip, kXz, kLz4, kNone };

/// Parses "zstd", "gzip", "xz", "lz4" or "none".
Result<Compression> parse_compression(std::string_view name);
/// The name parse_compression accepts for C.
std::string_view compression_name(Compression c);

/// zstd's level when none is given: about a fifth smaller than level 3 on the generic image; its
/// cost is paid once per kernel and library set thanks to the segment cache (image_segments.h).
inline constexpr int kDefaultZstdLevel = 19;

/// What to tell a user whose build ran out of memory (zstd's high levels need the most).
inline constexpr const char* kLessMemoryAdvice =
    "lower levels need far less (--level 3, or `level = 3` in zinitrd.conf)";

/// How to write an image.
struct WriteOptions {
  Compression compression = Compression::kZstd;
  int level = -1;     ///< compressor level; -1 = the compressor's sensible default
  int64_t mtime = 0;  ///< mtime of every entry (SOURCE_DATE_EPOCH when set)
  int threads = 0;    ///< compression threads; 0 = number of CPUs
  /// zstd: the directory compressed segments are kept in between builds (segment_cache.h);
  /// empty: none.
  std::string cache_dir;
};

/// One compressed segment of a zstd image (image_segments.h).
struct SegmentStats {
  enum class Cache { kNone, kReused, kStored };
  std::string name;  ///< "config", "programs" or "modules"
  size_t entries = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t compressed_bytes = 0;
  Cache cache = Cache::kNone;  ///< taken from the cache, compressed and stored, or neither
};

/// What was written.
struct WriteStats {
  uint64_t uncompressed_bytes = 0;  ///< size of the cpio before compression
  uint64_t compressed_bytes = 0;    ///< size written to the file descriptor
  size_t entries = 0;
  std::vector<SegmentStats> segments;  ///< zstd: its segments, in image order
  std::vector<std::string> notes;      ///< what the user may want to know (the cache unusable)
};

/// Writes TREE to the open file descriptor FD (at its current offset). On error, FD's content is
/// undefined; the caller discards it (see OutputFile).
Result<WriteStats> write_image(const ImageTree& tree, const WriteOptions& options, int fd);

/// How write_cpio lays out one archive.
struct CpioLayout {
  int64_t first_ino = 1;  ///< inode number of the first entry, the next ones counting up
  /// Ends with the TRAILER!!! entry. Without it, the archive continues in whatever follows: the
  /// kernel needs no trailer (each entry leaves its parser ready for the next header, across
  /// compressed segments too), and `zstd -dc | cpio` reads the segments as the one archive they
  /// make.
  bool trailer = true;
};

/// Appends ENTRIES (in this order) as one uncompressed newc cpio to OUT; returns its size.
Result<uint64_t> write_cpio(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                            std::string& out, const CpioLayout& layout = {});
/// RAW as one zstd frame (with its size and a checksum) at LEVEL with THREADS workers: the same
/// bytes for any THREADS >= 1, so images reproduce across machines.
Result<std::string> zstd_compress(std::string_view raw, int level, int threads);
/// One cpio archive compressed while it is written.
struct ZstdCpio {
  uint64_t uncompressed_bytes = 0;
  std::string frame;
};
/// ENTRIES as write_cpio lays them out, compressed into one zstd frame at LEVEL with THREADS
/// workers as libarchive writes them, so that reading the files overlaps compressing them. The
/// frame does not record its size, and its window is the level's: other bytes than zstd_compress
/// gives for the same archive, the same for any THREADS >= 1.
Result<ZstdCpio> write_cpio_zstd(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                                 const CpioLayout& layout, int level, int threads);
/// The compression workers OPTIONS asks for: its threads, or one per CPU this process may use.
int compression_threads(const WriteOptions& options);

}  // namespace zinitrd::gen
