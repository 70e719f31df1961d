// zfs_dataset_list.h: the root dataset's tree read by ioctl, as `zfs list -H -o
// name,mountpoint,canmount,encryptionroot,keystatus -t filesystem -r DATASET` gives it, without
// starting zfs (a process that loads libzfs and a dozen libraries: 0.13 s of the boot under
// emulation, measured).
//
// ZFS_IOC_OBJSET_STATS gives a dataset's properties, ZFS_IOC_DATASET_LIST_NEXT each child's in
// turn; both reply with a natively encoded nvlist (native_nvlist.h) of what is set or inherited,
// each property as {value, source}, plus the encryption statistics. What zfs prints is derived
// from it with libzfs's rules (zfs_prop_get): an inherited mountpoint gets the path below the
// dataset it is inherited from, a mountpoint never set is "/" + the dataset's name.
#pragma once

#include <string>
#include <vector>

#include "result.h"
#include "xdr_nvlist.h"
#include "zfs_mount.h"

namespace zinitrd::rt {

/// The line zfs list prints for the dataset NAME whose properties are PROPS (an
/// ZFS_IOC_OBJSET_STATS reply): the mountpoint as libzfs derives it (no altroot: /init imports
/// without one), canmount (on when not set), the encryption root and key status ("-" when not
/// encrypted) (pure).
DatasetInfo dataset_info(const std::string& name, const NvList& props);

/// DATASET and its descendant filesystems, sorted by name as zfs list prints them. Any error
/// (no /dev/zfs, no such dataset, a reply that does not parse) is returned as is: the caller runs
/// zfs list instead, whose messages users know.
Result<std::vector<DatasetInfo>> list_filesystems(const std::string& dataset);

}  // namespace zinitrd::rt
