// elf_closure.cc: the files a set of programs needs, found the way glibc's ld.so finds them.
//
// Each object is read with libelf through its program headers (PT_INTERP, PT_DYNAMIC and the
// PT_LOAD map that places the dynamic string table), so even binaries without section headers
// work. DT_NEEDED names are searched in ld.so's order (elf/dl-load.c, _dl_map_object):
// DT_RPATH of the object and of its loaders unless the object has DT_RUNPATH, then DT_RUNPATH,
// then the ld.so.conf directories (standing in for ld.so.cache, which the image does not have),
// then the default directories. A candidate of the wrong ELF class or machine is skipped, as
// ld.so skips a 32-bit library found first. Every lookup goes through RootFs, so `--root`
// never picks up a host library. Problems are collected in `missing`, never fatal one by one.
#include "elf_closure.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "fd.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

// ld.so's built-in search path on a multiarch x86_64 system, in its order.
const std::vector<std::string>& default_library_dirs() {
  static const std::vector<std::string> dirs = {"/lib/x86_64-linux-gnu",
                                                "/usr/lib/x86_64-linux-gnu",
                                                "/lib64",
                                                "/usr/lib64",
                                                "/lib",
                                                "/usr/lib"};
  return dirs;
}

bool is_default_dir(const std::string& dir) {
  const auto& d = default_library_dirs();
  return std::find(d.begin(), d.end(), dir) != d.end();
}

// libelf must be told which ELF version we speak before any other call; once per process.
bool init_libelf() {
  static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
  return ok;
}

struct ElfDeleter {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfDeleter>;

std::string elf_error() { return elf_errmsg(-1) ? elf_errmsg(-1) : "unknown libelf error"; }

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

void append_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::vector<std::string> split_any(std::string_view s, std::string_view seps) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// What one file tells us: ELF identity and dynamic entries, or a "#!" interpreter line.
struct ObjectInfo {
  bool is_elf = false;
  int elf_class = ELFCLASSNONE;
  int machine = EM_NONE;
  std::string interp;
  std::vector<std::string> needed;
  std::string rpath;
  std::string runpath;
  bool has_runpath = false;
  bool is_script = false;
  std::vector<std::string> script_argv;  // interpreter and its arguments from the "#!" line
};

// Reads the file at HOST. With HEADER_ONLY, stops after the class and machine.
Result<ObjectInfo> read_object(const std::string& host, const std::string& in_root,
                               bool header_only) {
  ObjectInfo info;
  Fd fd(::open(host.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    return Error::sys("open", in_root, err);
  }
  char head[256];
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  if (n < 0) {
    int err = errno;
    return Error::sys("read", in_root, err);
  }
  std::string_view h(head, static_cast<size_t>(n));
  if (h.substr(0, 2) == "#!") {
    info.is_script = true;
    std::string_view line = h.substr(
        2, h.find('\n') == std::string_view::npos ? std::string_view::npos : h.find('\n') - 2);
    info.script_argv = split_any(line, " \t\r");
    return info;
  }
  if (h.substr(0, 4) !=
      "\x7f"
      "ELF")
    return info;

  if (!init_libelf()) return Error::msg("libelf: " + elf_error());
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return Error::msg("read ELF '" + in_root + "': " + elf_error());
  }
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr))
    return Error::msg("read ELF '" + in_root + "': " + elf_error());
  info.is_elf = true;
  info.elf_class = gelf_getclass(elf.get());
  info.machine = ehdr.e_machine;
  if (header_only) return info;

  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) != 0) {
    return Error::msg("read ELF program headers of '" + in_root + "': " + elf_error());
  }
  size_t raw_size = 0;
  const char* raw = elf_rawfile(elf.get(), &raw_size);
  std::vector<GElf_Phdr> loads;
  std::optional<GElf_Phdr> dynamic;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph)) continue;
    if (ph.p_type == PT_LOAD) loads.push_back(ph);
    if (ph.p_type == PT_DYNAMIC) dynamic = ph;
    if (ph.p_type == PT_INTERP && raw && ph.p_offset < raw_size) {
      size_t len = std::min<size_t>(ph.p_filesz, raw_size - ph.p_offset);
      const char* s = raw + ph.p_offset;
      info.interp.assign(s, ::strnlen(s, len));
    }
  }
  if (!dynamic) return info;  // static binary

  Elf_Data* data = elf_getdata_rawchunk(elf.get(), static_cast<int64_t>(dynamic->p_offset),
                                        dynamic->p_filesz, ELF_T_DYN);
  if (!data) return Error::msg("read dynamic section of '" + in_root + "': " + elf_error());
  size_t entsize = gelf_fsize(elf.get(), ELF_T_DYN, 1, EV_CURRENT);
  size_t count = entsize ? data->d_size / entsize : 0;
  GElf_Addr strtab = 0;
  GElf_Xword strsz = 0;
  std::vector<GElf_Xword> needed;
  std::optional<GElf_Xword> rpath, runpath;
  for (size_t i = 0; i < count; ++i) {
    GElf_Dyn dyn;
    if (!gelf_getdyn(data, static_cast<int>(i), &dyn) || dyn.d_tag == DT_NULL) break;
    switch (dyn.d_tag) {
      case DT_STRTAB:
        strtab = dyn.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = dyn.d_un.d_val;
        break;
      case DT_NEEDED:
        needed.push_back(dyn.d_un.d_val);
        break;
      case DT_RPATH:
        rpath = dyn.d_un.d_val;
        break;
      case DT_RUNPATH:
        runpath = dyn.d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (needed.empty() && !rpath && !runpath) return info;

  // DT_STRTAB is a virtual address: find the file offset through the PT_LOAD that maps it.
  std::optional<size_t> stroff;
  for (const auto& ph : loads) {
    if (strtab >= ph.p_vaddr && strtab < ph.p_vaddr + ph.p_filesz) {
      stroff = strtab - ph.p_vaddr + ph.p_offset;
      break;
    }
  }
  if (!stroff || !raw || *stroff >= raw_size) {
    return Error::msg("read ELF '" + in_root + "': dynamic string table is not in the file");
  }
  size_t table_end = std::min<size_t>(raw_size, *stroff + (strsz ? strsz : raw_size));
  auto str = [&](GElf_Xword off) -> std::string {
    size_t at = *stroff + off;
    if (at >= table_end) return {};
    return std::string(raw + at, ::strnlen(raw + at, table_end - at));
  };
  for (auto off : needed) info.needed.push_back(str(off));
  if (rpath) info.rpath = str(*rpath);
  if (runpath) {
    info.runpath = str(*runpath);
    info.has_runpath = true;
  }
  return info;
}

// $PLATFORM as glibc's ld.so reports it (AT_PLATFORM) for MACHINE.
std::string platform_of(int machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86_64";
    case EM_386:
      return "i686";
    case EM_AARCH64:
      return "aarch64";
    default:
      return "";
  }
}

std::string multiarch_of(int machine) {
  switch (machine) {
    case EM_X86_64:
      return "x86_64-linux-gnu";
    case EM_386:
      return "i386-linux-gnu";
    case EM_AARCH64:
      return "aarch64-linux-gnu";
    default:
      return "";
  }
}

// The class and machine this generator assumes for libraries nobody links against (dlopen).
constexpr int kNativeClass = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
#if defined(__x86_64__)
constexpr int kNativeMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kNativeMachine = EM_AARCH64;
#elif defined(__i386__)
constexpr int kNativeMachine = EM_386;
#else
constexpr int kNativeMachine = EM_NONE;
#endif

}  // namespace

const std::vector<std::string>& program_search_dirs() {
  static const std::vector<std::string> dirs = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                                "/usr/bin",        "/sbin",          "/bin"};
  return dirs;
}

// The search state of one resolve() (and of add_library's lookup).
struct ElfClosure::Impl {
  explicit Impl(const RootFs& r) : root(r) {}

  struct Item {
    std::string path;          // in-root, as named
    std::string requested_by;  // in-root path of the object that needs it, "" for roots
    std::vector<std::string> inherited_rpath;  // DT_RPATH dirs of the loader chain
  };

  const RootFs& root;
  std::optional<std::vector<std::string>> conf_dirs;
  std::map<std::string, std::pair<int, int>> identity_cache;  // canonical -> class, machine

  std::set<std::string> files;
  std::vector<std::string> extra_dirs;
  std::vector<std::string> missing;
  std::set<std::string> missing_seen;
  std::set<std::string> visited;
  std::deque<Item> queue;

  void report(std::string line) {
    if (missing_seen.insert(line).second) missing.push_back(std::move(line));
  }

  // ld.so.conf and its includes, in file order; relative includes are relative to the
  // including file's directory (ldconfig's rule), i.e. /etc for /etc/ld.so.conf.
  void parse_conf(const std::string& path, int depth, std::set<std::string>& seen,
                  std::vector<std::string>& out) {
    if (depth > 16 || !seen.insert(path).second) return;
    auto text = root.read_file(path);
    if (!text) return;
    size_t pos = 0;
    while (pos < text->size()) {
      size_t eol = text->find('\n', pos);
      if (eol == std::string::npos) eol = text->size();
      std::string line = text->substr(pos, eol - pos);
      pos = eol + 1;
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      auto words = split_any(line, " \t\r");
      if (words.empty()) continue;
      if (words[0] == "include") {
        for (size_t i = 1; i < words.size(); ++i) {
          std::string pattern = join_path(dirname_of(path), words[i]);
          for (const auto& f : root.glob(pattern)) parse_conf(f, depth + 1, seen, out);
        }
        continue;
      }
      if (words[0] == "hwcap") continue;
      for (const auto& w : words) {
        for (auto d : split_any(w, ":,")) {
          d.resize(std::min(d.size(), d.find('=')));  // "dir=type", the old libc5 syntax
          if (!d.empty() && d.front() == '/') append_unique(out, normalize_path(d));
        }
      }
    }
  }

  const std::vector<std::string>& ld_so_conf_dirs() {
    if (!conf_dirs) {
      conf_dirs.emplace();
      std::set<std::string> seen;
      parse_conf("/etc/ld.so.conf", 0, seen, *conf_dirs);
    }
    return *conf_dirs;
  }

  // Expands $ORIGIN, $LIB and $PLATFORM (also as ${...}) in each directory of the
  // colon-separated LIST. Relative or empty entries (meaning the cwd to ld.so) are dropped.
  std::vector<std::string> expand(const std::string& list, const std::string& origin, int elf_class,
                                  int machine) const {
    std::string lib;
    std::string triplet = multiarch_of(machine);
    // Debian's ld.so expands $LIB to its slibdir, lib/<triplet>; elsewhere lib64 or lib.
    if (!triplet.empty() && root.exists("/lib/" + triplet)) {
      lib = "lib/" + triplet;
    } else {
      lib = elf_class == ELFCLASS64 ? "lib64" : "lib";
    }
    std::vector<std::string> out;
    for (const auto& entry : split_any(list, ":")) {
      std::string s;
      bool ok = true;
      for (size_t i = 0; i < entry.size();) {
        if (entry[i] != '$') {
          s += entry[i++];
          continue;
        }
        std::string name;
        size_t j = i + 1;
        if (j < entry.size() && entry[j] == '{') {
          size_t close = entry.find('}', j);
          if (close == std::string::npos) {
            s += entry.substr(i);
            break;
          }
          name = entry.substr(j + 1, close - j - 1);
          j = close + 1;
        } else {
          while (j < entry.size() &&
                 (std::isalnum(static_cast<unsigned char>(entry[j])) || entry[j] == '_')) {
            name += entry[j++];
          }
        }
        if (name == "ORIGIN") {
          s += origin;
        } else if (name == "LIB") {
          s += lib;
        } else if (name == "PLATFORM") {
          std::string p = platform_of(machine);
          if (p.empty()) ok = false;
          s += p;
        } else {
          s += entry.substr(i, j - i);
        }
        i = j;
      }
      if (ok && !s.empty() && s.front() == '/') append_unique(out, normalize_path(s));
    }
    return out;
  }

  // Class and machine of the ELF file at in-root PATH (already resolved to CANONICAL).
  std::optional<std::pair<int, int>> identity(const std::string& canonical) {
    if (auto it = identity_cache.find(canonical); it != identity_cache.end()) return it->second;
    auto info = read_object(root.host_path(canonical), canonical, true);
    std::pair<int, int> id{ELFCLASSNONE, EM_NONE};
    if (info && info->is_elf) id = {info->elf_class, info->machine};
    identity_cache.emplace(canonical, id);
    return id;
  }

  // The first of DIRS holding a regular file SONAME of the right class and machine.
  std::optional<std::string> find_library(const std::string& soname,
                                          const std::vector<std::string>& dirs, int elf_class,
                                          int machine) {
    for (const auto& dir : dirs) {
      auto r = root.resolve(join_path(dir, soname));
      if (!r) continue;
      struct stat st;
      if (::stat(root.host_path(r->path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      auto id = identity(r->path);
      if (id && id->first == elf_class && id->second == machine) return dir;
    }
    return std::nullopt;
  }

  std::vector<std::string> library_dirs(const std::vector<std::string>& rpath,
                                        const std::vector<std::string>& runpath) {
    std::vector<std::string> dirs;
    for (const auto& d : rpath) append_unique(dirs, d);
    for (const auto& d : runpath) append_unique(dirs, d);
    for (const auto& d : ld_so_conf_dirs()) append_unique(dirs, d);
    for (const auto& d : default_library_dirs()) append_unique(dirs, d);
    return dirs;
  }

  void use_dir(const std::string& dir) {
    if (!is_default_dir(dir)) append_unique(extra_dirs, dir);
  }

  // A program named on a "#!" line (or by /usr/bin/env): queue it or report it.
  void add_interpreter(const std::string& script, const std::vector<std::string>& argv) {
    if (argv.empty()) {
      report(script + ": empty \"#!\" line");
      return;
    }
    auto need = [&](const std::string& prog) {
      if (prog.find('/') != std::string::npos) {
        std::string p = join_path("/", prog);
        if (root.exists(p)) {
          queue.push_back({p, script, {}});
        } else {
          report(p + " (interpreter of " + script + "): not found");
        }
        return;
      }
      for (const auto& dir : program_search_dirs()) {
        std::string p = join_path(dir, prog);
        if (root.exists(p)) {
          queue.push_back({p, script, {}});
          return;
        }
      }
      report(prog + " (interpreter of " + script + "): not found in " +
             join(program_search_dirs(), ":"));
    };
    need(argv[0]);
    // "#!/usr/bin/env [-S] prog": env runs PROG from PATH, so PROG is needed too.
    if (argv[0].size() >= 4 && argv[0].substr(argv[0].size() - 4) == "/env") {
      for (size_t i = 1; i < argv.size(); ++i) {
        if (argv[i].front() == '-' || argv[i].find('=') != std::string::npos) continue;
        need(argv[i]);
        break;
      }
    }
  }

  void process(Item item) {
    files.insert(item.path);
    auto r = root.resolve(item.path);
    if (!r) {
      report(item.path +
             (item.requested_by.empty() ? "" : " (needed by " + item.requested_by + ")") + ": " +
             r.error().message);
      return;
    }
    if (!visited.insert(r->path).second) return;
    auto info = read_object(root.host_path(r->path), item.path, false);
    if (!info) {
      report(info.error().message);
      return;
    }
    if (info->is_script) {
      add_interpreter(item.path, info->script_argv);
      return;
    }
    if (!info->is_elf) return;

    if (!info->interp.empty()) {
      if (root.exists(info->interp)) {
        queue.push_back({normalize_path(info->interp), item.path, {}});
      } else {
        report(info->interp + " (interpreter of " + item.path + "): not found");
      }
    }
    // $ORIGIN is the directory of the object as loaded; the kernel gives ld.so the executable's
    // real path, so use the canonical one.
    std::string origin = dirname_of(r->path);
    auto own_rpath = expand(info->rpath, origin, info->elf_class, info->machine);
    auto runpath = expand(info->runpath, origin, info->elf_class, info->machine);
    std::vector<std::string> chain = own_rpath;
    for (const auto& d : item.inherited_rpath) append_unique(chain, d);
    auto dirs = library_dirs(info->has_runpath ? std::vector<std::string>{} : chain, runpath);

    for (const auto& soname : info->needed) {
      if (soname.empty()) continue;
      if (soname.find('/') != std::string::npos) {
        std::string p = join_path("/", soname);
        if (root.exists(p)) {
          queue.push_back({p, item.path, chain});
        } else {
          report(soname + " (needed by " + item.path + "): not found");
        }
        continue;
      }
      auto dir = find_library(soname, dirs, info->elf_class, info->machine);
      if (!dir) {
        report(soname + " (needed by " + item.path + "): not found in " + join(dirs, ":"));
        continue;
      }
      use_dir(*dir);
      queue.push_back({join_path(*dir, soname), item.path, chain});
    }
  }
};

ElfClosure::ElfClosure(const RootFs& root) : root_(root) {}

bool ElfClosure::add_program(std::string_view program, bool optional) {
  std::string name(program);
  if (name.find('/') != std::string::npos) return add_file(join_path("/", name), optional);
  for (const auto& dir : program_search_dirs()) {
    std::string p = join_path(dir, name);
    auto r = root_.resolve(p);
    if (!r) continue;
    struct stat st;
    if (::stat(root_.host_path(r->path).c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_mode & 0111) == 0) {
      continue;
    }
    pending_.emplace_back(std::move(p), "");
    return true;
  }
  if (!optional) {
    missing_.push_back(name + " (program): not found in " + join(program_search_dirs(), ":"));
  }
  return false;
}

bool ElfClosure::add_library(std::string_view library, bool optional) {
  std::string name(library);
  if (name.find('/') != std::string::npos) return add_file(join_path("/", name), optional);
  Impl impl(root_);
  auto dirs = impl.library_dirs({}, {});
  if (auto dir = impl.find_library(name, dirs, kNativeClass, kNativeMachine)) {
    // Marked so resolve() exports a non-default directory: nothing links against a dlopen()ed
    // library, so only LD_LIBRARY_PATH lets the loader find it in the image.
    pending_.emplace_back(join_path(*dir, name), "dlopen");
    return true;
  }
  if (!optional) {
    missing_.push_back(name + " (dlopen()ed library): not found in " + join(dirs, ":"));
  }
  return false;
}

bool ElfClosure::add_file(std::string_view path, bool optional) {
  std::string p = join_path("/", path);
  if (root_.exists(p)) {
    pending_.emplace_back(std::move(p), "");
    return true;
  }
  if (!optional) {
    auto r = root_.resolve(p);
    missing_.push_back(!r && r.error().errnum != ENOENT ? r.error().message : p + ": not found");
  }
  return false;
}

ElfClosureResult ElfClosure::resolve() {
  Impl impl(root_);
  for (const auto& [path, by] : pending_) {
    if (by == "dlopen") impl.use_dir(dirname_of(path));
    impl.queue.push_back({path, "", {}});
  }
  while (!impl.queue.empty()) {
    Impl::Item item = std::move(impl.queue.front());
    impl.queue.pop_front();
    impl.process(std::move(item));
  }
  ElfClosureResult out;
  out.files.assign(impl.files.begin(), impl.files.end());
  out.extra_library_dirs = std::move(impl.extra_dirs);
  out.missing = missing_;
  for (auto& m : impl.missing) out.missing.push_back(std::move(m));
  return out;
}

}  // namespace zinitrd::gen
