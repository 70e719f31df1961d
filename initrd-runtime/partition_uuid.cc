// partition_uuid.cc: PARTUUIDs from GPT and MBR tables (see partition_uuid.h).
#include "partition_uuid.h"

#include <cstdio>

namespace zinitrd::rt {
namespace {

uint64_t le(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

// A GUID's 16 bytes as %pUl prints them: time_low, time_mid, time_hi little-endian.
std::string guid_text(const std::string& g) {
  static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(g[order[i]]));
    out += hex;
  }
  return out;
}

}  // namespace

std::string partition_uuid(const DiskReader& read, unsigned partn, unsigned sector) {
  if (partn == 0 || (sector != 512 && sector != 1024 && sector != 2048 && sector != 4096))
    return {};
  const std::string header = read(sector, 92);
  if (header.size() == 92 && header.compare(0, 8, "EFI PART") == 0) {
    const uint64_t entries_lba = le(header, 72, 8);
    const uint64_t count = le(header, 80, 4), entry_size = le(header, 84, 4);
    if (partn > count || entry_size < 128 || entry_size > 4096 || entries_lba < 2) return {};
    const std::string entry = read(entries_lba * sector + (partn - 1) * entry_size, 32);
    if (entry.size() != 32 || entry.find_first_not_of('\0', 0) >= 16) return {};  // unused
    return guid_text(entry.substr(16, 16));
  }
  const std::string mbr = read(0, 512);
  if (mbr.size() != 512 || static_cast<unsigned char>(mbr[510]) != 0x55 ||
      static_cast<unsigned char>(mbr[511]) != 0xaa)
    return {};
  if (static_cast<unsigned char>(mbr[450]) == 0xee) return {};  // GPT's protective MBR: unread GPT
  char text[24];
  std::snprintf(text, sizeof text, "%08x-%02x", static_cast<unsigned>(le(mbr, 440, 4)), partn);
  return text;
}

}  // namespace zinitrd::rt
