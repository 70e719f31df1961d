// image_segments.h: a zstd image as three compressed cpio segments, by how often they change.
//
//   config    directories, symlinks, what the build generates (boot.conf, module indexes, the
//             keymap) and everything private or under /etc (key files, host keys, hostid)
//   programs  the files copied from the root: ZFS's tools, libraries, busybox, /init, firmware
//   modules   the kernel modules
//
// The kernel unpacks concatenated segments in order (Documentation/driver-api/early-userspace/
// buffer-format.rst), so directories come first and files land in them. The programs and modules
// segments are the same bytes from one build to the next until a package or kernel changes, so
// at levels where compressing costs more than reading (>= kSegmentCacheFromLevel) they go
// through the SegmentCache, each segment's cpio made in memory first (the cache's key and check).
// Below that level nothing is cached and each segment is compressed while libarchive writes it,
// so that reading the files overlaps compressing them. Each segment numbers its inodes in a
// range of its own, so that no segment's bytes depend on another's content. Only the last
// segment ends with the cpio trailer: the kernel needs none (each entry leaves its parser ready
// for the next header), and so `zstd -dc | cpio -t`, what lsinitramfs and lsinitrd run, reads
// the segments as the one archive they make instead of stopping after the first.
#pragma once

#include "image_tree.h"
#include "image_writer.h"
#include "result.h"

namespace zinitrd::gen {

/// From this zstd level on, the programs and modules segments are cached (below it, compressing
/// them is about as fast as checking a cached copy).
inline constexpr int kSegmentCacheFromLevel = 10;

/// Which segment ENTRY goes into: "config", "programs" or "modules".
const char* segment_of(const ImageEntry& entry);

/// Writes TREE to FD as the zstd segments above (write_image's zstd path). A modules segment made
/// only of modules kept compressed (.ko.xz...) is written at level 3 at most: they do not shrink
/// again, and level 19 would cost seconds for nothing.
Result<WriteStats> write_zstd_segments(const ImageTree& tree, const WriteOptions& options, int fd);

}  // namespace zinitrd::gen
