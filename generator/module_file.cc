// module_file.cc: compressed module files, decompressed with liblzma, libzstd and zlib, and
// their .modinfo read with libelf (see module_file.h).
#include "module_file.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "fd.h"

namespace zinitrd::gen {
namespace {

constexpr std::pair<std::string_view, ModuleCompression> kSuffixes[] = {
    {".ko.xz", ModuleCompression::kXz},
    {".ko.zst", ModuleCompression::kZstd},
    {".ko.gz", ModuleCompression::kGzip},
};

// Output grows in steps of this much (or the input's size, when larger).
constexpr size_t kChunk = 1 << 20;

Error corrupt(std::string_view what, std::string_view format, std::string_view why) {
  return Error::msg("cannot decompress " + std::string(what) + ": not valid " +
                    std::string(format) + " data (" + std::string(why) + ")");
}

Result<std::string> unxz(std::string_view in, std::string_view what) {
  lzma_stream s = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
    return Error::msg("cannot decompress " + std::string(what) + ": liblzma failed to start");
  std::unique_ptr<lzma_stream, void (*)(lzma_stream*)> guard(&s, lzma_end);
  std::string out;
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  for (;;) {
    size_t have = out.size();
    out.resize(have + std::max(kChunk, in.size()));
    s.next_out = reinterpret_cast<uint8_t*>(out.data() + have);
    s.avail_out = out.size() - have;
    lzma_ret r = lzma_code(&s, LZMA_FINISH);
    out.resize(out.size() - s.avail_out);
    if (r == LZMA_STREAM_END) return out;
    if (r != LZMA_OK) {
      const char* why = r == LZMA_FORMAT_ERROR    ? "no xz header"
                        : r == LZMA_DATA_ERROR    ? "corrupt data"
                        : r == LZMA_BUF_ERROR     ? "truncated"
                        : r == LZMA_MEM_ERROR     ? "out of memory"
                        : r == LZMA_OPTIONS_ERROR ? "unsupported options"
                                                  : "liblzma error";
      return corrupt(what, "xz", why);
    }
  }
}

Result<std::string> unzstd(std::string_view in, std::string_view what) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> ds(ZSTD_createDStream(),
                                                              ZSTD_freeDStream);
  if (!ds) return Error::msg("cannot decompress " + std::string(what) + ": out of memory");
  std::string out;
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t pending = 1;  // 0 once the last frame is complete and flushed
  for (;;) {
    if (ib.pos == ib.size && pending == 0) return out;
    size_t have = out.size(), step = std::max(kChunk, in.size() * 2), before = ib.pos;
    out.resize(have + step);
    ZSTD_outBuffer ob{out.data() + have, step, 0};
    pending = ZSTD_decompressStream(ds.get(), &ob, &ib);
    out.resize(have + ob.pos);
    if (ZSTD_isError(pending)) return corrupt(what, "zstd", ZSTD_getErrorName(pending));
    if (ob.pos == 0 && ib.pos == before) return corrupt(what, "zstd", "truncated");
  }
}

Result<std::string> ungzip(std::string_view in, std::string_view what) {
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK)  // 16: gzip header only
    return Error::msg("cannot decompress " + std::string(what) + ": zlib failed to start");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, inflateEnd);
  std::string out;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  for (;;) {
    size_t have = out.size();
    out.resize(have + std::max(kChunk, in.size() * 2));
    s.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    s.avail_out = static_cast<uInt>(out.size() - have);
    int r = inflate(&s, Z_NO_FLUSH);
    out.resize(out.size() - s.avail_out);
    if (r == Z_STREAM_END) return out;
    if (r == Z_BUF_ERROR && s.avail_in == 0) return corrupt(what, "gzip", "truncated");
    if (r != Z_OK && r != Z_BUF_ERROR) return corrupt(what, "gzip", s.msg ? s.msg : "zlib error");
  }
}

}  // namespace

ModuleCompression module_compression(std::string_view path) {
  for (const auto& [suffix, c] : kSuffixes)
    if (path.ends_with(suffix)) return c;
  return ModuleCompression::kNone;
}

std::string_view compression_label(ModuleCompression c) {
  switch (c) {
    case ModuleCompression::kGzip:
      return "gzip";
    case ModuleCompression::kXz:
      return "xz";
    case ModuleCompression::kZstd:
      return "zstd";
    case ModuleCompression::kNone:
      break;
  }
  return "none";
}

std::string uncompressed_module_path(std::string_view path) {
  for (const auto& [suffix, c] : kSuffixes)
    if (path.ends_with(suffix)) return std::string(path.substr(0, path.size() - suffix.size() + 3));
  return std::string(path);
}

Result<std::string> decompress(std::string_view data, ModuleCompression c, std::string_view what) {
  switch (c) {
    case ModuleCompression::kXz:
      return unxz(data, what);
    case ModuleCompression::kZstd:
      return unzstd(data, what);
    case ModuleCompression::kGzip:
      return ungzip(data, what);
    case ModuleCompression::kNone:
      break;
  }
  return std::string(data);
}

Result<std::string> read_module_file(const std::string& host_path) {
  Fd fd(::open(host_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::sys("open", host_path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::sys("stat", host_path, errno);
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys("read", host_path, errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return decompress(data, module_compression(host_path), host_path);
}

Result<std::vector<std::pair<std::string, std::string>>> parse_modinfo(std::string_view image,
                                                                       std::string_view what) {
  auto fail = [&](std::string why) {
    return Error::msg("cannot read the .modinfo of " + std::string(what) + ": " + why);
  };
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is unusable");
  std::unique_ptr<Elf, int (*)(Elf*)> elf(elf_memory(const_cast<char*>(image.data()), image.size()),
                                          elf_end);
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return fail("not an ELF file");
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return fail(elf_errmsg(-1));
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return fail(elf_errmsg(-1));
    const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name);
    if (!name || std::strcmp(name, ".modinfo") != 0) continue;
    if (sh.sh_type == SHT_NOBITS || sh.sh_offset > image.size() ||
        sh.sh_size > image.size() - sh.sh_offset)
      return fail(".modinfo lies outside the file");
    std::string_view sec = image.substr(sh.sh_offset, sh.sh_size);
    std::vector<std::pair<std::string, std::string>> out;
    while (!sec.empty()) {
      size_t end = sec.find('\0');
      std::string_view rec = sec.substr(0, end);
      sec.remove_prefix(end == std::string_view::npos ? sec.size() : end + 1);
      size_t eq = rec.find('=');
      if (rec.empty() || eq == std::string_view::npos) continue;  // padding between records
      out.emplace_back(std::string(rec.substr(0, eq)), std::string(rec.substr(eq + 1)));
    }
    return out;
  }
  return fail("it has no .modinfo section");
}

}  // namespace zinitrd::gen
