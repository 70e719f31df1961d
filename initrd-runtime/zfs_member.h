// zfs_member.h: which block devices carry a ZFS label, without running zpool.
//
// `zpool import` costs a process, libzfs's start-up and a read of every device's four labels:
// over a second under emulation. Before any disk of a pool exists that run can only fail, so the
// import waits until a block device with a ZFS label is there (what udev's blkid calls
// ID_FS_TYPE=zfs_member). A vdev label (OpenZFS vdev_impl.h) is 256 KiB; four copies, two at
// the start of the device and two at its end. Bytes 16 KiB..128 KiB of each hold the packed
// config nvlist: a 4-byte header (encoding 1 = XDR) and, among its first pairs, "pool_guid".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "device_scan.h"

namespace zinitrd::rt {

/// Offset of the packed config nvlist inside a vdev label, and the bytes of it looked at.
inline constexpr uint64_t kLabelNvlistOffset = 16 << 10;
inline constexpr size_t kDeviceProbeBytes = 4 << 10;
/// Size of one vdev label (four per device: two at the start, two at the end).
inline constexpr uint64_t kVdevLabelSize = 256 << 10;

/// True when BYTES (the start of a label's nvlist region) is a pool member's config: an XDR
/// nvlist naming a pool_guid (pure). Spares and cache devices name no pool_guid.
bool is_zfs_member_label(std::string_view bytes);

/// True when the device or file at PATH of SIZE bytes has a pool member's label in any of its
/// four label slots.
bool has_zfs_label(const std::string& path, uint64_t size);

/// True when BYTES is the label of a hot spare or a cache (L2ARC) device: an XDR nvlist that
/// names no pool_guid (such labels hold their own GUID and state only; the pool that owns the
/// device is known from its MOS alone) (pure).
bool is_zfs_aux_label(std::string_view bytes);

/// A block device that carries a ZFS label.
struct MemberDevice {
  std::string path;   ///< "/dev/vda1"
  uint64_t size = 0;  ///< bytes
};

/// The bytes at each label slot's nvlist start (kDeviceProbeBytes at kLabelNvlistOffset of each
/// of the four slots) of the device or file at PATH of SIZE bytes, in slot order; an empty
/// string for a slot that cannot be read, none at all when PATH cannot be opened.
std::vector<std::string> read_label_slots(const std::string& path, uint64_t size);

/// The block devices under SYS_BLOCK (normally /sys/class/block) that carry a ZFS member label,
/// found in DEV_DIR, sorted by path. Ram, loop, zvol (zd*) and empty devices are not read, and
/// a device PROBE has not finished reading is not among them yet (device_scan.h).
/// A whole disk is left out when a partition of it carries a label too: an MBR partition that
/// starts on a 256 KiB boundary and ends where the disk ends puts its two last labels exactly
/// where the disk's own would be, and the disk would pass for a second copy of that member.
std::vector<MemberDevice> zfs_member_devices(const std::string& sys_block = "/sys/class/block",
                                             const std::string& dev_dir = "/dev",
                                             DeviceProbe& probe = device_scan_probe());

/// The same for the devices whose label is a hot spare's or a cache device's.
std::vector<MemberDevice> zfs_aux_devices(const std::string& sys_block = "/sys/class/block",
                                          const std::string& dev_dir = "/dev",
                                          DeviceProbe& probe = device_scan_probe());

}  // namespace zinitrd::rt
