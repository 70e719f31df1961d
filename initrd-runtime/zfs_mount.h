// zfs_mount.h: mounting the root dataset at /sysroot, then the children init needs at once.
//
// The root is mounted with mount(2) (type "zfs", data "zfsutil" plus rootflags), which works for
// mountpoint=/ and mountpoint=legacy alike (measured: ../shared/ENV.md), so no mount.zfs is
// needed. Then only the children that must exist before the real init runs are mounted: those
// with canmount=on whose mountpoint is /usr, /etc, /bin, /sbin or /lib*; the real system mounts
// the rest (zfs-mount.service), honouring canmount=noauto and off as zfs mount -a does.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "failure.h"
#include "zfs_keys.h"

namespace zinitrd::rt {

class ZfsTools;

/// Where the new root is mounted.
inline constexpr const char* kSysroot = "/sysroot";

/// One line of `zfs list -H -o name,mountpoint,canmount,encryptionroot,keystatus`.
struct DatasetInfo {
  std::string name, mountpoint, canmount;
  std::string encryptionroot = "-";  ///< "-" when not encrypted
  std::string keystatus = "-";       ///< "available", "unavailable" or "-"
  bool operator==(const DatasetInfo&) const = default;
};

/// A child dataset to mount, at TARGET inside the new root ("/usr").
struct ChildMount {
  std::string dataset, target;
  bool operator==(const ChildMount&) const = default;
};

/// Parses `zfs list -H -o name,mountpoint,canmount[,encryptionroot,keystatus]` output
/// (tab-separated; malformed lines skipped).
std::vector<DatasetInfo> parse_dataset_list(std::string_view output);

/// The descendants of ROOT_DATASET in DATASETS that must be mounted before init: canmount=on,
/// mountpoint (relative to the root's own mountpoint when below it) one of the early paths,
/// sorted by path; a second dataset for the same path is skipped. ACCEPT_NOAUTO also takes
/// canmount=noauto children (those of a clone made at boot) (pure).
std::vector<ChildMount> select_early_children(const std::string& root_dataset,
                                              const std::vector<DatasetInfo>& datasets,
                                              bool accept_noauto = false);

/// The encryption roots whose keys are not loaded, for the datasets NAMES of DATASETS; each
/// once, in order (pure).
std::vector<std::string> keys_to_load(const std::vector<DatasetInfo>& datasets,
                                      const std::vector<std::string>& names);

/// mount(2) flags and data for the root: generic options of ROOTFLAGS (noatime, nodev...)
/// become MS_* flags as mount(8) does, the rest follows "zfsutil" in the data string.
struct MountOptions {
  unsigned long flags = 0;
  std::string data;
  bool operator==(const MountOptions&) const = default;
};
/// Builds the root's mount options from rootflags= and the chosen mode (pure).
MountOptions root_mount_options(std::string_view rootflags, bool read_only);

/// How the root dataset is mounted, and why (for the boot log).
struct RootMode {
  bool read_only = false;
  std::string reason;
};

/// The mount mode of a ZFS root. `ro` on the kernel command line exists so that a root can be
/// checked by fsck before systemd-remount-fs (or an init script) remounts it read-write as
/// /etc/fstab says. A ZFS root is never fsck'd, and when fstab does not list it (the OpenZFS
/// root-on-ZFS guides, ZFSBootMenu) nothing remounts it: mounted read-only it stays read-only and
/// systemd ends `degraded`. So, as zfs-initramfs (mount.zfs -o zfsutil) and dracut's 90zfs
/// (sysroot.mount Options=zfsutil[,rootflags]) do, the root is mounted read-write whatever
/// `ro`/`rw` say; `rootflags=ro` asks for a read-only root, and the dataset's readonly=on
/// property makes ZFS mount it read-only by itself (pure).
RootMode choose_root_mode(std::string_view rootflags, std::optional<bool> kernel_read_only);

/// What mount_root_dataset mounts, and how.
struct RootMount {
  std::string dataset;
  MountOptions options;
  KeyOptions keys;
  bool noauto_children = false;  ///< a clone made at boot: its children are canmount=noauto
};

/// Loads the keys that DATASET and its early children need (see zfs_keys.h), as
/// mount_root_dataset does first; for changes to the root before it is mounted (snapshots).
std::optional<Failure> load_root_keys(const ZfsTools& tools, const std::string& dataset,
                                      const KeyOptions& keys);

/// Mounts the root dataset at /sysroot (an existing mount there is kept), then its early
/// children; the keys of encrypted ones are loaded first (see zfs_keys.h). CHILDREN gets how
/// many children were mounted. Nullopt on success.
std::optional<Failure> mount_root_dataset(const ZfsTools& tools, const RootMount& root,
                                          int& children);

}  // namespace zinitrd::rt
