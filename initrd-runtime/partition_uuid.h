// partition_uuid.h: the PARTUUID the kernel gives a partition, read from its disk's table.
//
// resume=PARTUUID=... (and /dev/disk/by-partuuid/...) names a partition as the kernel's
// name_to_dev_t() does, from the partition table rather than the swap area's header. The kernel
// does not put it in sysfs or the uevent, so it is read here as block/partitions/ makes it:
//   - GPT (the header "EFI PART" at logical block 1): the entry's unique partition GUID, printed
//     as %pUl does (its first three fields little-endian), lowercase;
//   - MBR without GPT (the 0x55aa signature): the disk signature (4 bytes at 440) and the
//     partition's number, "%08x-%02x" ("0e1f0a2b-01"; logical partitions number from 5).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace zinitrd::rt {

/// Reads LENGTH bytes of a disk at byte OFFSET (fewer, or none, at its end or on an error).
using DiskReader = std::function<std::string(uint64_t offset, size_t length)>;

/// The PARTUUID of partition PARTN (1-based) of the disk READ reads, whose logical blocks are
/// SECTOR bytes (512 or 4096); empty when the disk has no table the kernel reads this way, or no
/// such entry (pure but for READ).
std::string partition_uuid(const DiskReader& read, unsigned partn, unsigned sector);

}  // namespace zinitrd::rt
