// block_devices.h: the machine's block devices, as the runtime's scans read them.
//
// The ZFS label scan (zfs_member.h) and the resume device's search (resume.h) both walk
// /sys/class/block and read the start of each device. Both must skip what cannot hold a pool or
// a swap area and may be slow to say so (an empty optical or floppy drive), and both must find
// each device's node under /dev by the name the kernel gives it there (the uevent's DEVNAME:
// "cciss/c0d0" for sysfs's "cciss!c0d0").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zinitrd::rt {

/// One block device with a medium.
struct BlockDevice {
  std::string name;    ///< its sysfs name ("sda1", "cciss!c0d0")
  std::string path;    ///< its node ("/dev/sda1", "/dev/cciss/c0d0")
  std::string devnum;  ///< "MAJOR:MINOR" from its uevent; empty when the uevent lacks it
  uint64_t size = 0;   ///< bytes
  // A partition (its uevent's PARTN): its number and its GPT name (PARTNAME, the PARTLABEL).
  unsigned partn = 0;    ///< 0: a whole device
  std::string partname;  ///< empty when the table has none
};

/// The disk a partition is on: its node ("/dev/nvme0n1") and logical block size.
struct PartitionDisk {
  std::string path;
  unsigned sector = 512;
};

/// The disk of the partition NAME under SYS_BLOCK (sysfs links it below its disk), its node in
/// DEV_DIR; nullopt when not found. Read only when asked: the label scan never needs it.
std::optional<PartitionDisk> partition_disk(const std::string& name,
                                            const std::string& sys_block = "/sys/class/block",
                                            const std::string& dev_dir = "/dev");

/// The block devices under SYS_BLOCK (normally /sys/class/block) of a nonzero size, their nodes
/// in DEV_DIR, in directory order. Ram disks, loop devices, zvols (zd*), optical (sr*) and
/// floppy (fd*) drives are left out.
std::vector<BlockDevice> block_devices(const std::string& sys_block = "/sys/class/block",
                                       const std::string& dev_dir = "/dev");

/// The first LEN bytes of the file or device at PATH (fewer at its end; empty when it cannot be
/// opened or read).
std::string read_start(const std::string& path, size_t len);

/// LEN bytes of PATH at byte OFFSET (fewer at its end; empty when it cannot be read there).
std::string read_at(const std::string& path, uint64_t offset, size_t len);

}  // namespace zinitrd::rt
