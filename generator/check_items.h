// check_items.h: the items of `zinitrd check`, each a verdict on facts already gathered.
//
// Every item is a pure function of facts (text a command printed, bytes of a file, the members of
// an image), so the unit tests feed fixtures; check.h gathers the facts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image_reader.h"

namespace zinitrd::gen {

/// The verdict of one item.
enum class CheckState {
  kOk,       ///< fine
  kWarn,     ///< the machine boots, but something deserves attention
  kFail,     ///< the machine would not boot (or not without a manual step)
  kUnknown,  ///< could not be checked on this host; the detail says why
};

/// "ok", "warn", "fail", "unknown".
const char* check_state_name(CheckState state);

/// One line of the checklist.
struct CheckItem {
  std::string id;  ///< stable key for --json ("zfs-module", "image-hostid", ...)
  CheckState state = CheckState::kUnknown;
  std::string detail;  ///< what was found
  std::string fix;     ///< what to do about it (empty when ok)
};

/// One kernel module of zfs.ko's dependency closure, as libkmod sees it.
struct ModuleFact {
  std::string name;
  std::string path;      ///< in-root path of the .ko, empty when not found
  std::string vermagic;  ///< from .modinfo
  bool builtin = false;  ///< built into the kernel (no file needed)
};

/// zfs.ko and its dependencies present for KVER, each built for KVER (vermagic).
/// LOOKUP_ERROR is set when the modules index of KVER could not be read at all.
CheckItem check_zfs_module(std::string_view kver, const std::vector<ModuleFact>& modules,
                           std::string_view lookup_error);
/// DKMS's view of zfs for KVER; STATUS_OUTPUT is null when dkms is not installed.
CheckItem check_dkms(std::string_view kver, const std::optional<std::string>& status_output,
                     bool module_present);
/// The userland (`zfs version` or the package) against zfs.ko's version.
CheckItem check_versions(std::string_view module_version, std::string_view userland_version);
/// /etc/hostid present and non-zero, and equal to the hostid POOL was last imported under
/// (POOL_HOSTID, when it could be read).
CheckItem check_hostid(const std::optional<std::string>& hostid_file,
                       std::optional<uint32_t> pool_hostid, std::string_view pool);

/// What the host knows about its pools, for the root and cache items.
struct PoolFacts {
  std::string unusable;               ///< why zpool/zfs cannot answer (module not loaded), or ""
  std::vector<std::string> imported;  ///< `zpool list -H -o name`
  std::string root_dataset;           ///< the mounted root's dataset, "" when / is not ZFS
  bool root_dataset_exists = false;   ///< `zfs list` found it
  bool wants_bootfs = false;          ///< the command line boots the pool's bootfs
  std::string bootfs;                 ///< bootfs of the root pool ("-" or "" when unset)
  bool bootfs_exists = false;         ///< `zfs list` found the bootfs dataset
  std::optional<std::string> cache;   ///< `zdb -C` of zpool.cache; null when there is no cache
  std::string cache_error;            ///< why `zdb -C` could not read the cache, or ""
};

/// The root dataset (or the bootfs the command line asks for) exists.
CheckItem check_root_dataset(const PoolFacts& pools);
/// zpool.cache lists no pool that is not imported.
CheckItem check_zpool_cache(const PoolFacts& pools);

/// What is known about the image of a kernel.
struct ImageFacts {
  std::string path;  ///< where it should be
  bool exists = false;
  std::string read_error;  ///< list_image failed (corrupt image)
  std::vector<ImageMember> members;
  int64_t mtime = 0;                       ///< of the image
  int64_t module_mtime = 0;                ///< newest of the zfs closure's .ko files, 0 if unknown
  std::optional<std::string> hostid;       ///< the image's /etc/hostid content
  std::optional<std::string> host_hostid;  ///< the host's /etc/hostid content
};

/// The image items: exists and readable, newer than zfs.ko, contains zfs.ko, the host's hostid
/// and the runtime.
std::vector<CheckItem> check_image(std::string_view kver, const ImageFacts& image);

}  // namespace zinitrd::gen
