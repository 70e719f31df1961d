// root_fs.cc: path resolution confined to a root directory.
//
// resolve() walks PATH one component at a time with lstat(2) on ROOT + prefix, the way the
// kernel's path walk would inside a chroot: a symlink's target is spliced in front of the
// remaining components (an absolute target restarts at the root, not at the host's "/"), and
// ".." pops one component but never above the root. Because every step is lexical plus one
// lstat of a path we built, no lookup can land on a host file outside ROOT.
#include "root_fs.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>

#include "fd.h"

namespace zinitrd::gen {
namespace {

// Linux's MAXSYMLINKS: the kernel and glibc give up with ELOOP after 40 links.
constexpr int kMaxSymlinks = 40;

bool has_glob_magic(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

}  // namespace

std::string normalize_path(std::string_view path) {
  std::vector<std::string> parts;
  for (auto& c : split_path(path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
  }
  if (parts.empty()) return "/";
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join_path(std::string_view dir, std::string_view path) {
  if (!path.empty() && path.front() == '/') return normalize_path(path);
  std::string s(dir);
  s += '/';
  s += path;
  return normalize_path(s);
}

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
  ResolvedPath out;
  std::deque<std::string> todo;
  for (auto& c : split_path(path)) todo.push_back(std::move(c));
  std::string cur;  // canonical in-root prefix, "" meaning "/"
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      // Clamped at the root: "" has no parent.
      cur.erase(cur.empty() ? 0 : cur.rfind('/'));
      continue;
    }
    std::string next = cur + "/" + comp;
    struct stat st;
    if (::lstat(host_path(next).c_str(), &st) != 0) {
      int err = errno;
      return Error::sys("resolve", path, err);
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return Error::sys("resolve", path, ELOOP);
      std::string target(st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 256, '\0');
      ssize_t n;
      while (true) {
        n = ::readlink(host_path(next).c_str(), target.data(), target.size());
        if (n < 0) {
          int err = errno;
          return Error::sys("readlink", next, err);
        }
        if (static_cast<size_t>(n) < target.size()) break;
        target.resize(target.size() * 2);
      }
      target.resize(static_cast<size_t>(n));
      auto parts = split_path(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      if (!target.empty() && target.front() == '/') cur.clear();
      out.links.emplace_back(std::move(next), std::move(target));
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode)) {
      // Only a problem if a real component follows (a trailing "." or ".." still needs a dir).
      return Error::sys("resolve", path, ENOTDIR);
    }
    cur = std::move(next);
  }
  out.path = cur.empty() ? "/" : cur;
  return out;
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
