// partition_uuid_test.cc: PARTUUIDs read from GPT and MBR tables as the kernel prints them
// (blkid and /dev/disk/by-partuuid show the same).
#include "partition_uuid.h"

#include <doctest/doctest.h>

#include <string>

using namespace zinitrd::rt;

namespace {

void put_le(std::string& b, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}

DiskReader reader(const std::string& disk) {
  return [disk](uint64_t offset, size_t length) {
    return offset >= disk.size() ? std::string() : disk.substr(offset, length);
  };
}

// A GPT disk of SECTOR-byte blocks: a protective MBR, the header at block 1, 128 entries of 128
// bytes from block 2; entry 2 (partition 2) in use, its unique GUID (as sfdisk and blkid print
// it) 2b7b1a3c-4d5e-4f60-8a9b-0c1d2e3f4a5b.
std::string gpt_disk(unsigned sector) {
  std::string disk(sector * 40, '\0');
  disk[510] = '\x55';
  disk[511] = '\xaa';
  disk[450] = '\xee';  // the protective partition's type
  disk.replace(sector, 8, "EFI PART");
  put_le(disk, sector + 72, 2, 8);    // entries' LBA
  put_le(disk, sector + 80, 128, 4);  // number of entries
  put_le(disk, sector + 84, 128, 4);  // entry size
  const size_t entry2 = 2 * sector + 128;
  disk[entry2] = 0x6d;  // a type GUID: the entry is in use
  const unsigned char guid[16] = {0x3c, 0x1a, 0x7b, 0x2b, 0x5e, 0x4d, 0x60, 0x4f,
                                  0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b};
  for (int i = 0; i < 16; ++i) disk[entry2 + 16 + i] = static_cast<char>(guid[i]);
  return disk;
}

}  // namespace

TEST_CASE("partition uuid: a GPT entry's unique GUID, on 512- and 4096-byte block disks") {
  for (unsigned sector : {512u, 4096u}) {
    CAPTURE(sector);
    const std::string disk = gpt_disk(sector);
    CHECK(partition_uuid(reader(disk), 2, sector) == "2b7b1a3c-4d5e-4f60-8a9b-0c1d2e3f4a5b");
    CHECK(partition_uuid(reader(disk), 1, sector).empty());    // unused entry
    CHECK(partition_uuid(reader(disk), 129, sector).empty());  // past the table
    CHECK(partition_uuid(reader(disk), 0, sector).empty());
  }
  // Read with the wrong block size, the header is not found: the protective MBR is no table of
  // its own (the kernel reads the disk's own block size, as the caller passes it).
  CHECK(partition_uuid(reader(gpt_disk(4096)), 2, 512).empty());
  CHECK(partition_uuid(reader(gpt_disk(512)), 2, 3000).empty());
}

TEST_CASE("partition uuid: an MBR disk's signature and the partition number") {
  std::string disk(4096, '\0');
  put_le(disk, 440, 0x0e1f0a2b, 4);
  disk[510] = '\x55';
  disk[511] = '\xaa';
  CHECK(partition_uuid(reader(disk), 1, 512) == "0e1f0a2b-01");
  CHECK(partition_uuid(reader(disk), 5, 512) == "0e1f0a2b-05");  // the first logical one
  CHECK(partition_uuid(reader(disk), 18, 512) == "0e1f0a2b-12");
  disk[511] = 0;  // no table at all
  CHECK(partition_uuid(reader(disk), 1, 512).empty());
  CHECK(partition_uuid(reader(std::string()), 1, 512).empty());  // unreadable
}
