// host_only.h: `--host-only`: find the drivers of the devices behind the root pool.
//
// A generic image carries every storage driver with an alias table, so it boots on any
// hardware. A host-only image carries only the drivers of this machine's root pool: the pool is
// the one whose dataset is mounted at the root's "/", its vdevs come from
// `zpool list -vHPL POOL` (run once), and for each vdev the block device's sysfs node is walked
// up through its parents (partition -> disk -> controller -> bus), collecting the module behind
// each `driver` link and each `modalias` (resolved to modules by the kmod closure). Of the
// features' driver directories (kmod-coldplug entries ending in '/': input, USB hosts, NICs for
// SSH unlock, disks) it keeps the modules this machine has loaded, so that the keyboard a
// passphrase is typed on and the NIC an SSH unlock comes through still work.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "luks_devices.h"
#include "result.h"

namespace zinitrd::gen {

/// What one or more block devices need from the kernel.
struct DeviceDrivers {
  std::vector<std::string> modules;     ///< driver modules named by sysfs `driver/module` links
  std::vector<std::string> modaliases;  ///< modalias strings of the device and its parents
  std::vector<LuksMapping> luks = {};   ///< LUKS mappings under the pool (sysfs slaves/)
  /// The modules this machine has loaded (/proc/modules, names normalised: '-' read as '_'):
  /// of a feature's driver directories (the keyboard's, the NIC's, other disks'), a host-only
  /// image keeps those, the drivers of the devices this machine has.
  std::vector<std::string> loaded = {};
};

/// The module names of /proc/modules TEXT, normalised ('-' read as '_'), sorted (pure).
std::vector<std::string> parse_proc_modules(std::string_view text);

/// The ZFS dataset mounted at MOUNTPOINT in MOUNTS_TEXT (/proc/self/mounts format).
Result<std::string> zfs_dataset_mounted_at(std::string_view mounts_text,
                                           std::string_view mountpoint);

/// The pool of the ZFS dataset mounted at MOUNTPOINT in MOUNTS_TEXT (/proc/self/mounts format).
Result<std::string> zfs_pool_mounted_at(std::string_view mounts_text, std::string_view mountpoint);

/// The device paths of `zpool list -vHPL` OUTPUT (leaf vdevs: lines whose name starts with /).
std::vector<std::string> parse_zpool_vdevs(std::string_view output);

/// Walks SYSFS (normally "/sys") from block device DEV up to the root of the device tree and
/// appends what it finds to OUT. Errors name the sysfs path that could not be read.
Status collect_device_drivers(const std::string& sysfs, dev_t dev, DeviceDrivers& out);

/// The drivers of the root pool of the system at ROOT_DIR (its "/" must be a mounted ZFS
/// dataset on this host). Errors say why and suggest a generic image.
Result<DeviceDrivers> root_pool_drivers(const std::string& root_dir);

}  // namespace zinitrd::gen
