// image_tree.cc: the entries of an image, with parents created and the image's own symlinks
// followed.
//
// Paths are canonicalised against the tree itself, not the host: when /lib is a symlink entry
// to usr/lib, a later /lib/x86_64-linux-gnu/libc.so.6 lands at /usr/lib/x86_64-linux-gnu/ as
// it would when the kernel unpacks the archive (a cpio member under a symlinked directory is
// created through the link). The root "/" itself is implicit and never an entry.
#include "image_tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace zinitrd::gen {
namespace {

const char* kind_name(ImageEntry::Kind k) {
  switch (k) {
    case ImageEntry::Kind::kDirectory:
      return "directory";
    case ImageEntry::Kind::kFile:
      return "file";
    case ImageEntry::Kind::kSymlink:
      return "symlink";
  }
  return "entry";
}

// Path order with '/' sorting before every other byte, so a directory's whole subtree comes
// right after it ("/a", "/a/b", "/a-b"), like `find | sort` with LC_COLLATE=C on components.
bool path_less(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char ca = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char cb = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (ca != cb) return ca < cb;
  }
  return a.size() < b.size();
}

}  // namespace

ImageTree::ImageTree() = default;

// Walks PATH through the tree's own symlink entries, in every component but the last (what is
// not a symlink entry, or not there yet, is taken as a directory: insert() checks conflicts).
// Returns "" on a symlink loop.
std::string ImageTree::canonical_parent(std::string_view path) const {
  auto r = walk_path(
      path,
      [this](const std::string& p) -> Result<PathNode> {
        auto it = entries_.find(p);
        if (it == entries_.end() || it->second.kind != ImageEntry::Kind::kSymlink)
          return PathNode{};
        return PathNode{PathNode::Kind::kSymlink, it->second.data, 0};
      },
      /*follow_last=*/false);
  return r ? r->path : std::string();
}

Status ImageTree::insert(ImageEntry entry) {
  std::string path = canonical_parent(entry.path);
  if (path.empty()) return Error::sys("add to image", entry.path, ELOOP);
  if (path == "/") {
    if (entry.kind == ImageEntry::Kind::kDirectory) return Ok{};
    return Error::msg("cannot add " + std::string(kind_name(entry.kind)) + " '" + entry.path +
                      "' to the image: it is the root directory");
  }
  entry.path = path;

  // Parents: create missing ones as directories; anything else in the way is a conflict.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string parent = path.substr(0, slash);
    auto it = entries_.find(parent);
    if (it == entries_.end()) {
      ImageEntry dir;
      dir.kind = ImageEntry::Kind::kDirectory;
      dir.path = parent;
      dir.mode = 0755;
      entries_.emplace(parent, std::move(dir));
    } else if (it->second.kind != ImageEntry::Kind::kDirectory) {
      return Error::msg("cannot add '" + path + "' to the image: its parent '" + parent +
                        "' is a " + kind_name(it->second.kind) + ", not a directory");
    }
  }

  auto it = entries_.find(path);
  if (it == entries_.end()) {
    entries_.emplace(path, std::move(entry));
    return Ok{};
  }
  const ImageEntry& old = it->second;
  if (old.kind != entry.kind) {
    return Error::msg("cannot add " + std::string(kind_name(entry.kind)) + " '" + path +
                      "' to the image: it is already a " + kind_name(old.kind));
  }
  switch (entry.kind) {
    case ImageEntry::Kind::kDirectory:
      return Ok{};  // first mode wins; directories merge
    case ImageEntry::Kind::kSymlink:
      if (old.data == entry.data) return Ok{};
      return Error::msg("cannot add symlink '" + path + "' -> '" + entry.data +
                        "' to the image: it already points to '" + old.data + "'");
    case ImageEntry::Kind::kFile:
      if (old.inline_data == entry.inline_data && old.source == entry.source &&
          old.data == entry.data && old.mode == entry.mode) {
        return Ok{};
      }
      return Error::msg("cannot add file '" + path + "' to the image: a different file (" +
                        (old.inline_data ? std::string("generated") : "from '" + old.source + "'") +
                        ") is already there");
  }
  return Ok{};
}

Status ImageTree::add_directory(std::string_view path, mode_t mode) {
  ImageEntry e;
  e.kind = ImageEntry::Kind::kDirectory;
  e.path = std::string(path);
  e.mode = mode & 07777;
  // A directory asked for through a symlink entry (/lib under merged /usr) is the link's target.
  auto it = entries_.find(canonical_parent(path));
  if (it != entries_.end() && it->second.kind == ImageEntry::Kind::kSymlink) {
    std::string through = canonical_parent(e.path + "/.");
    if (through.empty()) return Error::sys("add to image", path, ELOOP);
    e.path = std::move(through);
  }
  return insert(std::move(e));
}

Status ImageTree::add_symlink(std::string_view path, std::string_view target) {
  ImageEntry e;
  e.kind = ImageEntry::Kind::kSymlink;
  e.path = std::string(path);
  e.mode = 0777;
  e.data = std::string(target);
  return insert(std::move(e));
}

Status ImageTree::add_file(std::string_view path, std::string_view source, mode_t mode) {
  std::string src(source);
  struct stat st;
  if (::stat(src.c_str(), &st) != 0) {
    int err = errno;
    return Error::sys("stat", src, err);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::msg("cannot add '" + src + "' as '" + std::string(path) +
                      "' to the image: not a regular file");
  }
  ImageEntry e;
  e.kind = ImageEntry::Kind::kFile;
  e.path = std::string(path);
  e.mode = (mode != 0 ? mode : st.st_mode) & 07777;
  e.source = std::move(src);
  return insert(std::move(e));
}

Status ImageTree::add_data(std::string_view path, std::string content, mode_t mode) {
  ImageEntry e;
  e.kind = ImageEntry::Kind::kFile;
  e.path = std::string(path);
  e.mode = mode & 07777;
  e.data = std::move(content);
  e.inline_data = true;
  return insert(std::move(e));
}

Status ImageTree::add_from_root(const RootFs& root, std::string_view path) {
  auto r = root.resolve(path);
  if (!r) return r.error();
  for (const auto& [link, target] : r->links) {
    if (auto s = add_symlink(link, target); !s) return s;
  }
  std::string host = root.host_path(r->path);
  struct stat st;
  if (::stat(host.c_str(), &st) != 0) {
    int err = errno;
    return Error::sys("stat", host, err);
  }
  if (S_ISDIR(st.st_mode)) return add_directory(r->path, st.st_mode & 07777);
  if (S_ISREG(st.st_mode)) return add_file(r->path, host, st.st_mode & 07777);
  return Error::msg("cannot add '" + std::string(path) + "' from '" + root.root() +
                    "' to the image: not a regular file, directory or symlink");
}

bool ImageTree::contains(std::string_view path) const {
  std::string canon = canonical_parent(std::string(path) + "/.");
  if (canon.empty()) return false;
  return canon == "/" || entries_.count(canon) != 0;
}

const ImageEntry* ImageTree::find(std::string_view path) const {
  auto it = entries_.find(normalize_path(path));
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<const ImageEntry*> ImageTree::sorted() const {
  std::vector<const ImageEntry*> out;
  out.reserve(entries_.size());
  for (const auto& [p, e] : entries_) out.push_back(&e);
  std::sort(out.begin(), out.end(),
            [](const ImageEntry* a, const ImageEntry* b) { return path_less(a->path, b->path); });
  return out;
}

}  // namespace zinitrd::gen
