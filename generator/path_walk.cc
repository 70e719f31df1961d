// path_walk.cc: see path_walk.h.
#include "path_walk.h"

#include <cerrno>
#include <deque>

namespace zinitrd::gen {
namespace {

// Linux's MAXSYMLINKS: the kernel and glibc give up with ELOOP after 40 links.
constexpr int kMaxSymlinks = 40;

}  // namespace

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

std::string join_path(std::string_view dir, std::string_view path) {
  if (!path.empty() && path.front() == '/') return normalize_path(path);
  std::string s(dir);
  s += '/';
  s += path;
  return normalize_path(s);
}

Result<ResolvedPath> walk_path(std::string_view path, const PathLookup& lookup, bool follow_last) {
  ResolvedPath out;
  std::deque<std::string> todo;
  for (auto& c : split_path(path)) todo.push_back(std::move(c));
  std::string cur;  // canonical prefix, "" meaning "/"
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      cur.erase(cur.empty() ? 0 : cur.rfind('/'));  // clamped at the root: "" has no parent
      continue;
    }
    std::string next = cur + "/" + comp;
    auto node = lookup(next);
    if (!node) return node.error();
    if (node->kind == PathNode::Kind::kMissing) return Error::sys("resolve", path, node->error);
    if (node->kind == PathNode::Kind::kSymlink && (follow_last || !todo.empty())) {
      if (++links > kMaxSymlinks) return Error::sys("resolve", path, ELOOP);
      auto parts = split_path(node->target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      if (!node->target.empty() && node->target.front() == '/') cur.clear();
      out.links.emplace_back(std::move(next), std::move(node->target));
      continue;
    }
    // Only a problem if a real component follows (a trailing "." or ".." still needs a dir).
    if (node->kind == PathNode::Kind::kOther && !todo.empty())
      return Error::sys("resolve", path, ENOTDIR);
    cur = std::move(next);
  }
  out.path = cur.empty() ? "/" : cur;
  return out;
}

}  // namespace zinitrd::gen
