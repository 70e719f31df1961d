// zfs_mount.cc: root and early child mounts (see zfs_mount.h).
#include "zfs_mount.h"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.h"
#include "rescue.h"
#include "util.h"
#include "zfs_dataset_list.h"
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
    if ((f.size() != 3 && f.size() != 5) || f[0].empty()) continue;
    DatasetInfo d{f[0], f[1], f[2]};
    if (f.size() == 5) {
      d.encryptionroot = f[3];
      d.keystatus = f[4];
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<ChildMount> select_early_children(const std::string& root_dataset,
                                              const std::vector<DatasetInfo>& datasets,
                                              bool accept_noauto) {
  std::string root_mp;
  for (const auto& d : datasets)
    if (d.name == root_dataset) root_mp = strip_trailing_slashes(d.mountpoint);
  std::vector<ChildMount> out;
  const std::string prefix = root_dataset + "/";
  for (const auto& d : datasets) {
    if (!starts_with(d.name, prefix)) continue;
    if (d.canmount != "on" && !(accept_noauto && d.canmount == "noauto")) continue;
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

std::vector<std::string> keys_to_load(const std::vector<DatasetInfo>& datasets,
                                      const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    for (const auto& d : datasets) {
      if (d.name != n || d.keystatus != "unavailable" || d.encryptionroot == "-" ||
          d.encryptionroot.empty())
        continue;
      if (std::find(out.begin(), out.end(), d.encryptionroot) == out.end())
        out.push_back(d.encryptionroot);
    }
  }
  return out;
}

RootMode choose_root_mode(std::string_view rootflags, std::optional<bool> kernel_read_only) {
  RootMode m;
  std::optional<bool> flag;  // the last ro/rw of rootflags=
  for (const auto& opt : split_words(rootflags, ",")) {
    if (opt == "ro") flag = true;
    if (opt == "rw") flag = false;
  }
  if (flag) {
    m.read_only = *flag;
    m.reason = std::string("rootflags=") + (*flag ? "ro" : "rw") + " on the kernel command line";
  } else if (kernel_read_only.value_or(false)) {
    m.reason =
        "`ro` on the kernel command line is for roots that fsck checks before they are remounted; "
        "nothing remounts a ZFS root that /etc/fstab does not list, so it is mounted read-write "
        "(rootflags=ro gives a read-only root)";
  } else {
    m.reason = kernel_read_only
                   ? "`rw` on the kernel command line"
                   : "the default for a ZFS root (rootflags=ro gives a read-only root)";
  }
  return m;
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

namespace {

std::optional<Failure> mount_failure(const std::string& dataset, const MountOptions& options,
                                     const DatasetInfo* info, int e) {
  Failure f;
  f.stage = "mount";
  f.summary = "cannot mount the root dataset '" + dataset + "' on " + kSysroot;
  f.command = "mount(\"" + dataset + "\", \"" + kSysroot + "\", \"zfs\", " +
              ((options.flags & MS_RDONLY) ? "MS_RDONLY" : "0") +
              ((options.flags & ~static_cast<unsigned long>(MS_RDONLY)) ? "|..." : "") + ", \"" +
              options.data + "\")";
  f.status = strerror(e);
  if (info)
    f.hints.push_back("the dataset has mountpoint=" + info->mountpoint +
                      " canmount=" + info->canmount + " encryptionroot=" + info->encryptionroot +
                      " keystatus=" + info->keystatus);
  if (e == EINVAL)
    f.hints.push_back("check rootflags= on the kernel command line (mount data was '" +
                      options.data + "')");
  if (e == ENODEV)
    f.hints.push_back("the zfs filesystem type is not registered: the zfs module did not load");
  if (e == EACCES || e == EPERM)
    f.hints.push_back("if the dataset is encrypted, load its key: zfs load-key -r " + dataset);
  f.hints.push_back("in the rescue shell you can mount it yourself: mount -t zfs -o zfsutil " +
                    dataset + " /sysroot, then exit to continue the boot");
  return f;
}

Result<ProcessResult> list_tree(const ZfsTools& tools, const std::string& dataset) {
  return tools.zfs({"list", "-H", "-o", "name,mountpoint,canmount,encryptionroot,keystatus", "-t",
                    "filesystem", "-r", dataset});
}

std::vector<std::string> needed_keys(const std::string& dataset,
                                     const std::vector<DatasetInfo>& datasets,
                                     const std::vector<ChildMount>& early) {
  std::vector<std::string> needed{dataset};
  for (const auto& c : early) needed.push_back(c.dataset);
  return keys_to_load(datasets, needed);
}

}  // namespace

std::optional<Failure> load_root_keys(const ZfsTools& tools, const std::string& dataset,
                                      const KeyOptions& keys) {
  auto r = list_tree(tools, dataset);
  if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
  if (!r->ok()) {
    Failure f = ZfsTools::failure("mount", "the root dataset '" + dataset + "' does not exist", *r);
    f.hints.push_back("check root= on the kernel command line");
    f.retryable = false;
    return f;
  }
  std::vector<DatasetInfo> datasets = parse_dataset_list(r->output);
  return load_encryption_keys(
      tools, needed_keys(dataset, datasets, select_early_children(dataset, datasets)), keys);
}

std::optional<Failure> mount_root_dataset(const ZfsTools& tools, const RootMount& root,
                                          int& children) {
  const std::string& dataset = root.dataset;
  const MountOptions& options = root.options;
  children = 0;
  const bool root_mounted = is_mount_point(kSysroot);
  // One listing tells whether the root exists, which children to mount, and which keys to load:
  // by ioctl, else (and for every error, which it explains) by `zfs list`.
  std::vector<DatasetInfo> datasets;
  if (auto listed = list_filesystems(dataset)) {
    datasets = std::move(*listed);
  } else {
    // A dataset that does not exist is zfs list's to explain; any other refusal is worth a line:
    // the suite fails a boot that shows it (the ioctl path is the one every scenario must take).
    if (listed.error().errnum == ENOENT)
      log_debug("listing %s by ioctl: %s; running zfs list", dataset.c_str(),
                listed.error().message.c_str());
    else
      log_info("could not list %s by ioctl (%s); running zfs list", dataset.c_str(),
               listed.error().message.c_str());
    auto r = list_tree(tools, dataset);
    if (!r) return ZfsTools::failure("mount", "cannot run zfs", r.error());
    if (!r->ok()) {
      if (root_mounted) {
        log_warning("%s: %s; keeping %s as mounted in the rescue shell, without children",
                    r->command.c_str(), std::string(trim(r->output)).c_str(), kSysroot);
        return std::nullopt;
      }
      std::string known = existing_filesystems(tools, dataset);
      Failure f =
          ZfsTools::failure("mount", "the root dataset '" + dataset + "' does not exist", *r);
      f.hints.push_back("check root= on the kernel command line" +
                        (known.empty() ? std::string() : "; the pool has: " + known));
      f.retryable = false;
      return f;
    }
    datasets = parse_dataset_list(r->output);
  }
  std::vector<ChildMount> early = select_early_children(dataset, datasets, root.noauto_children);
  const DatasetInfo* root_info = nullptr;
  for (const auto& d : datasets)
    if (d.name == dataset) root_info = &d;

  if (auto f = load_encryption_keys(tools, needed_keys(dataset, datasets, early), root.keys))
    return f;

  if (root_mounted) {
    log_notice("%s is already mounted (by an earlier try or in the rescue shell); keeping it",
               kSysroot);
  } else {
    if (auto st = make_dirs(kSysroot); !st) {
      Failure f;
      f.stage = "mount";
      f.summary = "cannot create " + std::string(kSysroot);
      f.status = st.error().message;
      return f;
    }
    if (::mount(dataset.c_str(), kSysroot, "zfs", options.flags, options.data.c_str()) != 0)
      return mount_failure(dataset, options, root_info, errno);
    // ZFS applies the dataset's readonly property itself: say so when it overrode the request.
    struct statvfs sv;
    bool ro_now = ::statvfs(kSysroot, &sv) == 0 && (sv.f_flag & ST_RDONLY);
    std::string why;
    if (ro_now && !(options.flags & MS_RDONLY))
      why = ": read-only because the dataset has readonly=on (zfs set readonly=off " + dataset +
            " for a writable root)";
    log_info("mounted %s on %s (%s%s)%s", dataset.c_str(), kSysroot, ro_now ? "ro," : "rw,",
             options.data.c_str(), why.c_str());
  }

  // Children are mounted read-write (their own readonly property applies): the real system does
  // not remount them, unlike "/", which it remounts as fstab or `rw` says.
  for (const auto& c : early) {
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
                          "(on a read-write root, without rootflags=ro, zinitrd creates it)");
      f.hints.push_back("in the rescue shell: mount -t zfs -o zfsutil " + c.dataset + " " + target +
                        ", then exit");
      return f;
    }
    ++children;
    log_info("mounted %s on %s", c.dataset.c_str(), target.c_str());
  }
  return std::nullopt;
}

}  // namespace zinitrd::rt
