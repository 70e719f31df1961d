// resume.h: resuming a hibernated system, before the root pool is touched.
//
// A system hibernated to a swap device left its memory there, with the root pool imported in
// it. Its next boot must hand that image to the kernel before the pool is imported: importing
// it here and then resuming a kernel that had it imported would write the pool from two pasts.
// initramfs-tools does the same from its `resume` script (RESUME= of conf.d/resume, or resume=),
// before its zfs script imports anything. The device is named as the kernel's resume= names it:
// UUID= or LABEL= of the swap area, PARTUUID= or PARTLABEL= of its partition, a /dev path
// (/dev/disk/by-uuid/, by-label/, by-partuuid/ and by-partlabel/ read as those), or MAJOR:MINOR.
// Only a swap area whose header carries a hibernation signature is handed over (writing its
// MAJOR:MINOR to /sys/power/resume, which returns only when the kernel could not resume); a plain
// swap area, or none found once the disks have settled, lets the boot go on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "block_devices.h"
#include "device_scan.h"

namespace zinitrd::rt {

/// What a swap area's first page says (mm/swapfile.c's swap_header, kernel/power/swap.c's
/// swsusp_header share it).
struct SwapHeader {
  std::string uuid;         ///< "8-4-4-4-12" lowercase hex, empty when all zero
  std::string label;        ///< up to 16 bytes, empty when none
  bool hibernated = false;  ///< a hibernation image's signature (S1SUSPEND, ULSUSPEND...)
};

/// The header of PAGE (a swap area's first page, its size the page size); nullopt when PAGE is
/// no swap area: neither "SWAPSPACE2" nor a hibernation signature in its last ten bytes (pure).
std::optional<SwapHeader> parse_swap_header(std::string_view page);

/// A resume= value as the kernel reads it.
struct ResumeDevice {
  enum class Kind {
    kNone,
    kUuid,
    kLabel,
    kPartUuid,
    kPartLabel,
    kName,
    kNumber,
    kUnsupported
  } kind = Kind::kNone;
  /// the UUID or PARTUUID (lowercase), label or partition name, kernel name ("sda2"), "MAJ:MIN"
  /// or the text not understood
  std::string value;
};

/// Parses SPEC: empty or "none" is kNone; what the kernel would not find either (by-id links,
/// PARTUUID=.../PARTNROFF=) is kUnsupported (pure).
ResumeDevice parse_resume_device(std::string_view spec);

/// True when the block device B, whose PARTUUID is PARTUUID (empty: none or not read) and swap
/// header HEADER, is the device D names (pure).
bool resume_device_matches(const ResumeDevice& d, const BlockDevice& b, const std::string& partuuid,
                           const SwapHeader& header);

/// Looks for D among the block devices under SYS_BLOCK, their nodes under DEV_DIR
/// (block_devices.h), as PROBE has read them (device_scan.h: a device that has not answered
/// yet is not among them): the first match's name, "MAJ:MIN" and header, or nullopt.
struct FoundSwap {
  std::string name, devnum;
  SwapHeader header;
};
std::optional<FoundSwap> find_resume_device(const ResumeDevice& d,
                                            const std::string& sys_block = "/sys/class/block",
                                            const std::string& dev_dir = "/dev",
                                            DeviceProbe& probe = device_scan_probe());

/// The boot's resume step: SPEC (resume=, else the image's `resume` setting) unless NORESUME;
/// SETTLE(enough) waits for the disks until ENOUGH says the device is there or discovery has
/// settled. Hands a hibernated image to the kernel; returns when there is none to resume, or the
/// kernel could not (each said in the log).
void resume_from_hibernation(const std::string& spec, bool noresume,
                             const std::function<void(const std::function<bool()>&)>& settle);

}  // namespace zinitrd::rt
