// block_devices.h: the machine's block devices, as the runtime's scans read them.
//
// The ZFS label scan (zfs_member.h) and the resume device's search (resume.h) both walk
// /sys/class/block and read the start of each device. Both must skip what cannot hold a pool or
// a swap area and may be slow to say so (an empty optical or floppy drive), and both must find
// each device's node under /dev by the name the kernel gives it there (the uevent's DEVNAME:
// "cciss/c0d0" for sysfs's "cciss!c0d0").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zinitrd::rt {

/// One block device with a medium.
struct BlockDevice {
  std::string name;    ///< its sysfs name ("sda1", "cciss!c0d0")
  std::string path;    ///< its node ("/dev/sda1", "/dev/cciss/c0d0")
  std::string devnum;  ///< "MAJOR:MINOR" from its uevent; empty when the uevent lacks it
  uint64_t size = 0;   ///< bytes
};

/// The block devices under SYS_BLOCK (normally /sys/class/block) of a nonzero size, their nodes
/// in DEV_DIR, in directory order. Ram disks, loop devices, zvols (zd*), optical (sr*) and
/// floppy (fd*) drives are left out.
std::vector<BlockDevice> block_devices(const std::string& sys_block = "/sys/class/block",
                                       const std::string& dev_dir = "/dev");

/// The first LEN bytes of the file or device at PATH (fewer at its end; empty when it cannot be
/// opened or read).
std::string read_start(const std::string& path, size_t len);

}  // namespace zinitrd::rt
