// zfs_import.h: importing the root pool, and only the root pool.
//
// Peers import every pool of a (possibly stale) zpool.cache and drop to a shell when one is
// absent; zinitrd imports just the pool that holds the root: the cache file is a hint (tried
// first), then the devices are scanned. The import is retried while drivers for late disks load,
// until a timeout. `zpool import -N` only (the root is mounted by mount(2); the real system
// mounts the rest), `-f` only when the command line asks. Errors are classified so that the
// user reads what happened and what to do, e.g. both hostids when the pool was last used by
// "another system".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"
#include "failure.h"

namespace zinitrd::rt {

class ZfsTools;
class ModuleLoader;
class HotplugListener;

/// Why `zpool import` failed, as far as its output tells.
enum class ImportProblem {
  kNone,             ///< it worked
  kNoSuchPool,       ///< no device carries the pool (yet)
  kDevicesMissing,   ///< the pool is there but some devices are not (yet)
  kHostidMismatch,   ///< "previously in use from another system": needs -f or the right hostid
  kActiveElsewhere,  ///< multihost: imported on another host right now
  kAlreadyImported,  ///< a pool with that name is imported already
  kAmbiguous,        ///< more than one pool with that name
  kUnsupported,      ///< the pool uses features or a version this ZFS does not know
  kNoModule,         ///< /dev/zfs missing: the zfs module is not loaded
  kBrokenProgram,    ///< zpool could not run (missing library, ...)
  kTimedOut,         ///< zpool itself hung
  kOther,
};

/// The classification of one failed import.
struct ImportDiagnosis {
  ImportProblem problem = ImportProblem::kOther;
  bool retry = false;       ///< waiting for more devices may help
  std::string pool_hostid;  ///< the hostid zpool names ("8e9a1a2b"), if any
  std::string pool_host;    ///< the host name zpool names, if any
};

/// Classifies the output and exit code of `zpool import` (pure).
ImportDiagnosis classify_import_error(std::string_view output, int exit_code,
                                      bool timed_out = false);

/// What to tell the user about D for POOL; OUR_HOSTID describes this system's hostid (pure).
std::vector<std::string> import_hints(const ImportDiagnosis& d, const std::string& pool,
                                      const std::string& our_hostid);

/// Pool names listed by `zpool import` without arguments ("   pool: NAME" lines) (pure).
std::vector<std::string> parse_import_listing(std::string_view output);

/// The device paths ("/dev/...") named in a zpool.cache file's bytes. The cache is a packed
/// nvlist (XDR): strings are stored as they are, so a scan for printable runs finds them (pure).
std::vector<std::string> cache_device_paths(std::string_view cache_bytes);

/// This system's hostid and where it comes from: "8e9a1a2b (from /etc/hostid)".
std::string describe_our_hostid();

/// What the import stage needs.
struct ImportContext {
  const BootConfig* config = nullptr;
  const ZfsTools* tools = nullptr;
  ModuleLoader* loader = nullptr;  ///< keeps loading drivers while waiting
  HotplugListener* hotplug = nullptr;
  bool force = false;           ///< zpool import -f
  int64_t timeout_ms = 60'000;  ///< how long to wait for the pool's devices (0: forever)
};

/// Imports POOL (already imported is fine). Nullopt on success.
std::optional<Failure> import_pool(const ImportContext& ctx, const std::string& pool);

/// Finds and imports the pool whose `bootfs` is set; sets POOL and BOOTFS. Candidates are
/// imported one at a time and exported again when they have no bootfs. Nullopt on success.
std::optional<Failure> import_bootfs_pool(const ImportContext& ctx, std::string& pool,
                                          std::string& bootfs);

/// The pool's bootfs property, or "" when unset.
std::string read_bootfs(const ZfsTools& tools, const std::string& pool);

}  // namespace zinitrd::rt
