// zfs_ioctl.h: the /dev/zfs ioctls /init makes itself, without zpool or zfs: the head of
// OpenZFS's zfs_cmd_t and one call that passes it in and reads it back.
//
// The legacy ioctls take a zfs_cmd_t, which the kernel copies in whole (about 14 KiB; its tail
// differs between releases) and copies back when done. Its head, up to the dataset statistics,
// is the same in OpenZFS 2.0 to 2.3 (sys/zfs_ioctl.h); the call passes a zeroed buffer larger
// than any release's zfs_cmd_t with that head at its start.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "fd.h"
#include "result.h"
#include "xdr_nvlist.h"

namespace zinitrd::rt {

/// The head of zfs_cmd_t: the fields the import, the history and the dataset listing use.
struct ZfsCmd {
  char name[4096];  // MAXPATHLEN
  uint64_t nvlist_src, nvlist_src_size, nvlist_dst, nvlist_dst_size;
  int32_t nvlist_dst_filled, pad2;
  uint64_t history;
  char value[4096 * 2];
  char string[256];  // MAXNAMELEN
  uint64_t guid, nvlist_conf, nvlist_conf_size, cookie;
  uint64_t objset_type, perm_action, history_len, history_offset, obj, iflags;
  uint64_t share[4];  // zfs_share_t
  // dmu_objset_stats_t
  uint64_t num_clones, creation_txg, dataset_guid;
  int32_t dataset_type;  ///< dmu_objset_type_t: kDmuOstZfs for a filesystem
  uint8_t is_snapshot, inconsistent, redacted;
};
static_assert(offsetof(ZfsCmd, history) == 4136);
static_assert(offsetof(ZfsCmd, guid) == 12592);
static_assert(offsetof(ZfsCmd, cookie) == 12616);
static_assert(offsetof(ZfsCmd, dataset_type) == 12728);

/// zfs_ioc_t values (sys/fs/zfs.h), the same in every release.
constexpr unsigned long kIocPoolImport = ('Z' << 8) + 0x02;
constexpr unsigned long kIocPoolTryimport = ('Z' << 8) + 0x06;
constexpr unsigned long kIocObjsetStats = ('Z' << 8) + 0x12;
constexpr unsigned long kIocDatasetListNext = ('Z' << 8) + 0x14;
constexpr unsigned long kIocLogHistory = ('Z' << 8) + 0x3f;
/// dmu_objset_type_t of a filesystem.
constexpr int32_t kDmuOstZfs = 2;

/// /dev/zfs opened read-write (invalid, errno set, when it cannot be).
Fd open_zfs_device();

/// One ioctl REQUEST on FD with CMD as the head of a zeroed zfs_cmd_t; CMD gets the head the
/// kernel copied back. On failure the error names WHAT (the ioctl) and NAME (its object) and
/// carries the kernel's errno.
Status zfs_ioctl(int fd, unsigned long request, ZfsCmd& cmd, const char* what,
                 const std::string& name);

/// One ioctl whose reply is an nvlist (natively encoded, native_nvlist.h), read into REPLY: the
/// buffer grows when the kernel says it is too small (ENOMEM with the size it needs; up to
/// 16 MiB), CMD being restored each time (a listing's cursor included).
Result<NvList> zfs_ioctl_nvlist(int fd, unsigned long request, ZfsCmd& cmd, const char* what,
                                const std::string& name, std::string& reply);

}  // namespace zinitrd::rt
