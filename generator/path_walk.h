// path_walk.h: lexical path helpers and the generator's one symlink walk.
//
// Two things resolve paths the way the kernel would inside a chroot: RootFs (the system an image
// is built for, on disk under --root) and ImageTree (the image, in memory, where /lib may be a
// link to usr/lib). walk_path() is that walk for both: a symlink's target is spliced in front of
// the remaining components (an absolute target restarts at the root, never the host's "/"),
// ".." pops one component but never climbs above the root, and more than 40 links is a loop
// (Linux's MAXSYMLINKS). The caller only says what is at each path.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// Splits PATH on '/', dropping empty components ("/a//b/" -> "a", "b").
std::vector<std::string> split_path(std::string_view path);
/// Joins an absolute directory and a relative or absolute path, normalising "//", "." and "..".
std::string join_path(std::string_view dir, std::string_view path);
/// Lexically normalises an absolute path: collapses "//" and ".", resolves ".." (clamped at "/").
std::string normalize_path(std::string_view path);

/// A path resolved by walk_path: every symlink crossed on the way, and the final path.
struct ResolvedPath {
  std::string path;  ///< canonical absolute path of the final target ("/" for the root)
  /// Symlinks crossed, in order: absolute path of the link, and its target text as stored.
  std::vector<std::pair<std::string, std::string>> links;
};

/// What is at one absolute path, as a walk needs to know it.
struct PathNode {
  enum class Kind { kDirectory, kSymlink, kOther, kMissing };
  Kind kind = Kind::kDirectory;
  std::string target;  ///< kSymlink: the link's target as stored
  int error = 0;       ///< kMissing: why (errno of the lookup: ENOENT, EACCES...)
};

/// Says what is at absolute PATH (whose parents are resolved already); errors end the walk.
using PathLookup = std::function<Result<PathNode>(const std::string& path)>;

/// Resolves absolute PATH through LOOKUP. FOLLOW_LAST: a symlink as last component is followed
/// too (else it is the result). Errors, with PATH: ELOOP after 40 links, the kMissing node's
/// errno, ENOTDIR when a kOther node is followed by more components, or LOOKUP's own error.
Result<ResolvedPath> walk_path(std::string_view path, const PathLookup& lookup,
                               bool follow_last = true);

}  // namespace zinitrd::gen
