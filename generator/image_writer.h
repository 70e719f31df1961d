// image_writer.h: writes an ImageTree as a compressed newc cpio, the format the kernel unpacks.
//
// The archive is written with libarchive (newc), compressed in-process; zstd uses libzstd with
// worker threads. Output is reproducible: entries sorted, uid/gid 0, one fixed mtime, inode
// numbers assigned in order, so the same inputs give byte-identical images.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "image_tree.h"
#include "result.h"

namespace zinitrd::gen {

/// Compressors the kernel can unpack (CONFIG_RD_*).
enum class Compression { kZstd, kGzip, kXz, kLz4, kNone };

/// Parses "zstd", "gzip", "xz", "lz4" or "none".
Result<Compression> parse_compression(std::string_view name);
/// The name parse_compression accepts for C.
std::string_view compression_name(Compression c);

/// How to write an image.
struct WriteOptions {
  Compression compression = Compression::kZstd;
  int level = -1;     ///< compressor level; -1 = the compressor's sensible default
  int64_t mtime = 0;  ///< mtime of every entry (SOURCE_DATE_EPOCH when set)
  int threads = 0;    ///< compression threads; 0 = number of CPUs
};

/// What was written.
struct WriteStats {
  uint64_t uncompressed_bytes = 0;  ///< size of the cpio before compression
  uint64_t compressed_bytes = 0;    ///< size written to the file descriptor
  size_t entries = 0;
};

/// Writes TREE to the open file descriptor FD (at its current offset). On error, FD's content is
/// undefined; the caller discards it (see OutputFile).
Result<WriteStats> write_image(const ImageTree& tree, const WriteOptions& options, int fd);

}  // namespace zinitrd::gen
