// zfs_label.h: reading a vdev label's config, and importing straight from what the labels say.
//
// Each pool member carries its pool's name, GUID, hostid and state and its top-level vdev's
// tree (the GUIDs of every disk of that mirror or raidz) in its labels: an XDR-packed nvlist
// (OpenZFS vdev_impl.h, nvpair.c). When the labels of the disks present show exactly one pool
// with the root pool's name, owned by this system or exported, with every member of every
// top-level vdev there, `zpool import -N -d DISK... GUID` imports it without the listing run
// that precedes it otherwise (a zpool process scanning every device: about a second under
// emulation). Anything else (namesakes, another system's pool, a member missing, a label that
// does not parse) takes the listing ladder of zfs_import.h, which explains and waits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xdr_nvlist.h"

namespace zinitrd::rt {

/// What zinitrd reads from one device's label.
struct ZfsLabel {
  std::string name;                ///< the pool's name
  uint64_t pool_guid = 0;          ///< the pool's GUID
  uint64_t guid = 0;               ///< this device's (leaf vdev's) GUID
  uint64_t top_guid = 0;           ///< its top-level vdev's GUID
  uint64_t state = ~uint64_t{0};   ///< pool_state_t: 0 active, 1 exported, 2 destroyed...
  uint64_t vdev_children = 0;      ///< the pool's number of top-level vdevs
  std::optional<uint64_t> hostid;  ///< the hostid of the system that last imported it
  std::vector<uint64_t> leaves;    ///< the leaf GUIDs of its top-level vdev's tree
  uint64_t txg = 0;                ///< the txg the label was written in (never 0)
  uint64_t id = 0;                 ///< its top-level vdev's place among the pool's children
  std::vector<uint64_t> holes;     ///< the places of removed top-level vdevs (hole_array)
  NvList config;                   ///< the whole config, for the import ioctl (zfs_import_ioctl.h)
};

/// Parses the config nvlist of a label (the bytes from its 16 KiB offset: header, XDR pairs);
/// nullopt when it is not a pool member's config (txg 0: a device being added or removed) or
/// does not parse (pure).
std::optional<ZfsLabel> parse_zfs_label(std::string_view nvlist);

/// The label of the device at PATH of SIZE bytes (the first of its four slots that parses).
std::optional<ZfsLabel> read_zfs_label(const std::string& path, uint64_t size);

/// What a hot spare's or a cache device's label holds: its GUID and pool_state_t (3: spare,
/// 4: cache device). Which pool owns it is recorded in that pool's MOS only.
inline constexpr uint64_t kPoolStateSpare = 3, kPoolStateL2cache = 4;
struct AuxLabel {
  uint64_t guid = 0;
  uint64_t state = 0;
};

/// Parses the config nvlist of a spare's or cache device's label; nullopt for anything else (pure).
std::optional<AuxLabel> parse_aux_label(std::string_view nvlist);

/// The aux label of the device at PATH of SIZE bytes (the first of its four slots that parses).
std::optional<AuxLabel> read_aux_label(const std::string& path, uint64_t size);

/// The path LABEL's own leaf records in its vdev tree (the leaf whose GUID is the label's);
/// nullopt when the tree names none (pure).
std::optional<std::string> recorded_leaf_path(const ZfsLabel& label);

/// One device and its label.
struct LabelledDevice {
  std::string path;
  ZfsLabel label;
};

/// A pool that can be imported straight away: its GUID and the devices to point zpool at.
struct DirectImport {
  std::string name;
  uint64_t pool_guid = 0;
  std::vector<std::string> devices;
};

/// True when LABEL, of the same pool as NEWEST (that pool's label of the highest txg), is left
/// over on a device the pool no longer has: older, and from a config with another number of
/// top-level vdevs or at a place NEWEST says is a hole (a removed log device keeps its label).
/// The pool's members all carry the newest config, written to each of them when it changed
/// (pure).
bool stale_label(const ZfsLabel& label, const ZfsLabel& newest);

/// The pool WANTED (a name, or a GUID in decimal) when DEVICES show exactly one pool answering
/// to it, active under OUR_HOSTID or exported, with every top-level vdev (but the holes its
/// newest label lists) and every member of each present, each once; stale labels
/// (stale_label) are not its devices. nullopt otherwise (pure).
std::optional<DirectImport> plan_direct_import(const std::vector<LabelledDevice>& devices,
                                               const std::string& wanted, uint32_t our_hostid);

}  // namespace zinitrd::rt
