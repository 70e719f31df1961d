// device_scan.h: what the runtime's scans read of each block device, read once per device.
//
// Three scans look at every block device: for ZFS labels (zfs_member.h), for the LUKS devices
// that crypttab or rd.luks.uuid= name (luks_open.h), and for the resume device's swap signature
// (resume.h). Each device is read once for the three, by a child process of the shared probe
// (device_probe.h): its first kDeviceStartBytes (a LUKS header; a swap area's signature at the
// end of its first page) and the start of the nvlist of each of its four ZFS label slots. A
// device that has not answered yet (a dying disk's driver retrying every read) is left out of a
// scan for now; the next scan takes its answer when it comes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "block_devices.h"
#include "device_probe.h"

namespace zinitrd::rt {

/// How much of each device's start is read: a LUKS header's probe (luks_header.h's
/// kLuksProbeBytes), which covers a swap area's first page.
inline constexpr size_t kDeviceStartBytes = 16384;

/// What the scans see of one device.
struct ScannedDevice {
  BlockDevice device;
  std::string start;                     ///< its first bytes (fewer at its end, none unreadable)
  std::vector<std::string> label_slots;  ///< zfs_member.h's read_label_slots()
};

/// What a probe child reads of device D: its start, then its label slots; nothing when it cannot
/// be opened (a later scan tries again).
std::vector<std::string> read_device_regions(const BlockDevice& d);

/// The probe the runtime's scans share, reading with read_device_regions.
DeviceProbe& device_scan_probe();

/// The devices of DEVICES that PROBE has an answer for, in their order (device_probe.h).
std::vector<ScannedDevice> scan_devices(const std::vector<BlockDevice>& devices,
                                        DeviceProbe& probe = device_scan_probe());

}  // namespace zinitrd::rt
