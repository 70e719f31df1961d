// image_reader.h: reads any initramfs the kernel accepts, for `zinitrd ls|cat|extract`.
//
// An initramfs is one or more concatenated cpio segments (often an uncompressed early-microcode
// cpio first), each optionally compressed, separated by zero padding. Uncompressed newc segments
// are walked directly to find where they end; the rest is read with libarchive, which detects
// every compression the kernel supports.
//
// Limitation: libarchive does not report how many input bytes a decompressor consumed, so a
// compressed segment is taken to be the last one, except for zstd, whose frame length is measured
// (ZSTD_findFrameCompressedSize). Anything after a gzip/xz/lz4/lzma/bzip2/lzo segment is ignored.
// Hard links inside uncompressed segments are read as separate files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// One member of an image.
struct ImageMember {
  std::string path;  ///< as stored, normalised to start with "/"
  mode_t mode = 0;   ///< type and permission bits
  uint64_t size = 0;
  std::string link_target;  ///< symlinks only
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;
  unsigned segment = 0;         ///< index of the cpio segment it came from
  uint64_t segment_offset = 0;  ///< byte offset of that segment in the image
  std::string compression;      ///< the segment's compression ("none", "zstd", ...)
};

/// Lists every member of every segment of the image at PATH, in archive order.
Result<std::vector<ImageMember>> list_image(std::string_view path);

/// Returns the content of MEMBER (an absolute in-image path; symlinks inside the image are
/// followed). When several segments hold the path, the last one wins, as in the kernel.
Result<std::string> read_image_member(std::string_view image, std::string_view member);

/// Extracts the image into DIR (created if needed). Never writes outside DIR: absolute member
/// names are rooted in DIR (as the kernel roots them in rootfs); members with `..` components or
/// reached through a symlink are refused, and device nodes, fifos and sockets skipped, each with a
/// warning line appended to WARNINGS (may be null). Files replace earlier members of the same
/// name (the last wins, as in the kernel) without following them.
Status extract_image(std::string_view image, std::string_view dir,
                     std::vector<std::string>* warnings);

}  // namespace zinitrd::gen
