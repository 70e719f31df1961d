// zfs_import.h: importing the root pool, and only the root pool.
//
// Peers import every pool of a (possibly stale) zpool.cache and drop to a shell when one is
// absent; zinitrd imports just the pool that holds the root, by its GUID. The ladder:
//   1. settle: the first look waits until coldplug has loaded the drivers of the disks present
//      and the kernel has been quiet for a moment (a mirror must not be looked at while its
//      second disk is still being probed), unless the labels already show the pool complete;
//      and no look at all before a block device carries a ZFS label (zfs_member.h);
//   1b. when the labels show one complete pool of that name, this system's or exported, import
//      it straight away (zfs_label.h) and skip the listing;
//   2. list: `zpool import` (the cache file as a hint first, then a scan) shows each pool's GUID,
//      state and whether it was last used by another system;
//   3. choose: the pool named on the command line (or given by GUID); among namesakes the one
//      this system owns; when that is not decidable, stop and list every candidate;
//   4. wait for members: a pool that is there but DEGRADED (a member on a slower bus) is waited
//      for, a bounded time (rd.zfs.member_wait=), then imported DEGRADED with the missing
//      members named on the console;
//   5. import: `zpool import -N GUID`, `-f` only when the command line asks.
// Disks that are not there yet keep the ladder going (hotplug loads their drivers) until the
// import timeout. Other pools are never imported, and never written to.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "boot_config.h"
#include "failure.h"
#include "import_diagnosis.h"
#include "import_listing.h"

namespace zinitrd::rt {

class ZfsTools;
class ModuleLoader;
class HotplugListener;

/// Default of rd.zfs.member_wait=: how long a DEGRADED root pool waits for its missing members.
/// USB disks appear a second or more after their controller (usb-storage waits `delay_use`, 1 s,
/// before scanning), SAS and external enclosures spin up for several seconds.
inline constexpr int64_t kDefaultMemberWaitMs = 10'000;

/// The device paths ("/dev/...") named in a zpool.cache file's bytes. The cache is a packed
/// nvlist (XDR): strings are stored as they are, so a scan for printable runs finds them (pure).
std::vector<std::string> cache_device_paths(std::string_view cache_bytes);

/// What the import stage needs.
struct ImportContext {
  const BootConfig* config = nullptr;
  const ZfsTools* tools = nullptr;
  ModuleLoader* loader = nullptr;  ///< keeps loading drivers while waiting
  HotplugListener* hotplug = nullptr;
  bool force = false;                             ///< zpool import -f
  int64_t timeout_ms = 60'000;                    ///< how long to wait for the pool (0: forever)
  int64_t member_wait_ms = kDefaultMemberWaitMs;  ///< how long a DEGRADED pool waits
  std::string dataset;                            ///< the root dataset asked for, for messages
  /// Called once before the first look at the disks: lets device discovery settle. When the
  /// predicate it is given (may be empty) holds once coldplug is done, the quiet wait is cut short.
  std::function<void(const std::function<bool()>& enough)> settle;
  /// Called before every look for the pool (after settle): opens the LUKS devices that have
  /// appeared (luks_open.h). A failure it returns stops the import.
  std::function<std::optional<Failure>()> prepare;
};

/// Imports the pool WANTED (a name, or a GUID as initramfs-tools accepts it); already imported
/// is fine. NAME gets the pool's name. Nullopt on success.
std::optional<Failure> import_pool(const ImportContext& ctx, const std::string& wanted,
                                   std::string& name);

/// Finds and imports the pool whose `bootfs` is set; sets POOL and BOOTFS. With several pools,
/// each is probed read-only (without -f; with -f only under zfs_force, still read-only) and
/// exported again; only the one booted is imported read-write. Nullopt on success.
std::optional<Failure> import_bootfs_pool(const ImportContext& ctx, std::string& pool,
                                          std::string& bootfs);

/// The pool's bootfs property, or "" when unset.
std::string read_bootfs(const ZfsTools& tools, const std::string& pool);

}  // namespace zinitrd::rt
