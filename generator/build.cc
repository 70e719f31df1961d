// build.cc: the passes of `zinitrd build` (see build.h), in the order they run.
#include "build.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "boot_config.h"
#include "console_keymap.h"
#include "elf_closure.h"
#include "fd.h"
#include "features.h"
#include "host_only.h"
#include "image_tree.h"
#include "key_files.h"
#include "kmod_closure.h"
#include "luks_devices.h"
#include "module_file.h"
#include "module_storage.h"
#include "output_file.h"
#include "process.h"
#include "resume_config.h"
#include "root_fs.h"
#include "ssh_server.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

// Everything the passes hand to each other.
struct BuildState {
  const BuildOptions& opt;
  RootFs root;
  BuildReport report;
  std::vector<Feature> all_features;
  std::vector<const Feature*> features;
  ModuleClosure modules;
  ModuleStoragePlan storage;
  ElfClosureResult elf;
  BootConfig boot;
  std::optional<std::vector<LuksMapping>> pool_luks;  // --host-only: the pool's LUKS mappings
  LuksPlan luks;
  ImageTree tree;
  ImageTree microcode;  // the early segment; empty: none
  UkiInputs uki;
  std::vector<std::string> problems;  // collected across passes; any => nothing is written
};

// Pass 1: which features this image has, in dependency order.
Status plan_features_pass(BuildState& s) {
  auto all = load_features(s.opt.feature_dirs, s.root);
  if (!all) return all.error();
  s.all_features = std::move(*all);
  std::vector<std::string> add = s.opt.add;
  if (!s.opt.ssh_authorized_keys.empty()) add.push_back("ssh");  // --ssh-authorized-keys
  auto planned = plan_features(s.all_features, add, s.opt.omit, s.root);
  if (!planned) return planned.error();
  s.features = std::move(*planned);
  for (const Feature* f : s.features) {
    s.report.features.push_back(f->name);
    s.boot.features.push_back(f->name);
    for (const auto& [k, v] : f->settings) s.boot.settings[k] = v;
  }
  // Where a hibernated image is, as initramfs-tools was told (resume_config.h).
  if (auto text = s.root.read_file(kInitramfsToolsResume)) {
    if (auto resume = parse_resume_setting(*text); resume && *resume == "auto")
      s.report.warnings.push_back(
          std::string(kInitramfsToolsResume) +
          " says RESUME=auto, which zinitrd does not guess: write RESUME=UUID=... of the swap "
          "area, or resume= on the kernel command line, for hibernated systems to resume");
    else if (resume)
      s.boot.settings["resume"] = *resume;
  }
  return Ok{};
}

// Pass 2: the kernel modules the features ask for, with dependencies, firmware and options.
Status resolve_modules_pass(BuildState& s) {
  auto kmod = KmodClosure::open(s.root, s.opt.kver);
  if (!kmod) return kmod.error();
  // --host-only: the drivers of the root pool's devices replace the generic driver directories.
  std::optional<DeviceDrivers> host = s.opt.host_drivers;
  if (s.opt.host_only && !host) {
    auto probed = root_pool_drivers(s.opt.root);
    if (!probed) return probed.error();
    host = std::move(*probed);
  }
  std::vector<std::string> skipped_dirs;
  for (const Feature* f : s.features)
    for (const auto& e : f->kmods_exclude) (*kmod)->exclude(e);
  for (const Feature* f : s.features)
    for (const auto& e : f->kmods_exclude_needing) (*kmod)->exclude_needing(e);
  for (const Feature* f : s.features) {
    for (const auto& m : f->kmods) (*kmod)->request({m, true, true, f->name, f->kmod_hint});
    for (const auto& m : f->kmods_optional) (*kmod)->request({m, false, true, f->name, ""});
    for (const auto& m : f->kmods_coldplug) {
      if (!m.empty() && m.back() == '/') {
        if (host) {
          skipped_dirs.push_back(m);
          (*kmod)->request_directory(m, f->name, &host->loaded);  // this machine's devices'
        } else {
          (*kmod)->request_directory(m, f->name);
        }
      } else {
        (*kmod)->request({m, false, false, f->name, ""});
      }
    }
  }
  if (host) {
    s.pool_luks = host->luks;
    for (const auto& m : host->modules) (*kmod)->request({m, true, false, "--host-only", ""});
    for (const auto& a : host->modaliases) (*kmod)->request({a, false, false, "--host-only", ""});
    s.report.warnings.push_back(
        "--host-only: storage drivers limited to those of the root pool's devices (" +
        join(host->modules, " ") + ") and of " + join(skipped_dirs, " ") +
        " to those this machine has loaded: this image boots the pool only from this hardware");
  }
  for (const auto& m : s.opt.kmods) (*kmod)->request({m, true, true, "--kmod", ""});
  s.modules = (*kmod)->resolve();
  for (auto& m : s.modules.missing) s.problems.push_back(m);  // hints have {kver} expanded
  for (auto& w : s.modules.warnings) s.report.warnings.push_back(w);
  s.boot.kver = s.opt.kver;
  s.boot.modules = s.modules.modules;
  s.boot.load = s.modules.load;
  s.boot.aliases = s.modules.aliases;
  s.boot.blacklist = s.modules.blacklist;
  s.report.modules = s.modules.modules.size();
  return Ok{};
}

// Pass 2b: compressed modules kept for the kernel or decompressed now (module_storage.h); an
// image whose modules the kernel cannot load is refused here, before anything is written.
Status module_storage_pass(BuildState& s) {
  std::set<ModuleCompression> formats;
  for (const auto& m : s.modules.modules) formats.insert(module_compression(m.path));
  formats.erase(ModuleCompression::kNone);
  if (formats.empty()) return Ok{};
  s.storage = plan_module_storage(read_kernel_config(s.root, s.opt.kver), formats,
                                  s.opt.decompress_modules, s.opt.kver);
  for (auto& p : s.storage.problems) s.problems.push_back(p);
  s.report.module_storage = s.storage.summary;
  for (auto& m : s.boot.modules)
    if (s.storage.decompress.count(module_compression(m.path)))
      m.path = uncompressed_module_path(m.path);
  return Ok{};
}

// Adds module file PATH of the closure: as it is, or decompressed under its .ko name.
Status add_module_file(BuildState& s, const std::string& path) {
  ModuleCompression c = module_compression(path);
  if (!s.storage.decompress.count(c)) return s.tree.add_from_root(s.root, path);
  auto resolved = s.root.resolve(path);
  if (!resolved) return resolved.error();
  auto data = read_module_file(s.root.host_path(resolved->path));
  if (!data) return data.error();
  return s.tree.add_data(uncompressed_module_path(path), std::move(*data));
}

// The interpreter named by a "#!" line of host file PATH, or "" when it is not a script.
std::string script_interpreter(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line) || line.rfind("#!", 0) != 0) return "";
  size_t b = line.find_first_not_of(" \t", 2);
  if (b == std::string::npos) return "";
  return line.substr(b, line.find_first_of(" \t", b) - b);
}

// Pass 3: programs and libraries, with everything they link against.
Status resolve_elf_pass(BuildState& s) {
  ElfClosure elf(s.root);
  for (const Feature* f : s.features) {
    for (const auto& p : f->programs) elf.add_program(p);
    for (const auto& p : f->programs_optional) elf.add_program(p, /*optional=*/true);
    for (const auto& l : f->libraries) elf.add_library(l);
    for (const auto& l : f->libraries_optional) elf.add_library(l, /*optional=*/true);
  }
  for (const auto& p : s.opt.installs) elf.add_program(p);
  // Host files copied as they are (--init, --include) still need their #! interpreter.
  std::vector<std::string> host_files;
  if (!s.opt.init.empty()) host_files.push_back(s.opt.init);
  for (const auto& spec : s.opt.includes) host_files.push_back(spec.substr(0, spec.find(':')));
  for (const auto& f : host_files) {
    std::string interp = script_interpreter(f);
    if (!interp.empty()) elf.add_program(interp);
  }
  s.elf = elf.resolve();
  for (auto& m : s.elf.missing) s.problems.push_back(m);
  if (!s.elf.extra_library_dirs.empty())
    s.boot.settings["ld_library_path"] = join(s.elf.extra_library_dirs, ":");
  return Ok{};
}

// Pass 4: the LUKS devices of the root's /etc/crypttab (features with crypttab = yes).
Status luks_devices_pass(BuildState& s) {
  if (std::none_of(s.features.begin(), s.features.end(),
                   [](const Feature* f) { return f->crypttab; }))
    return Ok{};
  SourceUuidLookup lookup;
  if (s.root.is_host()) lookup = host_source_uuid;  // --root DIR: never the host's devices
  s.luks = plan_luks_devices(s.root, s.pool_luks ? &*s.pool_luks : nullptr, lookup);
  s.boot.luks = s.luks.entries;
  for (const auto& w : s.luks.warnings) s.report.warnings.push_back(w);
  for (const auto& n : s.luks.notes) s.report.notes.push_back(n);
  return Ok{};
}

// Adds "SRC[:DST]" from the root (feature files) to the tree; false when SRC does not exist.
bool add_root_file(BuildState& s, const std::string& spec, bool optional) {
  size_t colon = spec.find(':');
  std::string src = spec.substr(0, colon);
  std::string dst = colon == std::string::npos ? src : spec.substr(colon + 1);
  if (!s.root.exists(src)) {
    if (!optional)
      s.problems.push_back("file " + src + " (" + spec + "): not found in " + s.root.root());
    return false;
  }
  Status st = Ok{};
  if (dst == src) {
    st = s.tree.add_from_root(s.root, src);
  } else {
    auto r = s.root.resolve(src);
    st = r ? s.tree.add_file(dst, s.root.host_path(r->path)) : Status(r.error());
  }
  if (!st) s.problems.push_back(st.error().message);
  return true;
}

// The hostid that ZFS stamps on pools: embedded, and its absence explained now rather than at boot.
void add_hostid(BuildState& s) {
  auto hostid = s.root.read_file("/etc/hostid");
  if (!hostid) {
    s.report.warnings.push_back(
        "/etc/hostid is missing in " + s.root.root() +
        ": at boot the pool will look 'previously in use from another system' unless it was last "
        "imported with hostid 0; create one with `zgenhostid` and rebuild the image");
    return;
  }
  if (hostid->size() != 4 || std::memcmp(hostid->data(), "\0\0\0\0", 4) == 0)
    s.report.warnings.push_back("/etc/hostid is zero or malformed (" +
                                std::to_string(hostid->size()) +
                                " bytes): run `zgenhostid -f` and rebuild the image");
  add_root_file(s, "/etc/hostid", true);
}

// Pass 5: every file of the image, and the boot configuration that describes it.
Status gather_files_pass(BuildState& s) {
  auto note = [&](Status st) {
    if (!st) s.problems.push_back(st.error().message);
  };
  // Top-level links of a merged-/usr system first (/bin -> usr/bin...), so that every path below
  // them lands where the system has it and scripts' "#!/bin/sh" work as on the system.
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    auto r = s.root.resolve(d);
    if (r && r->links.size() == 1 && r->links[0].first == d)
      note(s.tree.add_symlink(d, r->links[0].second));
  }
  for (const char* d : {"/dev", "/proc", "/sys", "/run", "/sysroot", "/tmp", "/etc", "/root"})
    note(s.tree.add_directory(d));
  std::set<std::string> module_paths;
  for (const auto& m : s.modules.modules) module_paths.insert(m.path);
  for (const auto& f : s.modules.files)
    note(module_paths.count(f) ? add_module_file(s, f) : s.tree.add_from_root(s.root, f));
  for (const auto& f : s.elf.files) note(s.tree.add_from_root(s.root, f));
  for (const Feature* f : s.features) {
    for (const auto& spec : f->files) add_root_file(s, spec, false);
    for (const auto& spec : f->files_optional) add_root_file(s, spec, true);
    if (f->hostid) add_hostid(s);
  }
  for (const auto& spec : s.opt.includes) {
    size_t colon = spec.find(':');
    std::string src = spec.substr(0, colon);
    std::string dst = colon == std::string::npos ? src : spec.substr(colon + 1);
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) {
      s.problems.push_back(Error::sys("--include: stat", src, errno).message);
      continue;
    }
    note(S_ISDIR(st.st_mode) ? s.tree.add_directory(dst) : s.tree.add_file(dst, src));
  }

  note(s.tree.add_file(kRuntimeImagePath, s.opt.runtime, 0755));
  if (s.opt.init.empty())
    note(s.tree.add_symlink("/init", std::string(kRuntimeImagePath).substr(1)));
  else
    note(s.tree.add_file("/init", s.opt.init, 0755));
  note(s.tree.add_data(std::string(kBootConfigPath), write_boot_config(s.boot)));
  return Ok{};
}

// Pass 6: the key files of encrypted roots (keylocation=file://, crypttab): read at boot.
Status embed_keys_pass(BuildState& s) {
  std::vector<KeyFile> keys;
  for (const auto& spec : s.opt.keyfiles) keys.push_back(parse_keyfile_spec(spec));
  for (const auto& [key_path, name] : s.luks.keys) {  // crypttab's, read from the root
    const std::string& path = key_path;  // a lambda may not capture a binding (clang 14)
    if (std::none_of(keys.begin(), keys.end(), [&](const KeyFile& o) { return o.dest == path; }))
      keys.push_back({path, path, "LUKS " + name});
  }
  // The system's own: when its "/" is a ZFS dataset mounted on this host, ask zfs.
  std::ifstream mounts("/proc/self/mounts");
  std::stringstream text;
  text << mounts.rdbuf();
  char* real = ::realpath(s.opt.root.c_str(), nullptr);
  auto dataset = zfs_dataset_mounted_at(text.str(), real ? real : s.opt.root);
  ::free(real);
  if (dataset) {
    auto found = dataset_key_files(
        *dataset, [](const std::vector<std::string>& argv) { return run_command(argv); });
    if (!found)
      s.report.warnings.push_back(
          found.error().message + ": key files of " + *dataset +
          " are not embedded; name them in /etc/zinitrd.conf (keyfile = PATH)");
    else
      for (auto& k : *found)
        if (std::none_of(keys.begin(), keys.end(),
                         [&](const KeyFile& o) { return o.dest == k.dest; }))
          keys.push_back(std::move(k));
  }
  std::vector<std::string> embedded;
  for (const auto& k : keys) {
    // Inside the root only: a --root build is what the system would build for itself, so a key
    // it lacks is never taken from the host (copy it into the root).
    auto found_in_root = s.root.resolve(k.source);
    std::string host = found_in_root ? s.root.host_path(found_in_root->path) : std::string();
    struct stat st;
    if (host.empty() || ::stat(host.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      s.problems.push_back(
          "key file " + k.source +
          (k.encroot.empty() ? "" : " (keylocation of " + k.encroot + ")") + ": not found in " +
          s.root.root() +
          ": without it the pool asks for a key at boot; restore it (under --root: copy it into "
          "the root) or change keylocation");
      continue;
    }
    if (auto st2 = s.tree.add_file(k.dest, host, 0600); !st2) {
      s.problems.push_back(st2.error().message);
      continue;
    }
    embedded.push_back(k.dest + (k.encroot.empty() ? "" : " (" + k.encroot + ")"));
  }
  if (!embedded.empty())
    s.report.notes.push_back("the image carries encryption key" +
                             std::string(embedded.size() > 1 ? "s " : " ") + join(embedded, ", ") +
                             ": it is written mode 0600; keep copies of it private");
  return Ok{};
}

// Pass 6b: unlock over SSH: authorized_keys, the host key (made once), root's login files.
Status ssh_server_pass(BuildState& s) {
  bool wanted = false;
  for (const Feature* f : s.features) wanted |= f->ssh_server;
  if (!wanted) return Ok{};
  auto r = add_ssh_server(s.root, {s.opt.ssh_authorized_keys, s.opt.ssh_host_key}, s.elf.files,
                          s.tree, [](const std::vector<std::string>& argv) {
                            return run_command(argv, {.timeout_ms = 60'000, .merge_stderr = true});
                          });
  for (auto& p : r.problems) s.problems.push_back(std::move(p));
  for (auto& n : r.notes) s.report.notes.push_back(std::move(n));
  return Ok{};
}

// Pass 6c: the console keymap passphrases are typed with (console_keymap.h). The system's own
// is carried when found; one it names but that cannot be compiled is a warning, since the image
// boots without it where nothing is typed; one asked for by --keymap must be carried.
Status console_keymap_pass(BuildState& s) {
  if (s.opt.keymap == "none") return Ok{};
  std::optional<KeymapSource> source;
  const bool asked = s.opt.keymap != "auto";
  if (asked) {
    source = KeymapSource{s.opt.keymap, "--keymap"};
  } else {
    auto found = find_console_keymap(s.root);
    if (!found) {
      s.report.warnings.push_back(found.error().message +
                                  ": passphrases typed at boot are read with the US layout");
      return Ok{};
    }
    source = *found;
  }
  if (!source) return Ok{};
  auto resolved = s.root.resolve(source->path);
  Result<std::string> compiled =
      resolved ? compile_keymap(s.root.host_path(resolved->path),
                                [](const std::vector<std::string>& argv) {
                                  return run_command(argv, {.timeout_ms = 30'000});
                                })
               : Result<std::string>(Error::msg(source->path + ": not found in " + s.root.root()));
  if (!compiled) {
    std::string msg = "console keymap " + source->path + " (" + source->origin +
                      ") is not in the image: " + compiled.error().message;
    if (asked)
      s.problems.push_back(msg);
    else
      s.report.warnings.push_back(msg + "; passphrases typed at boot are read with the US layout");
    return Ok{};
  }
  if (auto st = s.tree.add_data(std::string(kKeymapPath), std::move(*compiled)); !st)
    s.problems.push_back(st.error().message);
  s.report.keymap = source->path + " (" + source->origin + ")";
  return Ok{};
}

// Pass 7: the CPU microcode, for the kernel's early loader (a first, uncompressed segment).
Status early_microcode_pass(BuildState& s) {
  MicrocodeOptions o = s.opt.microcode;
  o.host_only = s.opt.host_only;
  o.other_machine = !s.root.is_host() && !s.opt.host_only;  // --root: never this CPU
  MicrocodePlan plan = plan_microcode(s.root, o);
  for (auto& w : plan.warnings) s.report.warnings.push_back(std::move(w));
  MicrocodeStats stats;
  auto tree = microcode_tree(s.root, plan, &stats);
  if (!tree) return tree.error();
  s.report.microcode = plan.summary;
  if (stats.duplicates_dropped > 0)
    s.report.microcode += "; " + std::to_string(stats.duplicates_dropped) +
                          " updates found in more than one file taken once (" +
                          std::to_string(stats.duplicate_bytes / 1024) + " KB)";
  s.microcode = std::move(*tree);
  return Ok{};
}

// Pass 8 (--uki): the stub, kernel, command line and os-release the UKI is made of.
Status plan_uki_pass(BuildState& s) {
  s.uki = plan_uki(s.root, s.opt.uki, s.opt.kver, s.problems, s.report.warnings);
  s.uki.timestamp = static_cast<uint32_t>(s.opt.write.mtime);
  return Ok{};
}

// The initrd: the microcode segment (when there is one), then the compressed archive.
Status write_initrd(BuildState& s, int fd) {
  if (s.microcode.size() > 1) {  // more than the root directory
    auto early = write_microcode_segment(s.microcode, s.opt.write.mtime, fd);
    if (!early) return early.error();
    s.report.microcode_bytes = *early;
  }
  auto written = write_image(s.tree, s.opt.write, fd);
  if (!written) return written.error();
  s.report.written = *written;
  return Ok{};
}

// A private temporary directory, removed with its content.
class WorkDir {
 public:
  Status create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/zinitrd-uki.XXXXXX";
    if (!::mkdtemp(tmpl.data())) return Error::sys("create a temporary directory", tmpl, errno);
    path_ = tmpl;
    return Ok{};
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Pass 8 and 9: write the initrd (or the UKI carrying it) to a temporary file, then rename it over
// the old one.
Status write_pass(BuildState& s, OutputFile& out) {
  if (!s.opt.uki.enabled) {
    if (auto st = write_initrd(s, out.fd()); !st) return out.explain(st.error());
    return Ok{};
  }
  WorkDir work;
  if (auto st = work.create(); !st) return st;
  s.uki.initrd = work.path() + "/initrd";
  Fd initrd(::open(s.uki.initrd.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!initrd.valid()) return Error::sys("create", s.uki.initrd, errno);
  if (auto st = write_initrd(s, initrd.get()); !st) return st;
  initrd.reset();
  auto uki = assemble_uki(s.uki, work.path(), out.fd());
  if (!uki) return out.explain(uki.error());
  s.report.uki_bytes = uki->bytes;
  s.report.uki_signed = uki->signed_;
  return Ok{};
}

// The ten largest files of TREE, largest first (ties by path): what `--stats` shows.
std::vector<std::pair<std::string, uint64_t>> largest_files(const ImageTree& tree) {
  std::vector<std::pair<std::string, uint64_t>> all;
  for (const ImageEntry* e : tree.sorted()) {
    if (e->kind != ImageEntry::Kind::kFile) continue;
    struct stat st;
    uint64_t bytes = e->inline_data                        ? e->data.size()
                     : ::stat(e->source.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size)
                                                           : 0;
    all.emplace_back(e->path, bytes);
  }
  size_t n = std::min<size_t>(10, all.size());
  std::partial_sort(all.begin(), all.begin() + n, all.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  all.resize(n);
  return all;
}

// Stops the build with every collected problem, in one message.
Status check_problems(const BuildState& s) {
  if (s.problems.empty()) return Ok{};
  std::string m = "cannot build a bootable image for " + s.opt.kver + "; nothing was written (" +
                  s.opt.output + " is unchanged):";
  for (const auto& p : s.problems) m += "\n  - " + p;
  return Error::msg(std::move(m));
}

}  // namespace

Result<BuildReport> build_image(const BuildOptions& opt) {
  BuildState s{opt, RootFs(opt.root), {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  using Clock = std::chrono::steady_clock;
  auto timed = [&](const char* name, auto&& pass) -> Status {
    auto t0 = Clock::now();
    Status st = pass();
    s.report.passes.push_back({name, std::chrono::duration<double>(Clock::now() - t0).count()});
    return st;
  };

  if (auto st = timed("plan features", [&] { return plan_features_pass(s); }); !st)
    return st.error();
  if (auto st = timed("resolve modules", [&] { return resolve_modules_pass(s); }); !st)
    return st.error();
  if (auto st = timed("module storage", [&] { return module_storage_pass(s); }); !st)
    return st.error();
  if (auto st = timed("resolve ELF closure", [&] { return resolve_elf_pass(s); }); !st)
    return st.error();
  if (auto st = timed("LUKS devices", [&] { return luks_devices_pass(s); }); !st) return st.error();
  if (auto st = timed("gather files", [&] { return gather_files_pass(s); }); !st) return st.error();
  if (auto st = timed("embed key files", [&] { return embed_keys_pass(s); }); !st)
    return st.error();
  if (auto st = timed("ssh server", [&] { return ssh_server_pass(s); }); !st) return st.error();
  if (auto st = timed("console keymap", [&] { return console_keymap_pass(s); }); !st)
    return st.error();
  if (auto st = timed("early microcode", [&] { return early_microcode_pass(s); }); !st)
    return st.error();
  if (opt.uki.enabled)
    if (auto st = timed("plan UKI", [&] { return plan_uki_pass(s); }); !st) return st.error();
  if (auto st = check_problems(s); !st) return st.error();
  s.report.largest = largest_files(s.tree);

  auto out = OutputFile::create(opt.output);
  if (!out) return out.error();
  if (auto st = timed("write + compress", [&] { return write_pass(s, *out); }); !st)
    return st.error();
  if (auto st = timed("atomic rename", [&] { return out->commit(); }); !st) return st.error();
  return std::move(s.report);
}

}  // namespace zinitrd::gen
