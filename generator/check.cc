// check.cc: gathers the facts of `zinitrd check` and evaluates its items (see check.h).
//
// Every file is read inside the root: paths are resolved with RootFs (an absolute symlink in the
// root leads into the root, never to the host's file), and module files are opened at their
// resolved paths. Commands ask the host what only it knows, each with a deadline.
#include "check.h"

#include <libkmod.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>

#include "check_luks.h"
#include "check_microcode_uki.h"
#include "check_ssh.h"
#include "fd.h"
#include "host_only.h"
#include "kmod_closure.h"
#include "microcode.h"
#include "module_file.h"
#include "module_storage.h"
#include "os_release.h"
#include "root_fs.h"
#include "text.h"
#include "uki.h"

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
void read_module_fact(const RootFs& root, kmod_ctx* scratch, const std::string& path,
                      ModuleFact& fact, ModuleScan& scan) {
  auto resolved = root.resolve(path);
  if (!resolved) return;
  std::string host = root.host_path(resolved->path);
  struct stat st;
  if (::stat(host.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  fact.path = path;
  scan.newest_mtime = std::max<int64_t>(scan.newest_mtime, st.st_mtime);
  if (module_compression(path) != ModuleCompression::kNone) {
    // Compressed (.ko.xz on Debian 13): read by zinitrd itself, as the build does.
    auto image = gen::read_module_file(host);
    auto info = image ? parse_modinfo(*image, path)
                      : Result<std::vector<std::pair<std::string, std::string>>>(image.error());
    if (!info) return;
    for (const auto& [k, v] : *info) {
      if (k == "vermagic") fact.vermagic = v;
      if (k == "version" && fact.name == "zfs") scan.version = v;
    }
    return;
  }
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
      read_module_fact(root, scratch.get(), dir + std::string(p.substr(host_dir.size())), fact,
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

// The zfs userland version of a target: its package database, read inside it (dpkg), or asked
// of `rpm --root`.
std::string target_userland_version(const RootFs& root, const CommandRunner& run) {
  if (auto db = root.read_file("/var/lib/dpkg/status"))
    return parse_dpkg_version(*db, "zfsutils-linux");
  CommandOutput o =
      run({"rpm", "--root", root.root(), "-q", "--qf", "%{VERSION}-%{RELEASE}", "zfs"});
  return o.ok() ? first_line(o.out) : std::string();
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
    // The distribution's name; without an os-release, the two common ones.
    std::vector<std::string> names{default_image_path(root, options.kver)};
    if (read_os_release(root).source.empty())
      names = {"/boot/initrd.img-" + options.kver, "/boot/initramfs-" + options.kver + ".img"};
    image.path = root.host_path(names[0]);  // named in the report when there is none
    for (const auto& p : names)
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

// The LUKS facts: the dm-crypt devices under POOL's vdevs (sysfs `slaves/`, on this host only),
// the root's crypttab and its key files, and what IMAGE carries.
LuksCheckFacts gather_luks(const RootFs& root, const std::string& pool, const ImageFacts& image,
                           const CommandRunner& run) {
  LuksCheckFacts f;
  f.pool = pool;
  f.crypttab = read_optional(root, "/etc/crypttab");
  for (const auto& k : crypttab_key_files(f.crypttab)) {
    std::optional<mode_t> mode;
    if (auto r = root.resolve(k)) {
      struct stat st;
      if (::stat(root.host_path(r->path).c_str(), &st) == 0 && S_ISREG(st.st_mode))
        mode = st.st_mode & 07777;
    }
    f.keys[k] = mode;
  }
  if (pool.empty()) {
    f.pool_luks_error = "/ is not a mounted ZFS dataset";
  } else if (root.root() != "/") {
    f.pool_luks_error = "the devices of a pool are looked at only for the running system's /";
  } else {
    std::vector<std::string> argv{"zpool", "list", "-vHPL", pool};
    CommandOutput o = run(argv);
    if (!o.ok()) {
      f.pool_luks_error = "`" + format_command(argv) + "` " + o.describe();
    } else {
      std::vector<LuksMapping> luks;
      for (const auto& vdev : parse_zpool_vdevs(o.out)) {
        struct stat st;
        std::vector<dev_t> leaves;
        if (::stat(vdev.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) continue;
        if (auto s = collect_stacked_devices("/sys", st.st_rdev, leaves, luks); !s) {
          f.pool_luks_error = s.error().message;
          break;
        }
      }
      if (f.pool_luks_error.empty()) f.pool_luks = std::move(luks);
    }
  }
  f.image_read = image.exists && image.read_error.empty();
  if (f.image_read) {
    f.image_members = image.members;
    if (auto c = read_image_member(image.path, kBootConfigPath))
      f.image_boot_config = std::move(*c);
  }
  return f;
}

// This machine's CPU vendor and its microcode package in ROOT; the vendor stays unknown under
// --root, whose image boots another machine.
MicrocodeFacts gather_microcode(const RootFs& root) {
  MicrocodeFacts f;
  if (!root.is_host()) return f;
  f.cpu_vendor = host_cpu().vendor;
  f.package = microcode_package(f.cpu_vendor);
  f.files_installed = !microcode_files(root, f.cpu_vendor).empty();
  return f;
}

// True when the initrd bytes DATA hold zfs.ko of KVER (listed from a private temporary copy).
bool initrd_has_zfs(std::string_view data, const std::string& kver) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/zinitrd-check.XXXXXX";
  Fd fd(::mkstemp(path.data()));
  if (!fd.valid()) return false;
  bool written = ::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
  fd.reset();
  auto members = written ? list_image(path) : Result<std::vector<ImageMember>>(Error::msg(""));
  ::unlink(path.c_str());
  if (!members) return false;
  const std::string dir = "/modules/" + kver + "/";
  return std::any_of(members->begin(), members->end(), [&](const ImageMember& m) {
    std::string_view name = std::string_view(m.path).substr(m.path.rfind('/') + 1);
    return m.path.find(dir) != std::string::npos &&
           (name == "zfs.ko" || name.starts_with("zfs.ko."));
  });
}

// The UKI of KVER where `zinitrd build --uki` and kernel-install's uki layout put it, read
// inside the root.
UkiFacts gather_uki(const RootFs& root, const std::string& kver) {
  UkiFacts f;
  auto in_root = default_uki_path(root, kver);
  if (!in_root) return f;  // no ESP: no UKI to check
  f.path = root.host_path(*in_root);
  auto resolved = root.resolve(*in_root);
  struct stat st;
  f.exists =
      resolved && ::stat(root.host_path(resolved->path).c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!f.exists) return f;
  f.mtime = st.st_mtime;
  auto data = root.read_file(*in_root);
  if (!data) {
    f.read_error = data.error().message;
    return f;
  }
  auto c = read_uki(*data, f.path);
  if (!c) {
    f.read_error = c.error().message;
    return f;
  }
  f.uname = c->uname;
  f.cmdline = c->cmdline;
  f.initrd_has_zfs = initrd_has_zfs(c->initrd, kver);
  return f;
}

}  // namespace

std::optional<std::string> dkms_status_in_root(const RootFs& root, const std::string& kver) {
  if (!root.exists("/var/lib/dkms")) return std::nullopt;
  std::string out;
  for (const auto& ver_dir : root.glob("/var/lib/dkms/zfs/*")) {
    std::string ver = ver_dir.substr(ver_dir.rfind('/') + 1);
    if (ver.starts_with("kernel-") || ver == "original_module") continue;
    auto built = root.glob(ver_dir + "/" + kver + "/*");
    if (built.empty()) continue;
    for (const auto& arch_dir : built) {
      std::string arch = arch_dir.substr(arch_dir.rfind('/') + 1);
      // dkms links zfs/kernel-KVER-ARCH to VER/KVER/ARCH when it installs that build.
      auto link = root.resolve("/var/lib/dkms/zfs/kernel-" + kver + "-" + arch);
      auto target = root.resolve(arch_dir);
      bool installed = link && target && link->path == target->path;
      out += "zfs/" + ver + ", " + kver + ", " + arch + ": " + (installed ? "installed" : "built") +
             "\n";
    }
  }
  return out;
}

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
  CommandOutput dkms;
  if (options.target) {
    auto in_root = dkms_status_in_root(root, kver);
    dkms = CommandOutput{in_root.has_value(), 0, in_root.value_or("")};
  } else {
    dkms = run(dkms_status);
  }
  if (dkms.timed_out)
    items.push_back({"dkms", CheckState::kUnknown,
                     "`" + format_command(dkms_status) + "` " + dkms.describe(),
                     "run `" + format_command(dkms_status) + "` by hand"});
  else
    items.push_back(check_dkms(kver, dkms.ran ? std::optional<std::string>(dkms.out) : std::nullopt,
                               module_present));
  items.push_back(check_versions(
      scan.version, options.target ? target_userland_version(root, run) : userland_version(run)));

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
  image.kernel = read_kernel_config(root, kver);
  image.host_hostid = host_hostid;
  for (auto& i : check_image(kver, image)) items.push_back(std::move(i));

  // LUKS under the pool: crypttab entries, key files, what the image carries for them.
  for (auto& i : check_luks(kver, gather_luks(root, root_pool, image, run)))
    items.push_back(std::move(i));
  // Unlock over SSH, when it is on: keys to log in with, a host key, an image that has them.
  std::vector<std::string> member_paths;
  for (const auto& m : image.members) member_paths.push_back(m.path);
  const bool readable = image.exists && image.read_error.empty();
  if (auto i = check_ssh(gather_ssh(root, readable ? &member_paths : nullptr)))
    items.push_back(std::move(*i));
  if (auto i = check_image_microcode(kver, image, gather_microcode(root))) items.push_back(*i);
  UkiFacts uki = gather_uki(root, kver);
  uki.module_mtime = scan.newest_mtime;
  if (auto i = check_uki(kver, uki)) items.push_back(*i);
  return items;
}

}  // namespace zinitrd::gen
