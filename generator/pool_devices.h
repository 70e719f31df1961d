// pool_devices.h: the devices of the root pool, for `zinitrd boot-test`.
//
// The boot test attaches the root pool's members to a VM. They come from `zpool status -P POOL`
// (the pool is the one whose dataset is mounted at "/"): every leaf vdev, of every class (data,
// special, dedup, logs, cache, spares), since an import needs the data, special, dedup and log
// vdevs and the real boot sees the others too. A member the host cannot open is printed as its
// GUID with "was PATH"; that path may by now name another disk, so it is never attached: the VM
// then sees the pool as the real boot would, without that member.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// One leaf vdev of a pool, as `zpool status -P` shows it.
struct PoolDevice {
  std::string path;   ///< "/dev/sda3"; empty for a member the host cannot open
  std::string guid;   ///< the GUID a missing member is shown as (path empty)
  std::string was;    ///< "was /dev/sdb3" of a missing member
  std::string state;  ///< ONLINE, DEGRADED, OFFLINE, UNAVAIL, AVAIL (spares)...
  std::string group;  ///< "" for data vdevs, else special, dedup, logs, cache or spares

  bool operator==(const PoolDevice&) const = default;
};

/// One pool of `zpool status -P` output.
struct PoolStatus {
  std::string name;
  std::string state;  ///< the " state:" line: ONLINE, DEGRADED...
  std::vector<PoolDevice> devices;
};

/// Every pool in OUTPUT (one or more "  pool:" blocks of `zpool status -P`), in order (pure).
std::vector<PoolStatus> parse_zpool_status(std::string_view output);

/// What to attach to the VM for a pool.
struct PoolDisks {
  std::vector<std::string> paths;  ///< resolved device paths, in `zpool status` order
  std::vector<std::string> notes;  ///< members left out, and why
};

/// The devices of POOL in OUTPUT: paths of the members that have one, notes for those that have
/// none ("missing on this host, was /dev/sdb3"). RESOLVE maps a path to the node to attach
/// (symlinks of /dev/disk/by-id resolved) or an error, which becomes a note. Fails when OUTPUT
/// does not list POOL or no member is left (pure, apart from RESOLVE).
template <class Resolve>
Result<PoolDisks> pool_disks(std::string_view output, std::string_view pool, Resolve resolve);

/// The dataset mounted at "/" on this host, from /proc/self/mounts.
Result<std::string> root_dataset_name();

/// The encryption root of DATASET when its key is typed at the console (keylocation=prompt),
/// else "" (not encrypted, a key file, or zfs cannot answer), asked of `zfs get`.
std::string prompt_encryption_root(const std::string& dataset);

/// The root pool's disks on this host: `zpool status -P POOL`, paths resolved, each a block
/// device or a regular file. Errors say what to give with --disk instead.
Result<PoolDisks> host_pool_disks(const std::string& pool);

// ---- template definition ----

template <class Resolve>
Result<PoolDisks> pool_disks(std::string_view output, std::string_view pool, Resolve resolve) {
  for (const auto& status : parse_zpool_status(output)) {
    if (status.name != pool) continue;
    PoolDisks out;
    for (const auto& d : status.devices) {
      std::string what = d.group.empty() ? "member" : d.group + " device";
      if (d.path.empty()) {
        out.notes.push_back("a " + what + " of pool '" + status.name +
                            "' is missing on this host (GUID " + d.guid +
                            (d.was.empty() ? "" : ", " + d.was) +
                            "): the VM boots without it, as the machine would");
        continue;
      }
      Result<std::string> node = resolve(d.path);
      if (!node) {
        out.notes.push_back(d.path + " (" + what + " of pool '" + status.name +
                            "') is left out: " + node.error().message);
        continue;
      }
      bool seen = false;
      for (const auto& p : out.paths) seen = seen || p == *node;
      if (!seen) out.paths.push_back(*node);
    }
    if (out.paths.empty())
      return Error::msg("no device of pool '" + status.name +
                        "' can be attached; give the pool's disks with --disk");
    return out;
  }
  return Error::msg("`zpool status -P " + std::string(pool) + "` does not list pool '" +
                    std::string(pool) + "'; give the pool's disks with --disk");
}

}  // namespace zinitrd::gen
