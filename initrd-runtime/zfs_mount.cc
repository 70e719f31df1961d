// zfs_mount.cc: root and early child mounts (see zfs_mount.h).
#include "zfs_mount.h"

#include <sys/mount.h>

#include <algorithm>
#include <cstring>

#include "log.h"
#include "util.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

// Mountpoints that must be mounted before the real init runs: it and its libraries live there.
constexpr std::string_view kEarlyPaths[] = {"/usr", "/etc",   "/bin",   "/sbin",
                                            "/lib", "/lib32", "/lib64", "/libx32"};

bool is_early_path(std::string_view p) {
  for (auto e : kEarlyPaths)
    if (p == e) return true;
  return false;
}

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

struct GenericOption {
  std::string_view name;
  unsigned long set, clear;
};
constexpr GenericOption kGeneric[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"lazytime", MS_LAZYTIME, 0},
    {"nolazytime", 0, MS_LAZYTIME},
    {"defaults", 0, 0},
};

std::string existing_filesystems(const ZfsTools& tools, const std::string& dataset) {
  std::string pool = dataset.substr(0, dataset.find('/'));
  auto r = tools.zfs({"list", "-H", "-o", "name", "-t", "filesystem", "-r", pool});
  if (!r || !r->ok()) return {};
  auto names = split_words(r->output, "\n");
  if (names.size() > 20) {
    size_t more = names.size() - 20;
    names.resize(20);
    names.push_back("... (" + std::to_string(more) + " more)");
  }
  return join(names, ", ");
}

}  // namespace

std::vector<DatasetInfo> parse_dataset_list(std::string_view output) {
  std::vector<DatasetInfo> out;
  for (const auto& line : split_all(output, '\n')) {
    if (line.empty()) continue;
    auto f = split_all(line, '\t');
    if (f.size() != 3 || f[0].empty()) continue;
    out.push_back(DatasetInfo{f[0], f[1], f[2]});
  }
  return out;
}

std::vector<ChildMount> select_early_children(const std::string& root_dataset,
                                              const std::vector<DatasetInfo>& datasets) {
  std::string root_mp;
  for (const auto& d : datasets)
    if (d.name == root_dataset) root_mp = strip_trailing_slashes(d.mountpoint);
  std::vector<ChildMount> out;
  const std::string prefix = root_dataset + "/";
  for (const auto& d : datasets) {
    if (!starts_with(d.name, prefix) || d.canmount != "on") continue;
    std::string mp = strip_trailing_slashes(d.mountpoint);
    if (mp.empty() || mp[0] != '/') continue;  // legacy, none, "-"
    // Relative to the root's own mountpoint when the root is not mounted at "/" (say /mnt/be,
    // or an altroot): /mnt/be/usr is /usr of the new root.
    if (!root_mp.empty() && root_mp[0] == '/' && root_mp != "/") {
      if (mp == root_mp) continue;
      if (starts_with(mp, root_mp + "/")) mp = mp.substr(root_mp.size());
    }
    if (!is_early_path(mp)) continue;
    bool taken = false;
    for (const auto& o : out) taken |= o.target == mp;
    if (taken) continue;
    out.push_back(ChildMount{d.name, mp});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ChildMount& a, const ChildMount& b) { return a.target < b.target; });
  return out;
}

MountOptions root_mount_options(std::string_view rootflags, bool read_only) {
  MountOptions o;
  o.flags = read_only ? MS_RDONLY : 0;
  o.data = "zfsutil";
  for (const auto& opt : split_words(rootflags, ",")) {
    bool generic = false;
    for (const auto& g : kGeneric) {
      if (opt == g.name) {
        o.flags = (o.flags | g.set) & ~g.clear;
        generic = true;
      }
    }
    if (generic || opt == "zfsutil") continue;
    o.data += ',';
    o.data += opt;
  }
  return o;
}

std::optional<Failure> mount_root(const ZfsTools& tools, const std::string& dataset,
                                  const MountOptions& options) {
  if (is_mount_point(kSysroot)) {
    log_notice("%s is already mounted (by an earlier try or in the rescue shell); keeping it",
               kSysroot);
    return std::nullopt;
  }
  if (auto st = make_dirs(kSysroot); !st) {
    Failure f;
    f.stage = "mount";
    f.summary = "cannot create " + std::string(kSysroot);
    f.status = st.error().message;
    return f;
  }
  if (::mount(dataset.c_str(), kSysroot, "zfs", options.flags, options.data.c_str()) == 0) {
    log_info("mounted %s on %s (%s%s)", dataset.c_str(), kSysroot,
             (options.flags & MS_RDONLY) ? "ro," : "rw,", options.data.c_str());
    return std::nullopt;
  }
  int e = errno;
  Failure f;
  f.stage = "mount";
  f.summary = "cannot mount the root dataset '" + dataset + "' on " + kSysroot;
  f.command = "mount(\"" + dataset + "\", \"" + kSysroot + "\", \"zfs\", " +
              ((options.flags & MS_RDONLY) ? "MS_RDONLY" : "0") +
              (options.flags & ~MS_RDONLY ? "|..." : "") + ", \"" + options.data + "\")";
  f.status = strerror(e);
  auto info =
      tools.zfs({"list", "-H", "-o", "name,mountpoint,canmount,encryption,keystatus", dataset});
  if (info && !info->ok()) {
    std::string known = existing_filesystems(tools, dataset);
    f.summary = "the root dataset '" + dataset + "' does not exist";
    f.command = info->command;
    f.output = info->output;
    f.status = info->describe() + " (mount(2) said: " + strerror(e) + ")";
    f.hints.push_back("check root= on the kernel command line" +
                      (known.empty() ? std::string() : "; the pool has: " + known));
    f.retryable = false;
  } else if (info && info->ok()) {
    auto fields = split_all(trim(info->output), '\t');
    if (fields.size() == 5) {
      f.hints.push_back("the dataset has mountpoint=" + fields[1] + " canmount=" + fields[2] +
                        " encryption=" + fields[3] + " keystatus=" + fields[4]);
      if (fields[4] == "unavailable")
        f.hints.push_back(
            "the dataset is encrypted and its key is not loaded: in the rescue shell run "
            "`zfs load-key -r " +
            dataset + "` and exit");
    }
    if (e == EINVAL)
      f.hints.push_back("check rootflags= on the kernel command line (mount data was '" +
                        options.data + "')");
    if (e == ENODEV)
      f.hints.push_back("the zfs filesystem type is not registered: the zfs module did not load");
  }
  f.hints.push_back("in the rescue shell you can mount it yourself: mount -t zfs -o zfsutil " +
                    dataset + " /sysroot, then exit to continue the boot");
  return f;
}

std::optional<Failure> mount_children(const ZfsTools& tools, const std::string& root_dataset,
                                      int& count) {
  count = 0;
  auto r = tools.zfs(
      {"list", "-H", "-o", "name,mountpoint,canmount", "-t", "filesystem", "-r", root_dataset});
  if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
  if (!r->ok()) {
    Failure f =
        ZfsTools::failure("mount", "cannot list the datasets below '" + root_dataset + "'", *r);
    f.hints.push_back(
        "the root is mounted; child datasets (/usr, /etc...) are not: in the rescue shell "
        "mount them under /sysroot and exit, or fix the pool");
    return f;
  }
  for (const auto& c : select_early_children(root_dataset, parse_dataset_list(r->output))) {
    std::string target = std::string(kSysroot) + c.target;
    if (is_mount_point(target)) continue;
    (void)make_dirs(target);  // fails on a read-only root whose directory is missing; mount says so
    if (::mount(c.dataset.c_str(), target.c_str(), "zfs", 0, "zfsutil") != 0) {
      int e = errno;
      Failure f;
      f.stage = "mount";
      f.summary = "cannot mount '" + c.dataset + "' on " + target + " (the real init needs " +
                  c.target + ")";
      f.command = "mount(\"" + c.dataset + "\", \"" + target + "\", \"zfs\", 0, \"zfsutil\")";
      f.status = strerror(e);
      if (e == ENOENT)
        f.hints.push_back("the directory " + c.target +
                          " is missing in the root dataset: create it "
                          "(mount the root read-write with `rw`)");
      f.hints.push_back("in the rescue shell: mount -t zfs -o zfsutil " + c.dataset + " " + target +
                        ", then exit");
      return f;
    }
    ++count;
    log_info("mounted %s on %s", c.dataset.c_str(), target.c_str());
  }
  return std::nullopt;
}

}  // namespace zinitrd::rt
