// image_reader.cc: walks the segments of an initramfs like the kernel's unpack_to_rootfs().
//
// The image is mmap'd. At each 4-byte aligned offset: zero bytes are padding; "070701"/"070702"
// starts an uncompressed newc archive, parsed here so we know where it ends; a known
// compression magic starts a compressed archive, read with libarchive. zstd frames are measured
// with ZSTD_findFrameCompressedSize, so segments after a zstd one are read too; after any other
// compressed segment the walk stops (libarchive does not say reliably how many input bytes a
// filter consumed). extract_image() creates every file itself, relative to directory
// descriptors opened with O_NOFOLLOW component by component, so no symlink is ever followed.
#include "image_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "fd.h"
#include "hex.h"

namespace zinitrd::gen {

namespace {

constexpr int kMaxSymlinks = 40;
constexpr size_t kNewcHeader = 110;

// A read-only mapping of the whole image.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data_) munmap(data_, size_);
  }
  Status open(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) return Error::sys("open image", path, errno);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return Error::sys("stat image", path, errno);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
      return Error::msg("'" + path +
                        "' is not a regular file: give the path of an initramfs image");
    size_ = static_cast<size_t>(st.st_size);
    if (size_ == 0) return Error::msg("'" + path + "' is empty: it is not an initramfs image");
    void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return Error::sys("mmap image", path, errno);
    data_ = p;
    madvise(data_, size_, MADV_SEQUENTIAL);
    return Ok{};
  }
  const unsigned char* data() const { return static_cast<const unsigned char*>(data_); }
  size_t size() const { return size_; }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

// libarchive's message for A, never null.
const char* la_error(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown error";
}

struct ReadArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// The content of the member being visited.
struct Body {
  const char* mem = nullptr;  // the member's bytes: in the mapping, or in a decompressed segment
  size_t len = 0;
  std::string hardlink;  // newc hard link: normalised path of the member first seen with its inode

  // Passes the content to OUT.
  template <class F>
  Status stream(F&& out) const {
    return len ? out(mem, len) : Status(Ok{});
  }
};

using Visitor = std::function<Status(const ImageMember&, const Body&)>;

// "./x", "x" and "/x" -> "/x"; "." -> "/".
std::string normalise(std::string_view name) {
  while (true) {
    if (name.substr(0, 2) == "./")
      name.remove_prefix(2);
    else if (!name.empty() && name.front() == '/')
      name.remove_prefix(1);
    else
      break;
  }
  if (name == ".") name = "";
  while (!name.empty() && name.back() == '/') name.remove_suffix(1);
  return "/" + std::string(name);
}

struct Magic {
  const char* bytes;
  size_t len;
  const char* name;
};
constexpr Magic kMagics[] = {
    {"\x1f\x8b", 2, "gzip"},
    {"\x1f\x9e", 2, "gzip"},
    {"\xfd"
     "7zXZ\0",
     6, "xz"},
    {"\x28\xb5\x2f\xfd", 4, "zstd"},
    {"\x02\x21\x4c\x18", 4, "lz4"},
    {"\x5d\x00", 2, "lzma"},
    {"BZh", 3, "bzip2"},
    {"\x89\x4c\x5a\x4f", 4, "lzo"},
};

const char* compression_of(const unsigned char* p, size_t avail) {
  for (const auto& m : kMagics)
    if (avail >= m.len && std::memcmp(p, m.bytes, m.len) == 0) return m.name;
  return nullptr;
}

bool parse_hex(const unsigned char* p, uint32_t& v) {
  v = 0;
  for (int i = 0; i < 8; ++i) {
    int d = hex_digit(static_cast<char>(p[i]));
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return true;
}

std::string at_offset(const std::string& image, size_t off) {
  return "'" + image + "' at offset " + std::to_string(off);
}

// Bytes to walk: an uncompressed segment of the mapping, or a decompressed one.
struct Bytes {
  const unsigned char* p;
  size_t n;
  const unsigned char* data() const { return p; }
  size_t size() const { return n; }
};

// Walks one newc archive of M starting at START (4-byte aligned); returns its end. COMPRESSION and
// FILE_OFFSET: those of a decompressed segment (offsets then name the segment's start in the file).
Result<size_t> walk_newc(const std::string& image, const Bytes& m, size_t start, unsigned segment,
                         const Visitor& visit, const char* compression = "none",
                         std::optional<uint64_t> file_offset = std::nullopt) {
  const unsigned char* base = m.data();
  size_t pos = start;
  // Hard links as the kernel makes them: a regular file with nlink >= 2 whose (ino, major,
  // minor) was seen before in this archive is a link to that member.
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, std::string> links;
  for (;;) {
    // The data ends right after an entry: an archive without a trailer, which the kernel takes
    // (its parser is ready for the next header after every entry, in the next segment too).
    if (pos == m.size() && pos > start) return pos;
    if (pos > m.size() || m.size() - pos < kNewcHeader)
      return Error::msg("truncated cpio header in " + at_offset(image, pos) +
                        ": the image is damaged");
    const unsigned char* h = base + pos;
    if (std::memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2'))
      return Error::msg("bad cpio magic in " + at_offset(image, pos) + ": the image is damaged");
    uint32_t f[13];
    for (int i = 0; i < 13; ++i)
      if (!parse_hex(h + 6 + 8 * i, f[i]))
        return Error::msg("bad cpio header in " + at_offset(image, pos) + ": the image is damaged");
    // f: ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    size_t namesize = f[11], filesize = f[6];
    size_t name_end = pos + kNewcHeader + namesize;
    size_t data_start = start + ((name_end - start + 3) & ~size_t{3});
    if (namesize == 0 || name_end > m.size() || base[name_end - 1] != '\0' ||
        data_start > m.size() || filesize > m.size() - data_start)
      return Error::msg("cpio member overruns the image in " + at_offset(image, pos) +
                        ": the image is damaged");
    std::string_view name(reinterpret_cast<const char*>(h + kNewcHeader), namesize - 1);
    size_t next = start + ((data_start + filesize - start + 3) & ~size_t{3});
    if (name == "TRAILER!!!") return std::min(next, m.size());
    ImageMember mem;
    mem.path = normalise(name);
    mem.mode = f[1];
    mem.uid = f[2];
    mem.gid = f[3];
    mem.mtime = f[5];
    mem.size = filesize;
    mem.segment = segment;
    mem.segment_offset = file_offset ? *file_offset : start;
    mem.compression = compression;
    Body body;
    body.mem = reinterpret_cast<const char*>(base + data_start);
    body.len = filesize;
    if (S_ISREG(mem.mode) && f[4] >= 2) {
      auto [it, first] = links.try_emplace({f[0], f[7], f[8]}, mem.path);
      if (!first) body.hardlink = it->second;
    }
    if (S_ISLNK(mem.mode)) mem.link_target.assign(body.mem, filesize);
    if (auto st = visit(mem, body); !st) return st.error();
    pos = next;
  }
}

// Decompressed bytes past this are refused: no initramfs comes near it, and a hostile image
// could otherwise expand a few kilobytes into all of memory.
constexpr size_t kMaxDecompressed = size_t{4} << 30;

// Reads one compressed segment: libarchive decompresses it (raw format, bounded by
// kMaxDecompressed), and the newc archives in it are walked like an uncompressed segment, so a
// member's header can never make the reader allocate what the data does not hold.
Status walk_compressed(const std::string& image, const unsigned char* p, size_t len,
                       unsigned segment, uint64_t offset, const char* compression,
                       const Visitor& visit) {
  auto where = [&] {
    return std::string(compression) + " segment " + std::to_string(segment) + " of '" + image + "'";
  };
  std::unique_ptr<archive, ReadArchiveDeleter> a(archive_read_new());
  if (!a) return Error::msg("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  archive_entry* e;
  if (archive_read_open_memory(a.get(), p, len) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return Error::msg("cannot read the " + where() + ": " + la_error(a.get()) +
                      " (is this compression supported by libarchive here?)");
  std::string plain;
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) return Error::msg("corrupt " + where() + ": " + la_error(a.get()));
    if (plain.size() + static_cast<size_t>(n) > kMaxDecompressed)
      return Error::msg("the " + where() + " decompresses past 4 GiB: it is not an initramfs");
    plain.append(buf, static_cast<size_t>(n));
  }
  const Bytes bytes{reinterpret_cast<const unsigned char*>(plain.data()), plain.size()};
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.data()[pos] == 0) {  // padding after an archive
      ++pos;
      continue;
    }
    auto end = walk_newc(image, bytes, pos, segment, visit, compression, offset);
    if (!end) return Error::msg("corrupt " + where() + ": " + end.error().message);
    pos = *end;
  }
  return Ok{};
}

// Calls VISIT for every member of every segment, in archive order.
Status walk_image(std::string_view image_path, const Visitor& visit) {
  std::string image(image_path);
  Mapping m;
  if (auto st = m.open(image); !st) return st;
  size_t pos = 0;
  unsigned segment = 0;
  while (pos < m.size()) {
    if (m.data()[pos] == 0) {  // padding between segments
      ++pos;
      continue;
    }
    const unsigned char* p = m.data() + pos;
    size_t avail = m.size() - pos;
    if (avail >= 6 && std::memcmp(p, "07070", 5) == 0 && (p[5] == '1' || p[5] == '2')) {
      auto end = walk_newc(image, Bytes{m.data(), m.size()}, pos, segment, visit);
      if (!end) return end.error();
      pos = *end;
      ++segment;
      continue;
    }
    const char* comp = compression_of(p, avail);
    if (!comp)
      return Error::msg("unknown data in " + at_offset(image, pos) +
                        ": neither a cpio archive nor a compression the kernel knows");
    size_t len = avail;
    bool last = true;
    if (std::strcmp(comp, "zstd") == 0) {
      size_t n = ZSTD_findFrameCompressedSize(p, avail);
      if (!ZSTD_isError(n)) {
        len = n;
        last = false;
      }
    }
    if (auto st = walk_compressed(image, p, len, segment, pos, comp, visit); !st) return st;
    ++segment;
    if (last) break;
    pos += len;
  }
  if (segment == 0)
    return Error::msg("'" + image + "' holds only zeros: it is not an initramfs image");
  return Ok{};
}

// Splits PATH into its components, dropping empty ones and ".".
std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (!c.empty() && c != ".") out.emplace_back(c);
    i = j + 1;
  }
  return out;
}

// Follows the image's own symlinks in PATH, as the kernel's path walk would in the unpacked
// rootfs. Returns "" on a loop.
std::string resolve(const std::map<std::string, ImageMember>& members, const std::string& path) {
  std::vector<std::string> todo = components(path);
  std::vector<std::string> done;
  int links = 0;
  size_t i = 0;
  while (i < todo.size()) {
    const std::string c = todo[i++];
    if (c == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    done.push_back(c);
    std::string cur;
    for (const auto& d : done) cur += "/" + d;
    auto it = members.find(cur);
    if (it == members.end() || !S_ISLNK(it->second.mode)) continue;
    if (++links > kMaxSymlinks) return "";
    const std::string& target = it->second.link_target;
    done.pop_back();
    if (!target.empty() && target.front() == '/') done.clear();
    std::vector<std::string> rest = components(target);
    rest.insert(rest.end(), todo.begin() + static_cast<ptrdiff_t>(i), todo.end());
    todo = std::move(rest);
    i = 0;
  }
  std::string out;
  for (const auto& d : done) out += "/" + d;
  return out.empty() ? "/" : out;
}

// ---- extraction ----

Status write_all(int fd, const char* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Error::sys("write", what, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Ok{};
}

// Extracts members below one directory descriptor, never following a symlink.
class Extractor {
 public:
  Extractor(int root, std::string dir, std::vector<std::string>* warnings)
      : root_(root), dir_(std::move(dir)), warnings_(warnings) {}

  Status member(const ImageMember& m, const Body& body) {
    std::vector<std::string> parts = components(m.path);
    if (parts.empty()) return Ok{};  // "/" is DIR itself
    for (const auto& c : parts)
      if (c == "..") return warn("skipped '" + m.path + "': its path contains '..'");
    std::string shown = dir_ + m.path;
    mode_t type = m.mode & S_IFMT;
    if (type == S_IFCHR || type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK)
      return warn("skipped '" + m.path + "': device nodes, fifos and sockets are not extracted");

    // Open the parent, component by component, refusing symlinks.
    Fd parent;
    int cur = root_;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      int fd = openat(cur, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT) {
        if (mkdirat(cur, parts[i].c_str(), 0755) != 0 && errno != EEXIST)
          return Error::sys("mkdir", shown, errno);
        fd = openat(cur, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
          return warn("skipped '" + m.path + "': '" + parts[i] +
                      "' on its way is a symlink or not a directory, and extraction never writes "
                      "through one");
        return Error::sys("open", shown, errno);
      }
      parent.reset(fd);
      cur = fd;
    }
    const char* name = parts.back().c_str();

    if (type == S_IFDIR) {
      if (mkdirat(cur, name, m.mode & 07777) == 0) return Ok{};
      struct stat st;
      if (errno == EEXIST && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(st.st_mode)) return Ok{};
        // The kernel replaces a non-directory by the directory; so do we.
        if (unlinkat(cur, name, 0) == 0 && mkdirat(cur, name, m.mode & 07777) == 0) return Ok{};
      }
      return Error::sys("mkdir", shown, errno);
    }
    if (type != S_IFREG && type != S_IFLNK)
      return warn("skipped '" + m.path + "': unknown member type");
    // Replace whatever is there (last member wins) without following it.
    if (unlinkat(cur, name, 0) != 0 && errno != ENOENT) {
      if (errno == EISDIR)
        return warn("skipped '" + m.path + "': a directory of that name was extracted earlier");
      return Error::sys("remove", shown, errno);
    }
    if (type == S_IFLNK) {
      if (symlinkat(m.link_target.c_str(), cur, name) != 0)
        return Error::sys("symlink", shown, errno);
    } else if (!body.hardlink.empty() && body.len == 0) {
      return hardlink(m, body.hardlink, cur, name);
    } else {
      // A hard link that carries the data (newc puts it on the group's last member) is linked
      // first, then written through, as the kernel does.
      if (!body.hardlink.empty())
        if (auto st = hardlink(m, body.hardlink, cur, name); !st) return st;
      const int excl = body.hardlink.empty() ? O_EXCL : O_TRUNC;
      Fd out(openat(cur, name, O_WRONLY | O_CREAT | excl | O_NOFOLLOW | O_CLOEXEC, m.mode & 07777));
      if (!out.valid()) return Error::sys("create", shown, errno);
      auto st =
          body.stream([&](const char* p, size_t n) { return write_all(out.get(), p, n, shown); });
      if (!st) return st;
      fchmod(out.get(), m.mode & 07777);  // not reduced by the umask
    }
    fchownat(cur, name, m.uid, m.gid, AT_SYMLINK_NOFOLLOW);  // best effort, as cpio does
    struct timespec times[2] = {{m.mtime, 0}, {m.mtime, 0}};
    utimensat(cur, name, times, AT_SYMLINK_NOFOLLOW);
    return Ok{};
  }

 private:
  Status warn(std::string w) {
    if (warnings_) warnings_->push_back(std::move(w));
    return Ok{};
  }
  // A hard link to an earlier member: linked only if it is a regular file reached
  // without symlinks.
  Status hardlink(const ImageMember& m, const std::string& target, int cur, const char* name) {
    std::vector<std::string> parts = components(target);
    Fd dir(dup(root_));
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (parts[i] == "..")
        return warn("skipped hard link '" + m.path + "': its target contains '..'");
      int fd = openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return warn("skipped hard link '" + m.path + "': target '" + target + "' is not extracted");
      dir.reset(fd);
    }
    struct stat st;
    if (parts.empty() || fstatat(dir.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || linkat(dir.get(), parts.back().c_str(), cur, name, 0) != 0)
      return warn("skipped hard link '" + m.path + "': target '" + target +
                  "' is not an extracted file");
    return Ok{};
  }

  int root_;
  std::string dir_;
  std::vector<std::string>* warnings_;
};

}  // namespace

Result<std::vector<ImageMember>> list_image(std::string_view path) {
  std::vector<ImageMember> out;
  auto st = walk_image(path, [&](const ImageMember& m, const Body&) {
    out.push_back(m);
    return Status(Ok{});
  });
  if (!st) return st.error();
  return out;
}

Result<std::string> read_image_member(std::string_view image, std::string_view member) {
  const std::string wanted = normalise(member);
  std::map<std::string, ImageMember> members;  // last one wins
  std::string content;
  // First pass: index every member and keep the content of WANTED itself (the common case).
  auto capture = [&](const std::string& path) {
    return [&, path](const ImageMember& m, const Body& body) -> Status {
      members[m.path] = m;
      if (m.path != path || !S_ISREG(m.mode)) return Ok{};
      content.clear();
      return body.stream([&](const char* p, size_t n) {
        content.append(p, n);
        return Status(Ok{});
      });
    };
  };
  if (auto st = walk_image(image, capture(wanted)); !st) return st.error();
  std::string resolved = resolve(members, wanted);
  if (resolved.empty())
    return Error::msg("'" + wanted + "' in '" + std::string(image) +
                      "': too many levels of symbolic links");
  auto it = members.find(resolved);
  if (it == members.end())
    return Error::msg("'" + wanted + "' is not in '" + std::string(image) +
                      "': list its members with `zinitrd ls " + std::string(image) + "`");
  if (S_ISDIR(it->second.mode))
    return Error::msg("'" + wanted + "' in '" + std::string(image) + "' is a directory");
  if (!S_ISREG(it->second.mode))
    return Error::msg("'" + wanted + "' in '" + std::string(image) + "' is not a regular file");
  if (resolved != wanted) {
    content.clear();
    members.clear();
    if (auto st = walk_image(image, capture(resolved)); !st) return st.error();
  }
  return content;
}

Status extract_image(std::string_view image, std::string_view dir,
                     std::vector<std::string>* warnings) {
  std::string d(dir);
  if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST)
    return Error::sys("create directory", d, errno);
  Fd root(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Error::sys("open directory", d, errno);
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  Extractor x(root.get(), d, warnings);
  return walk_image(image,
                    [&](const ImageMember& m, const Body& body) { return x.member(m, body); });
}

}  // namespace zinitrd::gen
