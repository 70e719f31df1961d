// image_tree.h: the set of entries an image will contain, before it is written.
//
// Passes add entries by in-image path; the tree creates parent directories, follows the image's
// own symlinks when a parent is a link (so /lib/x stays /usr/lib/x under merged /usr), and
// refuses conflicting entries (a file where a directory is). Entries come out sorted, which
// makes the written archive reproducible.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// One entry of the image.
struct ImageEntry {
  enum class Kind { kDirectory, kFile, kSymlink };
  Kind kind = Kind::kFile;
  std::string path;    ///< absolute in-image path
  mode_t mode = 0;     ///< permission bits (no type bits)
  std::string source;  ///< kFile from disk: host path to copy from (empty when `data` is used)
  std::string data;    ///< kFile generated in memory; kSymlink: the link target
  bool inline_data = false;  ///< kFile: content is `data`, not `source`
};

/// The entries of one image, keyed by path.
class ImageTree {
 public:
  ImageTree();

  /// Adds directory PATH (and its parents).
  Status add_directory(std::string_view path, mode_t mode = 0755);
  /// Adds symlink PATH -> TARGET (target stored verbatim).
  Status add_symlink(std::string_view path, std::string_view target);
  /// Adds a file copied from host path SOURCE; MODE 0 takes the source's permission bits.
  Status add_file(std::string_view path, std::string_view source, mode_t mode = 0);
  /// Adds a file with CONTENT generated in memory.
  Status add_data(std::string_view path, std::string content, mode_t mode = 0644);
  /// Adds the in-root PATH of ROOT as the system would see it: every symlink crossed on the way
  /// becomes a symlink entry, the final target a file or directory entry. This keeps merged-/usr
  /// links and library symlink chains as they are on the system.
  Status add_from_root(const RootFs& root, std::string_view path);

  /// True when PATH (after following the image's own symlinks) is already present.
  bool contains(std::string_view path) const;
  /// The entry at exactly PATH, or nullptr.
  const ImageEntry* find(std::string_view path) const;
  /// All entries, sorted by path (parents before children).
  std::vector<const ImageEntry*> sorted() const;
  /// Number of entries.
  size_t size() const { return entries_.size(); }

 private:
  // Follows symlinks of the image in the parent components of PATH.
  std::string canonical_parent(std::string_view path) const;
  Status insert(ImageEntry entry);

  std::map<std::string, ImageEntry> entries_;
};

}  // namespace zinitrd::gen
