// root_fs.cc: path resolution confined to a root directory.
//
// resolve() is walk_path() (path_walk.h) with one lstat(2) of ROOT + the resolved prefix per
// component: because every step is lexical plus one lstat of a path we built, and absolute
// link targets restart at ROOT, no lookup can land on a host file outside ROOT.
#include "root_fs.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "fd.h"

namespace zinitrd::gen {
namespace {

bool has_glob_magic(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

RootFs::RootFs(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (root_.empty()) root_ = "/";
}

std::string RootFs::host_path(std::string_view path) const {
  if (is_host()) return path.empty() ? std::string("/") : std::string(path);
  if (path.empty() || path == "/") return root_;
  std::string out = root_;
  if (path.front() != '/') out += '/';
  out += path;
  return out;
}

Result<ResolvedPath> RootFs::resolve(std::string_view path) const {
  return walk_path(path, [this](const std::string& in_root) -> Result<PathNode> {
    const std::string host = host_path(in_root);
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0) return PathNode{PathNode::Kind::kMissing, {}, errno};
    if (S_ISDIR(st.st_mode)) return PathNode{};
    if (!S_ISLNK(st.st_mode)) return PathNode{PathNode::Kind::kOther, {}, 0};
    std::string target(st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 256, '\0');
    for (;;) {
      ssize_t n = ::readlink(host.c_str(), target.data(), target.size());
      if (n < 0) {
        int err = errno;
        return Error::sys("readlink", in_root, err);
      }
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        return PathNode{PathNode::Kind::kSymlink, std::move(target), 0};
      }
      target.resize(target.size() * 2);
    }
  });
}

bool RootFs::exists(std::string_view path) const {
  auto r = resolve(path);
  if (!r) return false;
  struct stat st;
  return ::stat(host_path(r->path).c_str(), &st) == 0;
}

Result<std::string> RootFs::read_file(std::string_view path) const {
  auto r = resolve(path);
  if (!r) return r.error();
  Fd fd(::open(host_path(r->path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    return Error::sys("open", path, err);
  }
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      return Error::sys("read", path, err);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

std::vector<std::string> RootFs::glob(std::string_view pattern) const {
  // The literal directory prefix is resolved inside the root first, so that an absolute symlink
  // such as ROOT/etc -> /somewhere is followed within ROOT; glob(3) then only expands the rest.
  auto parts = split_path(pattern);
  size_t literal = 0;
  while (literal + 1 < parts.size() && !has_glob_magic(parts[literal])) ++literal;
  std::string prefix;  // in-root literal prefix as written
  for (size_t i = 0; i < literal; ++i) prefix += "/" + parts[i];
  std::string rest;
  for (size_t i = literal; i < parts.size(); ++i) rest += "/" + parts[i];
  if (rest.empty()) return {};

  std::string dir = "/";
  if (!prefix.empty()) {
    auto r = resolve(prefix);
    if (!r) return {};
    dir = r->path;
  }
  std::string host_dir = host_path(dir);
  if (host_dir == "/") host_dir.clear();
  std::string host_pattern = host_dir + rest;

  glob_t g{};
  std::vector<std::string> out;
  if (::glob(host_pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string_view m(g.gl_pathv[i]);
      if (m.substr(0, host_dir.size()) != host_dir) continue;
      std::string in_root = prefix + std::string(m.substr(host_dir.size()));
      // Wildcard components crossed by glob(3) use host semantics; keep only matches that also
      // exist when resolved inside the root.
      if (exists(in_root)) out.push_back(std::move(in_root));
    }
  }
  ::globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace zinitrd::gen
