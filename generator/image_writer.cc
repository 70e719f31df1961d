// image_writer.cc: ImageTree -> newc cpio (libarchive) -> compressor -> file descriptor.
//
// libarchive writes the archive; its write callback feeds a Sink that compresses and writes to
// the descriptor. zstd goes through libzstd with worker threads (image_segments.h splits the
// image into segments, compressed from memory or as they are written, and keeps them between
// builds). gzip uses libarchive's own filter (with its header timestamp disabled, for
// reproducibility). xz and lz4 need formats libarchive 3.6 cannot produce: the kernel's xz decoder
// only accepts CRC32 (or no) integrity checks (Documentation/staging/xz.rst) while libarchive
// writes CRC64, and the kernel's unlz4 only reads the legacy lz4 format (magic 0x184C2102) while
// libarchive writes lz4 frames. Both are therefore written with liblzma / liblz4 directly.
#include "image_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "fd.h"
#include "image_segments.h"

namespace zinitrd::gen {

namespace {

constexpr size_t kChunk = 1 << 20;           // read and block size
constexpr size_t kLz4LegacyChunk = 8 << 20;  // uncompressed bytes per legacy lz4 block (kernel)
constexpr uint32_t kLz4LegacyMagic = 0x184C2102;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

// Writes everything to FD, counting bytes.
class FdOut {
 public:
  explicit FdOut(int fd) : fd_(fd) {}
  /// Appends to MEM instead (a segment before it is compressed, or a compressed one to cache).
  explicit FdOut(std::string* mem) : mem_(mem) {}
  Status write(const void* data, size_t size) {
    auto p = static_cast<const char*>(data);
    if (mem_) {
      mem_->append(p, size);
      bytes_ += size;
      return Ok{};
    }
    while (size > 0) {
      ssize_t n = ::write(fd_, p, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::sys("write image", "", errno);
      }
      p += n;
      size -= static_cast<size_t>(n);
      bytes_ += static_cast<uint64_t>(n);
    }
    return Ok{};
  }
  uint64_t bytes() const { return bytes_; }

 private:
  int fd_ = -1;
  std::string* mem_ = nullptr;
  uint64_t bytes_ = 0;
};

// Receives the cpio stream (already compressed when libarchive filters it).
class Sink {
 public:
  explicit Sink(FdOut& out) : out_(out) {}
  virtual ~Sink() = default;
  virtual Status write(const void* data, size_t size) { return out_.write(data, size); }
  virtual Status finish() { return Ok{}; }
  FdOut& out() { return out_; }

 protected:
  FdOut& out_;
};

// libarchive always closes an archive with the trailer: a header and "TRAILER!!!\0", padded to 4.
constexpr size_t kTrailerBytes = 124;

// Passes the archive on to NEXT but for its last kTrailerBytes, which finish() checks are the
// trailer and drops (CpioLayout::trailer false): the archive continues in the next segment.
class DropTrailerSink : public Sink {
 public:
  explicit DropTrailerSink(Sink& next) : Sink(next.out()), next_(next) {}
  Status write(const void* data, size_t size) override {
    auto p = static_cast<const char*>(data);
    if (held_.size() + size <= kTrailerBytes) {
      held_.append(p, size);
      return Ok{};
    }
    // Pass on all but the last kTrailerBytes of what is held and DATA, the held bytes first.
    const size_t pass = held_.size() + size - kTrailerBytes;
    const size_t from_held = std::min(pass, held_.size());
    if (from_held > 0) {
      if (auto st = next_.write(held_.data(), from_held); !st) return st;
      held_.erase(0, from_held);
    }
    const size_t from_data = pass - from_held;
    if (from_data > 0)
      if (auto st = next_.write(p, from_data); !st) return st;
    held_.append(p + from_data, size - from_data);
    return Ok{};
  }
  Status finish() override {
    if (held_.size() != kTrailerBytes || held_.compare(0, 6, "070701") != 0 ||
        held_.compare(110, 11, std::string_view("TRAILER!!!\0", 11)) != 0)
      return Error::msg("libarchive ended the cpio archive in an unexpected way (no trailer)");
    return next_.finish();
  }

 private:
  Sink& next_;
  std::string held_;
};

// The CPUs this process may run on (taskset, cgroup cpusets), not every CPU online.
int cpu_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

// zstd through libzstd, always in its multi-threaded mode, even with one worker: that mode's
// output is the same for any number of workers >= 1, while single-threaded zstd writes other
// bytes, so a 1-CPU builder would not reproduce an image made on a bigger one. No long-distance
// matching: the window stays at the level's size, which the kernel's unzstd accepts.
class ZstdSink : public Sink {
 public:
  explicit ZstdSink(FdOut& out) : Sink(out), out_buf_(ZSTD_CStreamOutSize() * 8) {}
  ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }

  Status init(int level, int threads) {
    level_ = level;
    cctx_ = ZSTD_createCCtx();
    if (!cctx_) return Error::msg("zstd: cannot create a compression context (out of memory?)");
    if (auto st = check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level)); !st)
      return st;
    if (auto st = check(ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1)); !st) return st;
    // A libzstd built without threads rejects nbWorkers: its single-threaded output still boots,
    // it just differs from the images of other builders.
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, std::max(threads, 1));
    return Ok{};
  }
  Status write(const void* data, size_t size) override { return run(data, size, ZSTD_e_continue); }
  Status finish() override { return run(nullptr, 0, ZSTD_e_end); }
  /// The whole input in one call, then the end of the frame.
  Status finish_with(const void* data, size_t size) { return run(data, size, ZSTD_e_end); }

 private:
  Status check(size_t r) const {
    if (!ZSTD_isError(r)) return Ok{};
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
      return Error::msg("zstd: not enough memory to compress at level " + std::to_string(level_) +
                        "; " + kLessMemoryAdvice);
    return Error::msg(std::string("zstd: ") + ZSTD_getErrorName(r));
  }
  Status run(const void* data, size_t size, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer o{out_buf_.data(), out_buf_.size(), 0};
      size_t left = ZSTD_compressStream2(cctx_, &o, &in, mode);
      if (auto st = check(left); !st) return st;
      if (o.pos > 0)
        if (auto st = out_.write(out_buf_.data(), o.pos); !st) return st;
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return Ok{};
    }
  }

  ZSTD_CCtx* cctx_ = nullptr;
  int level_ = 0;
  std::vector<char> out_buf_;
};

// xz with a CRC32 check, multi-threaded (independent blocks, which the kernel's decoder reads).
class XzSink : public Sink {
 public:
  explicit XzSink(FdOut& out) : Sink(out), out_buf_(kChunk) {}
  ~XzSink() override {
    if (started_) lzma_end(&strm_);
  }

  Status init(int level, int threads) {
    lzma_mt mt{};
    mt.threads = static_cast<uint32_t>(threads);
    mt.preset = static_cast<uint32_t>(level);
    mt.check = LZMA_CHECK_CRC32;  // the kernel's xz decoder supports CRC32 and none only
    if (lzma_ret r = lzma_stream_encoder_mt(&strm_, &mt); r != LZMA_OK)
      return Error::msg("xz: cannot start the encoder (error " + std::to_string(r) + ")");
    started_ = true;
    return Ok{};
  }
  Status write(const void* data, size_t size) override { return run(data, size, LZMA_RUN); }
  Status finish() override { return run(nullptr, 0, LZMA_FINISH); }

 private:
  Status run(const void* data, size_t size, lzma_action action) {
    strm_.next_in = static_cast<const uint8_t*>(data);
    strm_.avail_in = size;
    for (;;) {
      strm_.next_out = reinterpret_cast<uint8_t*>(out_buf_.data());
      strm_.avail_out = out_buf_.size();
      lzma_ret r = lzma_code(&strm_, action);
      size_t produced = out_buf_.size() - strm_.avail_out;
      if (produced > 0)
        if (auto st = out_.write(out_buf_.data(), produced); !st) return st;
      if (r == LZMA_STREAM_END) return Ok{};
      if (r != LZMA_OK)
        return Error::msg("xz: compression failed (error " + std::to_string(r) + ")");
      if (action == LZMA_RUN && strm_.avail_in == 0) return Ok{};
    }
  }

  lzma_stream strm_ = LZMA_STREAM_INIT;
  bool started_ = false;
  std::vector<char> out_buf_;
};

// Legacy lz4 (`lz4 -l`): a magic, then blocks of at most 8 MiB input, each prefixed by its
// little-endian compressed size. This is the only lz4 format the kernel's unlz4 reads.
class Lz4LegacySink : public Sink {
 public:
  explicit Lz4LegacySink(FdOut& out) : Sink(out) {}

  Status init(int level) {
    level_ = level;
    in_.reserve(kLz4LegacyChunk);
    out_buf_.resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(kLz4LegacyChunk))) + 4);
    uint8_t magic[4];
    put_le32(magic, kLz4LegacyMagic);
    return out_.write(magic, 4);
  }
  Status write(const void* data, size_t size) override {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
      size_t n = std::min(size, kLz4LegacyChunk - in_.size());
      in_.insert(in_.end(), p, p + n);
      p += n;
      size -= n;
      if (in_.size() == kLz4LegacyChunk)
        if (auto st = flush(); !st) return st;
    }
    return Ok{};
  }
  Status finish() override { return in_.empty() ? Status(Ok{}) : flush(); }

 private:
  static void put_le32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
  Status flush() {
    int cap = static_cast<int>(out_buf_.size() - 4);
    int n = level_ >= 3 ? LZ4_compress_HC(in_.data(), out_buf_.data() + 4,
                                          static_cast<int>(in_.size()), cap, level_)
                        : LZ4_compress_default(in_.data(), out_buf_.data() + 4,
                                               static_cast<int>(in_.size()), cap);
    if (n <= 0) return Error::msg("lz4: compression failed");
    put_le32(reinterpret_cast<uint8_t*>(out_buf_.data()), static_cast<uint32_t>(n));
    in_.clear();
    return out_.write(out_buf_.data(), static_cast<size_t>(n) + 4);
  }

  int level_ = 1;
  std::vector<char> in_;
  std::vector<char> out_buf_;
};

// State shared with libarchive's write callback.
struct WriteContext {
  Sink* sink = nullptr;
  uint64_t raw_bytes = 0;      // bytes reaching the sink
  std::optional<Error> error;  // first sink error
  bool discard = false;        // after a failure: archive_write_free() still flushes; drop it
};

la_ssize_t write_callback(archive* a, void* client, const void* buf, size_t size) {
  auto ctx = static_cast<WriteContext*>(client);
  if (ctx->discard) return static_cast<la_ssize_t>(size);
  Status st = ctx->sink->write(buf, size);
  if (!st) {
    if (!ctx->error) ctx->error = st.error();
    archive_set_error(a, st.error().errnum ? st.error().errnum : EIO, "%s",
                      st.error().message.c_str());
    return -1;
  }
  ctx->raw_bytes += size;
  return static_cast<la_ssize_t>(size);
}

Error archive_error(archive* a, const WriteContext& ctx, const std::string& what) {
  if (ctx.error) return *ctx.error;
  const char* msg = archive_error_string(a);
  return Error{what + ": " + (msg ? msg : "unknown libarchive error"), archive_errno(a)};
}

// Streams the file SOURCE (already opened as FD, SIZE bytes announced in the header).
Status copy_file(archive* a, const WriteContext& ctx, int fd, const std::string& source,
                 uint64_t size, std::vector<char>& buf) {
  uint64_t left = size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
    ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("read", source, errno);
    }
    if (n == 0)
      return Error::msg("read '" + source +
                        "': file shrank while it was being copied; run the build again");
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n)
      return archive_error(a, ctx, "write '" + source + "' into the image");
    left -= static_cast<uint64_t>(n);
  }
  return Ok{};
}

}  // namespace

Result<Compression> parse_compression(std::string_view name) {
  if (name == "zstd") return Compression::kZstd;
  if (name == "gzip" || name == "gz") return Compression::kGzip;
  if (name == "xz") return Compression::kXz;
  if (name == "lz4") return Compression::kLz4;
  if (name == "none" || name == "cat") return Compression::kNone;
  return Error::msg("unknown compression '" + std::string(name) +
                    "': use zstd, gzip, xz, lz4 or none");
}

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kZstd:
      return "zstd";
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kLz4:
      return "lz4";
    case Compression::kNone:
      return "none";
  }
  return "none";
}

namespace {

// Writes ENTRIES as one newc cpio through SINK, libarchive's gzip filter in between when
// GZIP_LEVEL is set (-1: its default). Inode numbers count from FIRST_INO.
Result<WriteStats> write_archive(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                                 std::optional<int> gzip_level, Sink& sink, int64_t first_ino = 1) {
  WriteContext ctx;  // outlives `a`: freeing an unclosed archive calls the write callback
  ArchivePtr a(archive_write_new());
  if (!a) return Error::msg("libarchive: out of memory");
  struct DiscardOnExit {
    WriteContext& c;
    ~DiscardOnExit() { c.discard = true; }
  } discard_on_exit{ctx};

  if (gzip_level) {
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK)
      return Error::msg(std::string("gzip: ") + archive_error_string(a.get()));
    // libarchive stamps the current time into the gzip header unless told not to.
    archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
    if (*gzip_level >= 0) {
      std::string lv = std::to_string(std::min(*gzip_level, 9));
      if (archive_write_set_filter_option(a.get(), "gzip", "compression-level", lv.c_str()) !=
          ARCHIVE_OK)
        return Error::msg("gzip: invalid level " + lv + ": use 1-9");
    }
  }
  ctx.sink = &sink;
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), static_cast<int>(kChunk)) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK)
    return archive_error(a.get(), ctx, "libarchive setup");
  if (archive_write_open(a.get(), &ctx, nullptr, write_callback, nullptr) != ARCHIVE_OK)
    return archive_error(a.get(), ctx, "open the image");

  // Pass: write the entries, in the given (sorted) order, with reproducible metadata.
  WriteStats stats;
  EntryPtr e(archive_entry_new());
  std::vector<char> buf(kChunk);
  int64_t ino = first_ino - 1;
  for (const ImageEntry* entry : entries) {
    archive_entry_clear(e.get());
    std::string name = entry->path;
    while (!name.empty() && name.front() == '/') name.erase(0, 1);
    if (name.empty()) continue;  // the root directory is the kernel's rootfs itself
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), mtime, 0);
    archive_entry_set_dev(e.get(), 0);
    archive_entry_set_ino(e.get(), ++ino);
    archive_entry_set_nlink(e.get(), entry->kind == ImageEntry::Kind::kDirectory ? 2 : 1);
    mode_t perm = entry->mode & 07777;

    Fd file;
    uint64_t size = 0;
    switch (entry->kind) {
      case ImageEntry::Kind::kDirectory:
        archive_entry_set_filetype(e.get(), AE_IFDIR);
        break;
      case ImageEntry::Kind::kSymlink:
        archive_entry_set_filetype(e.get(), AE_IFLNK);
        archive_entry_set_symlink(e.get(), entry->data.c_str());
        perm = 0777;
        break;
      case ImageEntry::Kind::kFile:
        archive_entry_set_filetype(e.get(), AE_IFREG);
        if (entry->inline_data) {
          size = entry->data.size();
        } else {
          file.reset(::open(entry->source.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
          if (!file.valid()) return Error::sys("open", entry->source, errno);
          struct stat st;
          if (fstat(file.get(), &st) != 0) return Error::sys("stat", entry->source, errno);
          if (!S_ISREG(st.st_mode))
            return Error::msg("'" + entry->source +
                              "' is not a regular file; it cannot be copied into the image");
          size = static_cast<uint64_t>(st.st_size);
          if (perm == 0) perm = st.st_mode & 07777;
          posix_fadvise(file.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        break;
    }
    archive_entry_set_perm(e.get(), perm);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK)
      return archive_error(a.get(), ctx, "write the header of " + entry->path);
    if (entry->kind == ImageEntry::Kind::kFile) {
      if (entry->inline_data) {
        if (!entry->data.empty() &&
            archive_write_data(a.get(), entry->data.data(), entry->data.size()) !=
                static_cast<la_ssize_t>(entry->data.size()))
          return archive_error(a.get(), ctx, "write " + entry->path);
      } else if (auto st = copy_file(a.get(), ctx, file.get(), entry->source, size, buf); !st) {
        return st.error();
      }
    }
    ++stats.entries;
  }

  // Pass: trailer.
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return archive_error(a.get(), ctx, "finish the image");
  stats.uncompressed_bytes =
      gzip_level ? static_cast<uint64_t>(archive_filter_bytes(a.get(), 0)) : ctx.raw_bytes;
  return stats;
}

// ENTRIES as one cpio archive laid out as LAYOUT says, through SINK, which it finishes; returns
// the archive's size (without the trailer it dropped).
Result<uint64_t> write_laid_out(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                                const CpioLayout& layout, Sink& sink) {
  DropTrailerSink drop(sink);
  Sink& first = layout.trailer ? sink : drop;
  auto r = write_archive(entries, mtime, std::nullopt, first, layout.first_ino);
  if (!r) return r.error();
  if (auto st = first.finish(); !st) return st.error();
  return r->uncompressed_bytes - (layout.trailer ? 0 : kTrailerBytes);
}

}  // namespace

Result<uint64_t> write_cpio(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                            std::string& out, const CpioLayout& layout) {
  FdOut mem(&out);
  Sink plain(mem);
  return write_laid_out(entries, mtime, layout, plain);
}

Result<std::string> zstd_compress(std::string_view raw, int level, int threads) {
  std::string out;
  FdOut mem(&out);
  ZstdSink z(mem);
  if (auto st = z.init(level, std::max(threads, 1)); !st) return st.error();
  // One call with the whole input: the frame records its size, and a segment smaller than the
  // level's window gets a window of its own size (less for the kernel to allocate).
  if (auto st = z.finish_with(raw.data(), raw.size()); !st) return st.error();
  return out;
}

Result<ZstdCpio> write_cpio_zstd(const std::vector<const ImageEntry*>& entries, int64_t mtime,
                                 const CpioLayout& layout, int level, int threads) {
  ZstdCpio r;
  FdOut mem(&r.frame);
  ZstdSink z(mem);
  if (auto st = z.init(level, std::max(threads, 1)); !st) return st.error();
  auto size = write_laid_out(entries, mtime, layout, z);
  if (!size) return size.error();
  r.uncompressed_bytes = *size;
  return r;
}

int compression_threads(const WriteOptions& options) {
  return options.threads > 0 ? options.threads : cpu_count();
}

Result<WriteStats> write_image(const ImageTree& tree, const WriteOptions& options, int fd) {
  if (options.compression == Compression::kZstd) return write_zstd_segments(tree, options, fd);
  const int threads = compression_threads(options);
  FdOut out(fd);
  std::unique_ptr<Sink> sink;
  std::optional<int> gzip_level;

  // Pass: choose the compressor.
  switch (options.compression) {
    case Compression::kXz: {
      auto x = std::make_unique<XzSink>(out);
      if (auto st = x->init(options.level >= 0 ? std::min(options.level, 9) : 6, threads); !st)
        return st.error();
      sink = std::move(x);
      break;
    }
    case Compression::kLz4: {
      auto l = std::make_unique<Lz4LegacySink>(out);
      if (auto st = l->init(options.level >= 0 ? std::min(options.level, 12) : 1); !st)
        return st.error();
      sink = std::move(l);
      break;
    }
    case Compression::kGzip:
      gzip_level = options.level;
      sink = std::make_unique<Sink>(out);
      break;
    case Compression::kZstd:  // above
    case Compression::kNone:
      sink = std::make_unique<Sink>(out);
      break;
  }

  auto stats = write_archive(tree.sorted(), options.mtime, gzip_level, *sink);
  if (!stats) return stats.error();
  if (auto st = sink->finish(); !st) return st.error();
  stats->compressed_bytes = out.bytes();
  return stats;
}

}  // namespace zinitrd::gen
