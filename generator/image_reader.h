// image_reader.h: reads any initramfs the kernel accepts, for `zinitrd ls|cat|extract`.
//
// An initramfs is one or more concatenated cpio segments (often an uncompressed early-microcode
// cpio first), each optionally compressed, separated by zero padding. Uncompressed newc segments
// are walked directly to find where they end; the rest is read with libarchive, which detects
// every compression the kernel supports.
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
  std::string path;         ///< as stored, normalised to start with "/"
  mode_t mode = 0;          ///< type and permission bits
  uint64_t size = 0;
  std::string link_target;  ///< symlinks only
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;
  unsigned segment = 0;     ///< index of the cpio segment it came from
  std::string compression;  ///< the segment's compression ("none", "zstd", ...)
};

/// Lists every member of every segment of the image at PATH, in archive order.
Result<std::vector<ImageMember>> list_image(std::string_view path);

/// Returns the content of MEMBER (an absolute in-image path; symlinks inside the image are
/// followed). When several segments hold the path, the last one wins, as in the kernel.
Result<std::string> read_image_member(std::string_view image, std::string_view member);

/// Extracts the image into DIR (created if needed). Never writes outside DIR: absolute paths,
/// `..` components and writes through symlinks are refused, device nodes are skipped, all with a
/// warning line appended to WARNINGS.
Status extract_image(std::string_view image, std::string_view dir, std::vector<std::string>* warnings);

}  // namespace zinitrd::gen
