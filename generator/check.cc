// check.cc: `zinitrd check`. Parsers and items are pure; gather_* functions read files below the
// root and run commands through a CommandRunner; run_checks() ties them in boot-chain order:
// module -> DKMS -> userland -> hostid -> root dataset -> cache -> image.
#include "check.h"

#include <fcntl.h>
#include <libkmod.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "fd.h"
#include "root_fs.h"

namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t e = text.find('\n');
    lines.push_back(text.substr(0, e));
    if (e == std::string_view::npos) break;
    text.remove_prefix(e + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

CheckItem item(std::string id, CheckState state, std::string detail, std::string fix = {}) {
  return CheckItem{std::move(id), state, std::move(detail), std::move(fix)};
}

std::string rebuild_fix(std::string_view kver) {
  return "run `zinitrd build --kver " + std::string(kver) + "`";
}

}  // namespace

const char* check_state_name(CheckState state) {
  switch (state) {
    case CheckState::kOk:
      return "ok";
    case CheckState::kWarn:
      return "warn";
    case CheckState::kFail:
      return "fail";
    case CheckState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// ---- running commands ----

CommandOutput run_command(const std::vector<std::string>& argv) {
  CommandOutput result;
  if (argv.empty()) return result;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return result;
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return result;
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(wr.get(), 1);
    ::dup2(null, 2);
    ::setenv("LC_ALL", "C", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  wr.reset();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0) {
      result.out.append(buf, size_t(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.ran = result.status != 127;
  return result;
}

// ---- parsers ----

std::string parse_dkms_state(std::string_view status_output, std::string_view module,
                             std::string_view kver) {
  for (std::string_view line : split_lines(status_output)) {
    size_t colon = line.rfind(": ");
    if (colon == std::string_view::npos) continue;
    // Fields before the colon: "zfs/2.1.11, KVER, x86_64" (dkms 3) or "zfs, 2.1.11, KVER, x86_64".
    std::vector<std::string_view> fields;
    std::string_view head = line.substr(0, colon);
    while (true) {
      size_t c = head.find(',');
      fields.push_back(trim(head.substr(0, c)));
      if (c == std::string_view::npos) break;
      head.remove_prefix(c + 1);
    }
    std::string_view name = fields[0].substr(0, fields[0].find('/'));
    if (name != module) continue;
    // A line without a kernel field ("zfs/2.1.11: added") is about no kernel in particular.
    bool for_kver = std::find(fields.begin(), fields.end(), kver) != fields.end();
    bool no_kernel =
        fields.size() == 1 || (fields.size() == 2 && fields[0].find('/') == std::string_view::npos);
    if (!for_kver && !no_kernel) continue;
    return std::string(trim(line.substr(colon + 2)));
  }
  return {};
}

std::optional<uint32_t> parse_hostid_file(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  uint32_t v;
  std::memcpy(&v, bytes.data(), 4);
  return v;
}

std::vector<std::string> parse_zdb_pools(std::string_view zdb_output) {
  std::vector<std::string> pools;
  for (std::string_view line : split_lines(zdb_output)) {
    if (line.empty() || line[0] == ' ' || line[0] == '\t' || line.back() != ':') continue;
    line.remove_suffix(1);
    if (line.find(' ') == std::string_view::npos) pools.emplace_back(line);
  }
  return pools;
}

std::optional<uint32_t> parse_zdb_hostid(std::string_view zdb_output, std::string_view pool) {
  bool in_pool = false;
  for (std::string_view line : split_lines(zdb_output)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '\t') {
      in_pool = line == std::string(pool) + ":";
      continue;
    }
    if (!in_pool) continue;
    std::string_view t = trim(line);
    // The pool's own hostid sits at the first indentation level; vdev trees do not have one.
    if (t.starts_with("hostid:")) {
      std::string v(trim(t.substr(7)));
      char* end = nullptr;
      unsigned long long n = std::strtoull(v.c_str(), &end, 0);
      if (end == v.c_str() || n > 0xffffffffULL) return std::nullopt;
      return uint32_t(n);
    }
  }
  return std::nullopt;
}

std::string upstream_version(std::string_view version) {
  version = trim(version);
  if (version.starts_with("zfs-kmod-"))
    version.remove_prefix(9);
  else if (version.starts_with("zfs-"))
    version.remove_prefix(4);
  size_t end = 0;
  while (end < version.size() && (std::isdigit((unsigned char)version[end]) || version[end] == '.'))
    ++end;
  std::string v(version.substr(0, end));
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v;
}

bool cmdline_wants_bootfs(std::string_view cmdline) {
  bool wants = false;
  for (const std::string& w : split_words(cmdline)) {
    if (w == "--") break;  // the rest belongs to init
    std::string lower = w;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower == "root=zfs" || lower == "root=zfs:" || lower == "root=zfs:auto" ||
        lower == "zfs=auto" || lower == "zfs=bootfs")
      wants = true;
    else if (w.starts_with("root=") || w.starts_with("zfs="))
      wants = false;  // a later root parameter names a dataset: the last one wins
  }
  return wants;
}

// ---- items ----

CheckItem check_zfs_module(std::string_view kver, const std::vector<ModuleFact>& modules,
                           std::string_view lookup_error) {
  const std::string k(kver);
  std::string fix_build = "run `dkms autoinstall -k " + k +
                          "` (needs zfs-dkms and the headers of " + k + "), then " +
                          rebuild_fix(kver);
  if (!lookup_error.empty())
    return item("zfs-module", CheckState::kFail, std::string(lookup_error), fix_build);
  if (modules.empty() || (modules[0].path.empty() && !modules[0].builtin))
    return item("zfs-module", CheckState::kFail, "zfs.ko is not built for " + k, fix_build);
  std::vector<std::string> missing, mismatched;
  size_t files = 0;
  for (const auto& m : modules) {
    if (m.builtin) continue;
    if (m.path.empty()) {
      missing.push_back(m.name);
      continue;
    }
    ++files;
    std::vector<std::string> vm = split_words(m.vermagic);
    if (vm.empty() || vm[0] != k)
      mismatched.push_back(m.name + " (built for " + (vm.empty() ? "an unknown kernel" : vm[0]) +
                           ")");
  }
  if (!missing.empty() || !mismatched.empty()) {
    std::string d;
    if (!missing.empty()) {
      d = "missing for " + k + ":";
      for (const auto& n : missing) d += " " + n;
    }
    if (!mismatched.empty()) {
      if (!d.empty()) d += "; ";
      d += "vermagic does not match " + k + ":";
      for (const auto& n : mismatched) d += " " + n;
    }
    return item("zfs-module", CheckState::kFail, d, fix_build);
  }
  if (modules[0].builtin) return item("zfs-module", CheckState::kOk, "zfs is built into " + k);
  return item(
      "zfs-module", CheckState::kOk,
      modules[0].path + " and " + std::to_string(files - 1) + " dependencies, built for " + k);
}

CheckItem check_dkms(std::string_view kver, const std::optional<std::string>& status_output,
                     bool module_present) {
  const std::string k(kver);
  if (!status_output)
    return item("dkms", module_present ? CheckState::kOk : CheckState::kUnknown,
                "dkms is not installed" +
                    std::string(module_present ? " (zfs.ko does not come from DKMS)" : ""),
                module_present ? "" : "install zfs-dkms, or a zfs module package for " + k);
  std::string state = parse_dkms_state(*status_output, "zfs", kver);
  if (state.empty()) {
    if (module_present)
      return item("dkms", CheckState::kOk,
                  "DKMS does not manage zfs for " + k + " (zfs.ko comes from elsewhere)");
    return item(
        "dkms", CheckState::kFail, "DKMS has no zfs module for " + k,
        "install zfs-dkms and linux-headers-" + k + ", then run `dkms autoinstall -k " + k + "`");
  }
  if (state.starts_with("installed")) {
    if (state.find("WARNING") != std::string::npos)
      return item("dkms", CheckState::kWarn, "zfs for " + k + ": " + state,
                  "see `dkms status -k " + k +
                      "`; reinstall with `dkms install --force zfs/VERSION -k " + k + "`");
    return item("dkms", CheckState::kOk, "zfs for " + k + ": " + state);
  }
  return item("dkms", module_present ? CheckState::kWarn : CheckState::kFail,
              "zfs for " + k + ": " + state + " (not installed)",
              "run `dkms autoinstall -k " + k + "` (needs linux-headers-" + k + ")");
}

CheckItem check_versions(std::string_view module_version, std::string_view userland_version) {
  if (module_version.empty() || userland_version.empty())
    return item("zfs-version", CheckState::kUnknown,
                std::string("cannot compare: ") + (module_version.empty()
                                                       ? "zfs.ko has no version"
                                                       : "the zfs userland version is unknown"));
  std::string m = upstream_version(module_version), u = upstream_version(userland_version);
  std::string d =
      "userland " + std::string(userland_version) + ", module " + std::string(module_version);
  if (m == u) return item("zfs-version", CheckState::kOk, d);
  auto minor = [](const std::string& v) { return v.substr(0, v.find('.', v.find('.') + 1)); };
  std::string fix =
      "install the zfs-dkms that matches zfsutils-linux (same version), then rebuild the image";
  if (minor(m) != minor(u))
    return item("zfs-version", CheckState::kFail,
                d + ": the image's zpool may not talk to this module", fix);
  return item("zfs-version", CheckState::kWarn, d, fix);
}

CheckItem check_hostid(const std::optional<std::string>& hostid_file,
                       std::optional<uint32_t> pool_hostid, std::string_view pool) {
  const std::string p(pool);
  std::optional<uint32_t> host = hostid_file ? parse_hostid_file(*hostid_file) : std::nullopt;
  if (hostid_file && !host)
    return item("hostid", CheckState::kFail,
                "/etc/hostid is " + std::to_string(hostid_file->size()) + " bytes, not 4",
                "recreate it with `zgenhostid -f`, then rebuild the image");
  if (!host || *host == 0) {
    std::string what = host ? "/etc/hostid is zero" : "/etc/hostid is missing";
    if (pool_hostid && *pool_hostid != 0)
      return item("hostid", CheckState::kFail,
                  what + " but pool " + p + " was last imported under hostid " +
                      hex32(*pool_hostid) + ": the boot import would refuse it",
                  "run `zgenhostid -f " + hex32(*pool_hostid) + "`, then rebuild the image");
    return item(
        "hostid", CheckState::kWarn, what + ": pools are owned by hostid 0",
        "run `zgenhostid` and `zpool import`/re-import the pools under it, then rebuild the image");
  }
  if (!pool_hostid)
    return item("hostid", CheckState::kOk,
                "/etc/hostid " + hex32(*host) +
                    (p.empty() ? " (the root pool's hostid could not be read)"
                               : " (pool " + p + "'s hostid could not be read)"));
  if (*pool_hostid != *host)
    return item("hostid", CheckState::kFail,
                "/etc/hostid is " + hex32(*host) + " but pool " + p + " was last imported under " +
                    hex32(*pool_hostid) + ": the boot import would refuse it",
                "run `zgenhostid -f " + hex32(*pool_hostid) + "` (or `zpool export/import " + p +
                    "` under this hostid), then rebuild the image");
  return item("hostid", CheckState::kOk,
              "/etc/hostid " + hex32(*host) + ", as pool " + p + " was last imported");
}

CheckItem check_root_dataset(const PoolFacts& pools) {
  if (!pools.unusable.empty())
    return item("root-dataset", CheckState::kUnknown, "cannot check: " + pools.unusable,
                "run `modprobe zfs` (or check on the machine that boots from the pool)");
  std::string pool = pools.root_dataset.substr(0, pools.root_dataset.find('/'));
  if (pools.wants_bootfs) {
    if (pools.bootfs.empty() || pools.bootfs == "-")
      return item("root-dataset", CheckState::kFail,
                  "the kernel command line boots the pool's bootfs, but no imported pool has one",
                  "run `zpool set bootfs=POOL/DATASET POOL` for the root pool");
    if (!pools.bootfs_exists)
      return item("root-dataset", CheckState::kFail, "bootfs " + pools.bootfs + " does not exist",
                  "run `zpool set bootfs=POOL/DATASET POOL` with the dataset holding /");
    return item("root-dataset", CheckState::kOk, "bootfs " + pools.bootfs + " exists");
  }
  if (pools.root_dataset.empty())
    return item("root-dataset", CheckState::kUnknown,
                "cannot check: / is not a ZFS dataset on this host",
                "run `zinitrd check` on the machine that boots from the pool");
  if (!pools.root_dataset_exists)
    return item("root-dataset", CheckState::kFail,
                "root dataset " + pools.root_dataset + " is not listed by `zfs list`",
                "check the root= parameter of the boot entry");
  return item("root-dataset", CheckState::kOk, "root dataset " + pools.root_dataset + " exists");
}

CheckItem check_zpool_cache(const PoolFacts& pools) {
  if (!pools.cache)
    return item("zpool-cache", CheckState::kOk,
                "no /etc/zfs/zpool.cache: the boot finds pools by scanning devices");
  std::vector<std::string> cached = parse_zdb_pools(*pools.cache);
  std::string list;
  for (const auto& p : cached) list += " " + p;
  if (!pools.unusable.empty())
    return item("zpool-cache", CheckState::kUnknown,
                "zpool.cache lists" + (list.empty() ? std::string(" no pool") : list) +
                    "; cannot tell which are imported: " + pools.unusable);
  std::vector<std::string> absent;
  for (const auto& p : cached)
    if (std::find(pools.imported.begin(), pools.imported.end(), p) == pools.imported.end())
      absent.push_back(p);
  if (absent.empty())
    return item("zpool-cache", CheckState::kOk,
                "zpool.cache lists" + (list.empty() ? std::string(" no pool") : list));
  std::string a;
  for (const auto& p : absent) a += " " + p;
  return item(
      "zpool-cache", CheckState::kWarn, "zpool.cache lists pools that are not imported:" + a,
      "remove /etc/zfs/zpool.cache, run `zpool set cachefile=/etc/zfs/zpool.cache POOL` for each "
      "imported pool, then rebuild the image");
}

std::vector<CheckItem> check_image(std::string_view kver, const ImageFacts& image) {
  std::vector<CheckItem> items;
  const std::string fix = rebuild_fix(kver);
  if (!image.exists) {
    items.push_back(item("image", CheckState::kFail, "no image at " + image.path, fix));
    return items;
  }
  if (!image.read_error.empty()) {
    items.push_back(item("image", CheckState::kFail, image.read_error, fix));
    return items;
  }
  items.push_back(item("image", CheckState::kOk,
                       image.path + " (" + std::to_string(image.members.size()) + " entries)"));

  if (image.module_mtime == 0)
    items.push_back(
        item("image-fresh", CheckState::kUnknown, "cannot compare: zfs.ko was not found"));
  else if (image.module_mtime > image.mtime)
    items.push_back(item("image-fresh", CheckState::kWarn,
                         "the image is older than zfs.ko of " + std::string(kver), fix));
  else
    items.push_back(item("image-fresh", CheckState::kOk, "the image is newer than zfs.ko"));

  const std::string dir = "/modules/" + std::string(kver) + "/";
  bool zfs = false, init = false, runtime = false;
  for (const auto& m : image.members) {
    std::string_view name = std::string_view(m.path).substr(m.path.rfind('/') + 1);
    if (m.path.find(dir) != std::string::npos && (name == "zfs.ko" || name.starts_with("zfs.ko.")))
      zfs = true;
    if (m.path == "/init") init = true;
    if (m.path == "/usr/lib/zinitrd/init" && S_ISREG(m.mode)) runtime = true;
  }
  items.push_back(
      zfs ? item("image-zfs", CheckState::kOk, "contains zfs.ko for " + std::string(kver))
          : item("image-zfs", CheckState::kFail, "contains no zfs.ko for " + std::string(kver),
                 fix));

  auto host = image.host_hostid ? parse_hostid_file(*image.host_hostid) : std::nullopt;
  auto in_image = image.hostid ? parse_hostid_file(*image.hostid) : std::nullopt;
  if (host && in_image && *host == *in_image)
    items.push_back(item("image-hostid", CheckState::kOk, "contains /etc/hostid " + hex32(*host)));
  else if (host && in_image)
    items.push_back(item("image-hostid", CheckState::kFail,
                         "contains hostid " + hex32(*in_image) + ", the host has " + hex32(*host),
                         fix));
  else if (host)
    items.push_back(item("image-hostid", CheckState::kFail, "contains no /etc/hostid", fix));
  else if (in_image)
    items.push_back(item("image-hostid", CheckState::kWarn,
                         "contains hostid " + hex32(*in_image) + " but the host has no /etc/hostid",
                         fix));
  else
    items.push_back(item("image-hostid", CheckState::kWarn,
                         "neither the host nor the image has /etc/hostid",
                         "run `zgenhostid`, then rebuild the image"));

  if (!init)
    items.push_back(item("image-runtime", CheckState::kFail, "contains no /init", fix));
  else if (!runtime)
    items.push_back(item("image-runtime", CheckState::kWarn,
                         "has an /init but not zinitrd's runtime (/usr/lib/zinitrd/init): made by "
                         "another generator?",
                         fix));
  else
    items.push_back(
        item("image-runtime", CheckState::kOk, "contains /init and the zinitrd runtime"));
  return items;
}

// ---- gathering ----

namespace {

struct KmodCtxDeleter {
  void operator()(kmod_ctx* c) const { kmod_unref(c); }
};
struct KmodListDeleter {
  void operator()(kmod_list* l) const { kmod_module_unref_list(l); }
};
struct KmodInfoDeleter {
  void operator()(kmod_list* l) const { kmod_module_info_free_list(l); }
};

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

// zfs.ko and its dependency closure in ROOT/lib/modules/KVER, through libkmod's indexes (the
// host's modprobe.d is not read: only modules.dep and modules.builtin matter here).
ModuleScan scan_zfs_modules(const RootFs& root, const std::string& kver) {
  ModuleScan scan;
  std::string dir = root.host_path("/lib/modules/" + kver);
  if (!fs::exists(dir + "/modules.dep")) {
    scan.error = "no modules index for " + kver + " (" + dir + "/modules.dep is missing)";
    if (!fs::exists(dir)) scan.error = "no modules for " + kver + " (" + dir + " does not exist)";
    return scan;
  }
  const char* no_config[] = {nullptr};
  std::unique_ptr<kmod_ctx, KmodCtxDeleter> ctx(kmod_new(dir.c_str(), no_config));
  if (!ctx) {
    scan.error = "cannot open the modules index in " + dir;
    return scan;
  }
  kmod_list* raw = nullptr;
  if (kmod_module_new_from_lookup(ctx.get(), "zfs", &raw) < 0 || !raw) {
    scan.modules.push_back(ModuleFact{"zfs", "", "", false});
    return scan;
  }
  std::unique_ptr<kmod_list, KmodListDeleter> found(raw);
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
    const char* path = kmod_module_get_path(mod);
    if (path) {
      struct stat st;
      if (::stat(path, &st) == 0) {
        std::string p = path;
        fact.path = root.is_host() ? p : p.substr(root.root().size());
        fact.vermagic = modinfo(mod, "vermagic");
        scan.newest_mtime = std::max<int64_t>(scan.newest_mtime, st.st_mtime);
        if (name == "zfs") scan.version = modinfo(mod, "version");
      }
    } else {
      // No path in modules.dep: built in (modules.builtin) or simply unknown.
      std::ifstream in(dir + "/modules.builtin");
      for (std::string line; std::getline(in, line);) {
        std::string base = line.substr(line.rfind('/') + 1);
        base = base.substr(0, base.find(".ko"));
        std::replace(base.begin(), base.end(), '-', '_');
        if (base == name) fact.builtin = true;
      }
    }
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
  return *r;
}

std::string first_line(std::string_view s) { return std::string(trim(s.substr(0, s.find('\n')))); }

// The zfs userland version: `zfs version` needs the module loaded; the package database does not.
std::string userland_version(const CommandRunner& run) {
  CommandOutput v = run({"zfs", "version"});
  if (v.ran && v.status == 0 && !first_line(v.out).empty()) return first_line(v.out);
  CommandOutput d = run({"dpkg-query", "-W", "-f=${Version}", "zfsutils-linux"});
  if (d.ran && d.status == 0 && !first_line(d.out).empty()) return first_line(d.out);
  CommandOutput r = run({"rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "zfs"});
  if (r.ran && r.status == 0 && !first_line(r.out).empty()) return first_line(r.out);
  return {};
}

PoolFacts gather_pools(const RootFs& root, const CommandRunner& run) {
  PoolFacts pools;
  if (root.exists("/etc/zfs/zpool.cache")) {
    CommandOutput z = run({"zdb", "-C", "-U", root.host_path("/etc/zfs/zpool.cache")});
    pools.cache = z.ran && z.status == 0 ? z.out : std::string();
  }
  CommandOutput mnt = run({"findmnt", "-n", "-o", "FSTYPE,SOURCE", "--mountpoint", root.root()});
  std::vector<std::string> f = split_words(mnt.out);
  if (mnt.status == 0 && f.size() == 2 && f[0] == "zfs") pools.root_dataset = f[1];
  std::string cmdline = root.exists("/etc/kernel/cmdline")
                            ? *root.read_file("/etc/kernel/cmdline")
                            : read_optional(root, "/proc/cmdline").value_or("");
  pools.wants_bootfs = cmdline_wants_bootfs(cmdline);

  CommandOutput list = run({"zpool", "list", "-H", "-o", "name"});
  if (!list.ran) {
    pools.unusable = "zpool is not installed";
    return pools;
  }
  if (list.status != 0) {
    pools.unusable = "`zpool list` failed (the zfs module is not loaded on this host?)";
    return pools;
  }
  for (std::string_view l : split_lines(list.out))
    if (!trim(l).empty()) pools.imported.emplace_back(trim(l));
  auto dataset_exists = [&](const std::string& ds) {
    CommandOutput o = run({"zfs", "list", "-H", "-o", "name", ds});
    return o.status == 0 && first_line(o.out) == ds;
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
    if (b.status == 0 && !v.empty() && v != "-") {
      pools.bootfs = v;
      pools.bootfs_exists = dataset_exists(v);
      break;
    }
  }
  return pools;
}

}  // namespace

std::vector<CheckItem> run_checks(const CheckOptions& options, const CommandRunner& run) {
  RootFs root(options.root);
  const std::string& kver = options.kver;
  std::vector<CheckItem> items;

  // Kernel side: zfs.ko and its closure, DKMS, the userland it must match.
  ModuleScan scan = scan_zfs_modules(root, kver);
  items.push_back(check_zfs_module(kver, scan.modules, scan.error));
  bool module_present = items.back().state == CheckState::kOk;
  CommandOutput dkms = run({"dkms", "status", "-k", kver});
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
  ImageFacts image;
  if (!options.image.empty()) {
    image.path = options.image;
  } else {
    image.path = root.host_path("/boot/initrd.img-" + kver);
    std::string rh = root.host_path("/boot/initramfs-" + kver + ".img");
    if (!fs::exists(image.path) && fs::exists(rh)) image.path = rh;
  }
  struct stat st;
  image.exists = ::stat(image.path.c_str(), &st) == 0;
  if (image.exists) {
    image.mtime = st.st_mtime;
    auto members = list_image(image.path);
    if (members) {
      image.members = std::move(*members);
      auto h = read_image_member(image.path, "/etc/hostid");
      if (h) image.hostid = *h;
    } else {
      image.read_error = members.error().message;
    }
  }
  image.module_mtime = scan.newest_mtime;
  image.host_hostid = host_hostid;
  for (auto& i : check_image(kver, image)) items.push_back(std::move(i));
  return items;
}

// ---- output ----

std::string format_check_text(std::string_view kver, const std::vector<CheckItem>& items) {
  std::string out = "zinitrd check for " + std::string(kver) + "\n";
  for (const auto& i : items) {
    char head[64];
    std::string state = check_state_name(i.state);
    if (i.state == CheckState::kFail) state = "FAIL";
    std::snprintf(head, sizeof head, "  %-8s %-14s ", state.c_str(), i.id.c_str());
    out += head + i.detail + "\n";
    if (!i.fix.empty() && i.state != CheckState::kOk)
      out += std::string(26, ' ') + "fix: " + i.fix + "\n";
  }
  size_t fails = std::count_if(items.begin(), items.end(),
                               [](const CheckItem& i) { return i.state == CheckState::kFail; });
  out += fails ? std::to_string(fails) + " item(s) would stop the boot\n"
               : "nothing found that would stop the boot\n";
  return out;
}

namespace {
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + "\"";
}
}  // namespace

std::string format_check_json(std::string_view kver, const std::vector<CheckItem>& items) {
  std::string out = "{\"kver\":" + json_string(kver) +
                    ",\"ok\":" + (check_exit_status(items) == 0 ? "true" : "false") +
                    ",\"items\":[";
  for (size_t n = 0; n < items.size(); ++n) {
    const auto& i = items[n];
    if (n) out += ",";
    out += "{\"id\":" + json_string(i.id) + ",\"state\":" + json_string(check_state_name(i.state)) +
           ",\"detail\":" + json_string(i.detail) + ",\"fix\":" + json_string(i.fix) + "}";
  }
  return out + "]}\n";
}

int check_exit_status(const std::vector<CheckItem>& items) {
  for (const auto& i : items)
    if (i.state == CheckState::kFail) return 1;
  return 0;
}

}  // namespace zinitrd::gen
