// segment_cache.cc: compressed segments keyed by content (see segment_cache.h).
#include "segment_cache.h"

#define XXH_INLINE_ALL  // header-only: no run-time library for one hash
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>  // libxxhash-dev (scripts/setup-debian.sh)
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>

#include "fd.h"

namespace zinitrd::gen {
namespace {

constexpr const char* kEntrySuffix = ".zst";
constexpr const char* kTempPrefix = ".tmp-";
constexpr time_t kStaleTemp = 3600;  // a temporary file this old belongs to no running build

Result<std::string> read_all(int fd, const std::string& path) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("read", path, errno);
    }
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

struct Listed {
  std::string path;
  uint64_t bytes;
  struct timespec used;
  bool temp;
};

std::vector<Listed> list_dir(const std::string& dir) {
  std::vector<Listed> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return out;
  while (dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    bool temp = name.rfind(kTempPrefix, 0) == 0;
    bool entry = name.size() > 4 && name.compare(name.size() - 4, 4, kEntrySuffix) == 0;
    if (!temp && !entry) continue;
    struct stat st;
    std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({path, static_cast<uint64_t>(st.st_size), st.st_mtim, temp});
  }
  return out;
}

}  // namespace

std::string content_hash(std::string_view data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return hex;
}

Result<std::string> zstd_decompress_frame(std::string_view frame) {
  size_t frame_size = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
  if (ZSTD_isError(frame_size) || frame_size != frame.size())
    return Error::msg("not one whole zstd frame");
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Error::msg("zstd: out of memory");
  std::string out;
  std::vector<char> buf(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{frame.data(), frame.size(), 0};
  size_t left = 1;
  while (left != 0) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    size_t before = in.pos;
    left = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(left)) return Error::msg(std::string("zstd: ") + ZSTD_getErrorName(left));
    out.append(buf.data(), o.pos);
    if (left != 0 && o.pos == 0 && in.pos == before) return Error::msg("zstd: truncated frame");
  }
  return out;
}

Result<SegmentCache> SegmentCache::open(const std::string& dir) {
  if (dir.empty() || dir.front() != '/') return Error::msg("'" + dir + "' is not an absolute path");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Error::sys("create", dir, errno);
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return Error::sys("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return Error::msg("'" + dir + "' is not a directory");
  if (st.st_uid != ::geteuid())
    return Error::msg("'" + dir + "' belongs to uid " + std::to_string(st.st_uid) +
                      ", not to this user");
  if (st.st_mode & 022)
    return Error::msg("'" + dir + "' is writable by group or others (chmod 0700 it)");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return Error::sys("write into", dir, errno);
  return SegmentCache(dir);
}

std::string SegmentCache::entry_path(std::string_view tag, std::string_view raw) const {
  return dir_ + "/" + std::string(tag) + "-" + content_hash(raw) + "-" +
         std::to_string(raw.size()) + kEntrySuffix;
}

std::optional<std::string> SegmentCache::find(std::string_view tag, std::string_view raw) {
  const std::string path = entry_path(tag, raw);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return std::nullopt;
  auto data = read_all(fd.get(), path);
  if (!data) return std::nullopt;
  auto plain = zstd_decompress_frame(*data);
  if (!plain || *plain != raw) {
    ::unlink(path.c_str());  // damaged: compressing again replaces it
    return std::nullopt;
  }
  ::futimens(fd.get(), nullptr);  // recently used: pruned last
  return std::move(*data);
}

Status SegmentCache::store(std::string_view tag, std::string_view raw,
                           std::string_view compressed) {
  const std::string path = entry_path(tag, raw);
  std::string temp = dir_ + "/" + kTempPrefix + "XXXXXX";
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) return Error::sys("create a temporary file in", dir_, errno);
  Status st = write_all(fd.get(), compressed, temp);
  if (st && ::fsync(fd.get()) != 0) st = Error::sys("fsync", temp, errno);
  if (st && ::rename(temp.c_str(), path.c_str()) != 0) st = Error::sys("rename", temp, errno);
  if (!st) {
    ::unlink(temp.c_str());
    return st;
  }
  prune(kSegmentCacheLimit);
  return Ok{};
}

size_t SegmentCache::prune(uint64_t limit) {
  std::vector<Listed> files = list_dir(dir_);
  size_t removed = 0;
  const time_t now = std::time(nullptr);
  std::vector<Listed> entries;
  for (auto& f : files) {
    if (!f.temp) {
      entries.push_back(std::move(f));
    } else if (now - f.used.tv_sec > kStaleTemp && ::unlink(f.path.c_str()) == 0) {
      ++removed;
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Listed& a, const Listed& b) {
    if (a.used.tv_sec != b.used.tv_sec) return a.used.tv_sec > b.used.tv_sec;
    if (a.used.tv_nsec != b.used.tv_nsec) return a.used.tv_nsec > b.used.tv_nsec;
    return a.path < b.path;
  });
  uint64_t kept = 0;
  for (const auto& e : entries) {
    if (kept + e.bytes <= limit) {
      kept += e.bytes;
    } else if (::unlink(e.path.c_str()) == 0) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace zinitrd::gen
