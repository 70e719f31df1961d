// segment_cache.h: compressed image segments kept between builds, keyed by their content.
//
// zstd at a high level (the default, 19) makes the generic image about a fifth smaller than level
// 3 but costs seconds per build, nearly all of it on the segments that change only when a kernel,
// a ZFS build or a library does: the kernel modules and the programs with their libraries.
// update-initramfs-style rebuilds (a crypttab edit, a package trigger) repeat the same bytes, so
// each such segment is stored compressed under the hash of its uncompressed cpio and reused while
// that cpio is unchanged. A reused segment is the very output compressing would give (same
// bytes, same level, same libzstd), so an image never depends on the cache's state.
//
// The cache is an optimisation only: any failure to read or write it is reported as a note and the
// segment is compressed as if there were none. An entry is used only after it decompresses to
// exactly the segment's bytes (compared in full, not by hash), so a damaged or planted entry costs
// time, never a broken image. Only root-owned directories nobody else may write are used; secrets
// (key files, SSH host keys) never reach it: the writer caches only public files outside /etc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// What a cache directory holds in all at most; older entries go first.
inline constexpr uint64_t kSegmentCacheLimit = 128ull << 20;

/// A directory of compressed segments. Not thread-safe; safe across concurrent builds (entries
/// appear by rename, readers of a pruned entry see a miss).
class SegmentCache {
 public:
  /// A cache in DIR (created 0700 when its parent exists). Returns an Error saying why it cannot
  /// be used (the caller builds without it): DIR not creatable, not a directory, owned by another
  /// user, or writable by group or others.
  static Result<SegmentCache> open(const std::string& dir);

  /// The compressed bytes stored for RAW under TAG (codec and level, e.g. "zstd19"), after
  /// checking that they decompress to exactly RAW; nullopt on a miss. A bad entry is removed.
  std::optional<std::string> find(std::string_view tag, std::string_view raw);
  /// Stores COMPRESSED for RAW under TAG (atomically: a temporary file renamed into place), then
  /// prunes the directory to kSegmentCacheLimit. Errors are returned for a note, never fatal.
  Status store(std::string_view tag, std::string_view raw, std::string_view compressed);
  /// Removes the least recently used entries until the rest take at most LIMIT bytes, and stale
  /// temporary files of interrupted builds. Returns the number of files removed.
  size_t prune(uint64_t limit);

  const std::string& dir() const { return dir_; }

 private:
  explicit SegmentCache(std::string dir) : dir_(std::move(dir)) {}
  std::string entry_path(std::string_view tag, std::string_view raw) const;

  std::string dir_;
};

/// The 128-bit XXH3 hash of DATA as 32 lowercase hex digits (the cache's entry names).
std::string content_hash(std::string_view data);

/// Decompresses the single zstd frame FRAME; an Error when it is not exactly one valid frame.
Result<std::string> zstd_decompress_frame(std::string_view frame);

}  // namespace zinitrd::gen
