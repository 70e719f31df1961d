// root_fs.h: the system an image is built for, seen through its root directory.
//
// `--root /target` builds for an installer's target without chroot, so every lookup (paths,
// symlinks, ld.so.conf, the modules tree) must stay inside that directory: an absolute symlink
// target is resolved against the root, and `..` never climbs above it. Nothing else in the
// generator touches host paths directly; tests point a RootFs at fixture trees.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "path_walk.h"  // ResolvedPath, split_path, join_path, normalize_path
#include "result.h"

namespace zinitrd::gen {

/// The root directory of the system an image is built for ("/" for the running host).
class RootFs {
 public:
  /// ROOT must be an existing directory; "/" means the host.
  explicit RootFs(std::string root);

  /// The root directory as given (no trailing slash except for "/").
  const std::string& root() const { return root_; }
  /// True when this is the running host's "/".
  bool is_host() const { return root_ == "/"; }
  /// Host path of the in-root absolute PATH, without resolving anything: ROOT + PATH.
  std::string host_path(std::string_view path) const;

  /// Resolves PATH (absolute, in-root) the way the target system would: symlinks followed with
  /// absolute targets taken relative to the root, `..` clamped at the root, at most 40 links.
  /// Errors: missing component (ENOENT), symlink loop (ELOOP), with the in-root path.
  Result<ResolvedPath> resolve(std::string_view path) const;

  /// True when PATH resolves to an existing file or directory inside the root.
  bool exists(std::string_view path) const;
  /// Reads the whole file at in-root PATH (resolved).
  Result<std::string> read_file(std::string_view path) const;
  /// Lists in-root paths matching the glob PATTERN (e.g. "/etc/modprobe.d/*.conf"), sorted.
  std::vector<std::string> glob(std::string_view pattern) const;

 private:
  std::string root_;
};

}  // namespace zinitrd::gen
