// import_diagnosis.h: what a failed `zpool import` means, and what to tell the user.
//
// zpool's messages are classified (OpenZFS 2.1 and 2.3 wording, tested on captured outputs) so
// that the boot knows whether waiting can help (disks not there yet) and the user reads what
// happened and what to do, e.g. both hostids when the pool was last used by "another system".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zinitrd::rt {

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

/// This system's hostid and where it comes from: "8e9a1a2b (from /etc/hostid)".
std::string describe_our_hostid();

/// This system's hostid as the spl module uses it: spl.spl_hostid when set, else /etc/hostid
/// (0 when neither); SOURCE, when given, gets where it came from.
uint32_t our_hostid(std::string* source = nullptr);

}  // namespace zinitrd::rt
