// build.cc: the passes of `zinitrd build` (see build.h), in the order they run.
#include "build.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "boot_config.h"
#include "elf_closure.h"
#include "features.h"
#include "host_only.h"
#include "image_tree.h"
#include "key_files.h"
#include "kmod_closure.h"
#include "output_file.h"
#include "process.h"
#include "root_fs.h"
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
  ElfClosureResult elf;
  BootConfig boot;
  ImageTree tree;
  std::vector<std::string> problems;  // collected across passes; any => nothing is written
};

// Pass 1: which features this image has, in dependency order.
Status plan_features_pass(BuildState& s) {
  auto all = load_features(s.opt.feature_dirs, s.root);
  if (!all) return all.error();
  s.all_features = std::move(*all);
  auto planned = plan_features(s.all_features, s.opt.add, s.opt.omit, s.root);
  if (!planned) return planned.error();
  s.features = std::move(*planned);
  for (const Feature* f : s.features) {
    s.report.features.push_back(f->name);
    s.boot.features.push_back(f->name);
    for (const auto& [k, v] : f->settings) s.boot.settings[k] = v;
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
  for (const Feature* f : s.features) {
    for (const auto& m : f->kmods) (*kmod)->request({m, true, true, f->name, f->kmod_hint});
    for (const auto& m : f->kmods_optional) (*kmod)->request({m, false, true, f->name, ""});
    for (const auto& m : f->kmods_coldplug) {
      if (!m.empty() && m.back() == '/') {
        if (host)
          skipped_dirs.push_back(m);
        else
          (*kmod)->request_directory(m, f->name);
      } else {
        (*kmod)->request({m, false, false, f->name, ""});
      }
    }
  }
  if (host) {
    for (const auto& m : host->modules) (*kmod)->request({m, true, false, "--host-only", ""});
    for (const auto& a : host->modaliases) (*kmod)->request({a, false, false, "--host-only", ""});
    s.report.warnings.push_back(
        "--host-only: storage drivers limited to those of the root pool's devices (" +
        join(host->modules, " ") + "); left out the generic drivers of " + join(skipped_dirs, " ") +
        ": this image boots the pool only from this hardware");
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

// Pass 4: every file of the image, and the boot configuration that describes it.
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
  for (const auto& f : s.modules.files) note(s.tree.add_from_root(s.root, f));
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

// Pass 5: the key files of encrypted roots (keylocation=file://): read by zfs load-key at boot.
Status embed_keys_pass(BuildState& s) {
  std::vector<KeyFile> keys;
  for (const auto& spec : s.opt.keyfiles) keys.push_back(parse_keyfile_spec(spec));
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

// Pass 6 and 7: write the archive to a temporary file, then rename it over the old image.
Status write_pass(BuildState& s, OutputFile& out) {
  auto written = write_image(s.tree, s.opt.write, out.fd());
  if (!written) return out.explain(written.error());
  s.report.written = *written;
  return Ok{};
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
  BuildState s{opt, RootFs(opt.root), {}, {}, {}, {}, {}, {}, {}, {}};
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
  if (auto st = timed("resolve ELF closure", [&] { return resolve_elf_pass(s); }); !st)
    return st.error();
  if (auto st = timed("gather files", [&] { return gather_files_pass(s); }); !st) return st.error();
  if (auto st = timed("embed key files", [&] { return embed_keys_pass(s); }); !st)
    return st.error();
  if (auto st = check_problems(s); !st) return st.error();

  auto out = OutputFile::create(opt.output);
  if (!out) return out.error();
  if (auto st = timed("write + compress", [&] { return write_pass(s, *out); }); !st)
    return st.error();
  if (auto st = timed("atomic rename", [&] { return out->commit(); }); !st) return st.error();
  return std::move(s.report);
}

}  // namespace zinitrd::gen
