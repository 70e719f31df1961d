// zfs_import_ioctl.h: importing the root pool with one ioctl, from the config its labels give.
//
// `zpool import -N -d DISK GUID` reads the labels, assembles the pool's config, asks the kernel
// to try it (ZFS_IOC_POOL_TRYIMPORT: a read-only load of the whole pool) and then imports it
// (ZFS_IOC_POOL_IMPORT: the same load again, read-write). Under emulation that is 0.4-0.5 s, half
// of it the trial. When the labels already show the pool complete and this system's
// (zfs_label.h), /init assembles the same config as libzutil's get_configs() and hands it to
// ZFS_IOC_POOL_IMPORT itself: the kernel treats it as untrusted, loads the pool's own config from
// the MOS and checks every vdev against it, exactly as for zpool's. Any error falls back to zpool,
// which does it all again and explains what went wrong.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "result.h"
#include "xdr_nvlist.h"
#include "zfs_label.h"

namespace zinitrd::rt {

/// The path to give a leaf whose label records RECORDED and was read on DEVICE (dev_links.h's
/// leaf_device_path at boot).
using LeafPath = std::function<std::string(const std::string& recorded, const std::string& device)>;

/// The config `zpool import` hands the kernel for the pool POOL_GUID of DEVICES: the pool's
/// fields from its newest label (version, name, GUID, state, hostid, hostname, comment,
/// compatibility, vdev_children) and a root vdev whose children are each top-level vdev's tree
/// from its newest label. Each leaf whose label was read keeps the path its label records when
/// LEAF_PATH returns that path; otherwise (or without LEAF_PATH) it points at the device its
/// label was read from, its udev-derived strings dropped as libzutil drops them when it cannot
/// derive them. nullopt when a top-level vdev is missing or a label lacks what this needs (pure
/// but for LEAF_PATH).
std::optional<NvList> import_config(const std::vector<LabelledDevice>& devices, uint64_t pool_guid,
                                    const LeafPath& leaf_path = {});

/// The devices found with a hot spare's or a cache device's label, by the GUID the label gives.
using AuxDevices = std::map<uint64_t, std::string>;

/// True when CONFIG (import_config's) has a dRAID top-level vdev with distributed spares: those
/// spares are in the pool's MOS only (no device carries a label of theirs), and the kernel's
/// import keeps only the spares its config lists, so they need the trial import's list (pure).
bool has_distributed_spares(const NvList& config);

/// Adds to CONFIG (import_config's) the pool's hot spares and cache devices as TRIED lists them
/// (ZFS_IOC_POOL_TRYIMPORT's reply: the pool's own lists, from its MOS; a member's label names
/// none of them), each one found in AUX at the path LEAF_PATH gives for it, as libzutil's
/// get_configs() fixes their paths for zpool: the kernel takes these lists over the MOS's, whose
/// paths (a /dev/disk/by-id link that no udev made here, a /dev/sdX that moved) may lead nowhere
/// at boot and leave the device unavailable for good. Those not in AUX keep the path recorded;
/// a distributed spare (type dspare, a vdev of dRAID's with no device of its own) is kept as it
/// is. Returns how many were found or are distributed spares; CONFIG is left as it was when none
/// was (pure but for LEAF_PATH).
size_t add_aux_devices(NvList& config, const NvList& tried, const AuxDevices& aux,
                       const LeafPath& leaf_path);

/// ZFS_IOC_POOL_TRYIMPORT of CONFIG: the pool's whole config, which the kernel assembles from a
/// read-only load of the pool (spares and cache devices included).
Result<NvList> try_import(const NvList& config);

/// ZFS_IOC_POOL_IMPORT of CONFIG as NAME (flags: ZFS_IMPORT_ANY_HOST when FORCE), then HISTORY
/// (unless empty) logged in the pool's history as zpool logs its command line (best effort: a
/// failure there is a debug line); an error names the errno the kernel returned.
Status import_with_ioctl(const std::string& name, uint64_t pool_guid, const NvList& config,
                         bool force, const std::string& history);

}  // namespace zinitrd::rt
