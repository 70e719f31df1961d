// zfs_snapshot.h: snapshot boot: bootfs.snapshot, bootfs.rollback and root=zfs:POOL/DS@SNAP.
//
// All three act on the root dataset after its pool is imported and before it is mounted, with
// the keys it needs already loaded:
//   - bootfs.rollback[=NAME]: `zfs rollback -r` of the root and of each descendant that has
//     @NAME (as `zfs snapshot -r` made them), newer snapshots of those datasets destroyed;
//   - bootfs.snapshot[=NAME]: `zfs snapshot -r ROOT@NAME`; one that exists already (a second
//     boot of the same kernel) is kept;
//   - @SNAP: the snapshot and those of the descendants are cloned to ROOT_SNAP[/child...] with
//     canmount=noauto (as initramfs-tools does: the real system's `zfs mount -a` leaves them to
//     the initramfs) and the origin's local properties, and the clone is booted. A clone left by
//     an earlier boot of the same snapshot is booted again; nothing is ever destroyed.
// NAME defaults to the running kernel's release (`uname -r`), as in dracut. Rollback comes
// before snapshot when both are asked for.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "failure.h"
#include "zfs_keys.h"

namespace zinitrd::rt {

class ZfsTools;

/// What the command line asked of the root dataset.
struct SnapshotRequest {
  bool snapshot = false;      ///< bootfs.snapshot
  std::string snapshot_name;  ///< its =NAME, "" for the default
  bool rollback = false;      ///< bootfs.rollback
  std::string rollback_name;  ///< its =NAME, "" for the default
  std::string clone_from;     ///< SNAP of root=zfs:POOL/DS@SNAP, "" when not asked
  /// True when anything is asked.
  bool any() const { return snapshot || rollback || !clone_from.empty(); }
};

/// REQUESTED, or KERNEL_RELEASE when it is empty (pure).
std::string snapshot_name_or_default(std::string_view requested, std::string_view kernel_release);

/// True when NAME can follow '@' in a ZFS snapshot name: 1-255 of [A-Za-z0-9_.:-] (pure).
bool valid_snapshot_name(std::string_view name);

/// The snapshots @SNAP of DATASET and of its descendants in LISTED (`zfs list -H -o name -t
/// snapshot -r DATASET` lines), in that order (parents first, as zfs lists them) (pure).
std::vector<std::string> tree_snapshots(std::string_view listed, const std::string& dataset,
                                        const std::string& snap);

/// The dataset a clone boot creates for DATASET@SNAP: DATASET_SNAP (pure).
std::string clone_target(const std::string& dataset, const std::string& snap);

/// One `zfs clone` of a clone boot.
struct CloneStep {
  std::string snapshot;                                    ///< "rpool/ROOT/debian/usr@snap"
  std::string target;                                      ///< "rpool/ROOT/debian_snap/usr"
  std::vector<std::pair<std::string, std::string>> props;  ///< -o PROP=VALUE, canmount first
  bool exists = false;  ///< made by an earlier boot: nothing to do
  bool operator==(const CloneStep&) const = default;
};

/// The clones of a boot of DATASET@SNAP: SNAPSHOTS from tree_snapshots, LOCAL_PROPS from `zfs get
/// -H -o name,property,value -s local -t filesystem -r all DATASET`, EXISTING from `zfs list -H -o
/// name,origin -t filesystem -r TARGET` ("" when the target does not exist). A descendant whose
/// parent has no @SNAP is left out. Empty with WHY set when an existing dataset is in the way
/// (pure).
std::vector<CloneStep> plan_clone(const std::string& dataset, const std::string& snap,
                                  const std::vector<std::string>& snapshots,
                                  std::string_view local_props, std::string_view existing,
                                  std::string& why);

/// Carries out REQUEST on DATASET (keys loaded first, with KEYS); for @SNAP, DATASET becomes the
/// clone. KERNEL_RELEASE is the default name. Nullopt on success.
std::optional<Failure> prepare_snapshot_boot(const ZfsTools& tools, const SnapshotRequest& request,
                                             const std::string& kernel_release,
                                             const KeyOptions& keys, std::string& dataset);

}  // namespace zinitrd::rt
