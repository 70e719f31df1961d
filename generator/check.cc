// check.cc: gathers the facts of `zinitrd check` and evaluates its items (see check.h).
//
// Every file is read inside the root: paths are resolved with RootFs (an absolute symlink in the
// root leads into the root, never to the host's file), and module files are opened at their
// resolved paths. Commands ask the host what only it knows, each with a deadline.
#include "check.h"

#include <libkmod.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <set>

#include "kmod_closure.h"
#include "root_fs.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

struct KmodCtxDeleter {
  void operator()(kmod_ctx* c) const { kmod_unref(c); }
};
struct KmodModuleDeleter {
  void operator()(kmod_module* m) const { kmod_module_unref(m); }
};
struct KmodListDeleter {
  void operator()(kmod_list* l) const { kmod_module_unref_list(l); }
};
struct KmodInfoDeleter {
  void operator()(kmod_list* l) const { kmod_module_info_free_list(l); }
};
using KmodCtx = std::unique_ptr<kmod_ctx, KmodCtxDeleter>;

// Reads one .modinfo key of MOD ("" when absent).
std::string modinfo(kmod_module* mod, std::string_view key) {
  kmod_list* raw = nullptr;
  if (kmod_module_get_info(mod, &raw) < 0) return {};
  std::unique_ptr<kmod_list, KmodInfoDeleter> info(raw);
  for (kmod_list* l = raw; l; l = kmod_list_next(raw, l))
    if (key == kmod_module_info_get_key(l)) return kmod_module_info_get_value(l);
  return {};
}

struct ModuleScan {
  std::vector<ModuleFact> modules;  // zfs first, then its dependency closure
  std::string error;
  std::string version;  // zfs.ko's `version`
  int64_t newest_mtime = 0;
};

// Fills FACT from the module file at in-root PATH: resolved inside ROOT, and read there through
// a module object of SCRATCH (libkmod would follow an absolute symlink to the host's file).
void read_module_file(const RootFs& root, kmod_ctx* scratch, const std::string& path,
                      ModuleFact& fact, ModuleScan& scan) {
  auto resolved = root.resolve(path);
  if (!resolved) return;
  std::string host = root.host_path(resolved->path);
  struct stat st;
  if (::stat(host.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  fact.path = path;
  scan.newest_mtime = std::max<int64_t>(scan.newest_mtime, st.st_mtime);
  kmod_module* raw = nullptr;
  if (kmod_module_new_from_path(scratch, host.c_str(), &raw) < 0 || !raw) return;
  std::unique_ptr<kmod_module, KmodModuleDeleter> file(raw);
  fact.vermagic = modinfo(file.get(), "vermagic");
  if (fact.name == "zfs") scan.version = modinfo(file.get(), "version");
}

// zfs.ko and its dependency closure in ROOT/lib/modules/KVER, through libkmod's indexes (no
// modprobe.d is read: only modules.dep and modules.builtin matter here).
ModuleScan scan_zfs_modules(const RootFs& root, const std::string& kver) {
  ModuleScan scan;
  const std::string dir = "/lib/modules/" + kver;
  auto resolved = root.resolve(dir);
  if (!resolved) {
    scan.error = "no modules for " + kver + " (" + root.host_path(dir) + " does not exist)";
    return scan;
  }
  if (!root.exists(dir + "/modules.dep")) {
    scan.error =
        "no modules index for " + kver + " (" + root.host_path(dir) + "/modules.dep is missing)";
    return scan;
  }
  const std::string host_dir = root.host_path(resolved->path);
  const char* no_config[] = {nullptr};
  KmodCtx ctx(kmod_new(host_dir.c_str(), no_config));
  KmodCtx scratch(kmod_new(host_dir.c_str(), no_config));
  if (!ctx || !scratch) {
    scan.error = "cannot open the modules index in " + host_dir;
    return scan;
  }
  kmod_list* raw = nullptr;
  if (kmod_module_new_from_lookup(ctx.get(), "zfs", &raw) < 0 || !raw) {
    scan.modules.push_back(ModuleFact{"zfs", "", "", false});
    return scan;
  }
  std::unique_ptr<kmod_list, KmodListDeleter> found(raw);
  const std::unordered_set<std::string> builtin = builtin_modules(root, dir);
  std::set<std::string> seen;
  // Depth-first over hard dependencies; each module's deps are a new list we own.
  std::vector<std::unique_ptr<kmod_list, KmodListDeleter>> owned;
  std::vector<kmod_module*> stack{kmod_module_get_module(raw)};
  std::vector<kmod_module*> refs{stack.back()};
  while (!stack.empty()) {
    kmod_module* mod = stack.back();
    stack.pop_back();
    std::string name = kmod_module_get_name(mod);
    if (!seen.insert(name).second) continue;
    ModuleFact fact;
    fact.name = name;
    // libkmod joins modules.dep's relative path to HOST_DIR; the rest is the in-root path.
    const char* path = kmod_module_get_path(mod);
    std::string_view p = path ? path : "";
    if (p.starts_with(host_dir + "/"))
      read_module_file(root, scratch.get(), dir + std::string(p.substr(host_dir.size())), fact,
                       scan);
    else if (!path)
      fact.builtin = builtin.count(name) > 0;  // no path in modules.dep: built in, or unknown
    scan.modules.push_back(fact);
    kmod_list* deps = kmod_module_get_dependencies(mod);
    if (!deps) continue;
    owned.emplace_back(deps);
    for (kmod_list* l = deps; l; l = kmod_list_next(deps, l)) {
      kmod_module* d = kmod_module_get_module(l);
      refs.push_back(d);
      stack.push_back(d);
    }
  }
  for (kmod_module* m : refs) kmod_module_unref(m);
  return scan;
}

std::optional<std::string> read_optional(const RootFs& root, std::string_view path) {
  auto r = root.read_file(path);
  if (!r) return std::nullopt;
  return std::move(*r);
}

// The zfs userland version: `zfs version` needs the module loaded; the package database does not.
std::string userland_version(const CommandRunner& run) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"zfs", "version"},
           {"dpkg-query", "-W", "-f=${Version}", "zfsutils-linux"},
           {"rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "zfs"}}) {
    CommandOutput o = run(argv);
    if (o.ok() && !first_line(o.out).empty()) return first_line(o.out);
  }
  return {};
}

// Why a pool command did not answer, for PoolFacts::unusable.
std::string pool_command_failure(const std::vector<std::string>& argv, const CommandOutput& o) {
  if (!o.ran) return argv[0] + " is not installed";
  if (o.timed_out)
    return "`" + format_command(argv) + "` gave no answer in " +
           std::to_string(kCheckCommandTimeoutMs / 1000) + " s (a suspended pool?)";
  return "`" + format_command(argv) + "` failed (the zfs module is not loaded on this host?)";
}

PoolFacts gather_pools(const RootFs& root, const CommandRunner& run) {
  PoolFacts pools;
  if (auto cache = root.resolve("/etc/zfs/zpool.cache")) {
    std::vector<std::string> zdb{"zdb", "-C", "-U", root.host_path(cache->path)};
    CommandOutput z = run(zdb);
    pools.cache = z.ok() ? z.out : std::string();
    if (!z.ok()) pools.cache_error = "`" + format_command(zdb) + "` " + z.describe();
  }
  CommandOutput mnt = run({"findmnt", "-n", "-o", "FSTYPE,SOURCE", "--mountpoint", root.root()});
  std::vector<std::string> f = split_words(mnt.out);
  if (mnt.ok() && f.size() == 2 && f[0] == "zfs") pools.root_dataset = f[1];
  auto cmdline = read_optional(root, "/etc/kernel/cmdline");
  if (!cmdline) cmdline = read_optional(root, "/proc/cmdline");
  pools.wants_bootfs = cmdline_wants_bootfs(cmdline.value_or(""));

  std::vector<std::string> zpool_list{"zpool", "list", "-H", "-o", "name"};
  CommandOutput list = run(zpool_list);
  if (!list.ok()) {
    pools.unusable = pool_command_failure(zpool_list, list);
    return pools;
  }
  for (const auto& l : split_words(list.out, "\n"))
    if (!trim(l).empty()) pools.imported.emplace_back(trim(l));
  auto dataset_exists = [&](const std::string& ds) {
    CommandOutput o = run({"zfs", "list", "-H", "-o", "name", ds});
    return o.ok() && first_line(o.out) == ds;
  };
  if (!pools.root_dataset.empty()) pools.root_dataset_exists = dataset_exists(pools.root_dataset);
  std::vector<std::string> candidates;
  if (!pools.root_dataset.empty())
    candidates.push_back(pools.root_dataset.substr(0, pools.root_dataset.find('/')));
  else
    candidates = pools.imported;
  for (const auto& p : candidates) {
    CommandOutput b = run({"zpool", "get", "-H", "-o", "value", "bootfs", p});
    std::string v = first_line(b.out);
    if (b.ok() && !v.empty() && v != "-") {
      pools.bootfs = v;
      pools.bootfs_exists = dataset_exists(v);
      break;
    }
  }
  return pools;
}

// The image of KVER: OPTIONS.image as given, else ROOT's /boot/initrd.img-KVER (Debian) or
// /boot/initramfs-KVER.img (elsewhere), resolved inside the root.
ImageFacts gather_image(const RootFs& root, const CheckOptions& options) {
  ImageFacts image;
  bool found = false;
  if (!options.image.empty()) {
    image.path = options.image;
    found = true;
  } else {
    const std::string debian = "/boot/initrd.img-" + options.kver;
    const std::string other = "/boot/initramfs-" + options.kver + ".img";
    image.path = root.host_path(debian);  // named in the report when there is neither
    for (const auto& p : {debian, other})
      if (auto r = root.resolve(p)) {
        image.path = root.host_path(r->path);
        found = true;
        break;
      }
  }
  struct stat st;
  image.exists = found && ::stat(image.path.c_str(), &st) == 0;
  if (!image.exists) return image;
  image.mtime = st.st_mtime;
  auto members = list_image(image.path);
  if (!members) {
    image.read_error = members.error().message;
    return image;
  }
  image.members = std::move(*members);
  if (auto h = read_image_member(image.path, "/etc/hostid")) image.hostid = std::move(*h);
  return image;
}

}  // namespace

CommandOutput run_check_command(const std::vector<std::string>& argv) {
  CommandOptions options;
  options.timeout_ms = kCheckCommandTimeoutMs;
  return run_command(argv, options);
}

std::vector<CheckItem> run_checks(const CheckOptions& options, const CommandRunner& run) {
  RootFs root(options.root);
  const std::string& kver = options.kver;
  std::vector<CheckItem> items;

  // Kernel side: zfs.ko and its closure, DKMS, the userland it must match.
  ModuleScan scan = scan_zfs_modules(root, kver);
  items.push_back(check_zfs_module(kver, scan.modules, scan.error));
  bool module_present = items.back().state == CheckState::kOk;
  std::vector<std::string> dkms_status{"dkms", "status", "-k", kver};
  CommandOutput dkms = run(dkms_status);
  if (dkms.timed_out)
    items.push_back({"dkms", CheckState::kUnknown,
                     "`" + format_command(dkms_status) + "` " + dkms.describe(),
                     "run `" + format_command(dkms_status) + "` by hand"});
  else
    items.push_back(check_dkms(kver, dkms.ran ? std::optional<std::string>(dkms.out) : std::nullopt,
                               module_present));
  items.push_back(check_versions(scan.version, userland_version(run)));

  // Pool side: hostid against the root pool, root dataset or bootfs, the cache file.
  PoolFacts pools = gather_pools(root, run);
  std::optional<std::string> host_hostid = read_optional(root, "/etc/hostid");
  std::string root_pool = pools.root_dataset.substr(0, pools.root_dataset.find('/'));
  std::optional<uint32_t> pool_hostid;
  if (pools.cache && !root_pool.empty()) pool_hostid = parse_zdb_hostid(*pools.cache, root_pool);
  items.push_back(check_hostid(host_hostid, pool_hostid, root_pool));
  items.push_back(check_root_dataset(pools));
  items.push_back(check_zpool_cache(pools));

  // The image: exists, fresh, holds what the boot needs.
  ImageFacts image = gather_image(root, options);
  image.module_mtime = scan.newest_mtime;
  image.host_hostid = host_hostid;
  for (auto& i : check_image(kver, image)) items.push_back(std::move(i));
  return items;
}

}  // namespace zinitrd::gen
