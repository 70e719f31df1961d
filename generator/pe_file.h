// pe_file.h: reads the headers of a PE32+ file (an EFI application such as systemd's stub or a
// unified kernel image): where its sections are, so that new ones can be placed after them at
// the alignment the firmware's loader requires, and so tests can read a UKI back.
//
// Layout (PE/COFF specification): "MZ" DOS header whose e_lfanew (offset 0x3c) points at
// "PE\0\0"; then the COFF header (number of sections at +6, optional header size at +20) and the
// optional header (magic 0x20b for PE32+, SectionAlignment at +32, FileAlignment at +36,
// ImageBase at +24, SizeOfImage at +56); the section table follows it, 40 bytes per section.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::gen {

/// One section of a PE file.
struct PeSection {
  std::string name;              ///< up to 8 characters (".linux")
  uint64_t rva = 0;              ///< VirtualAddress, relative to the image base
  uint64_t virtual_size = 0;     ///< VirtualSize: bytes in memory
  uint64_t file_offset = 0;      ///< PointerToRawData
  uint64_t raw_size = 0;         ///< SizeOfRawData (padded to FileAlignment)
  uint32_t characteristics = 0;  ///< IMAGE_SCN_* flags
};

/// The headers of a PE32+ image.
struct PeImage {
  uint16_t machine = 0;  ///< 0x8664 for x86-64
  uint64_t image_base = 0;
  uint32_t section_alignment = 0, file_alignment = 0;
  uint64_t size_of_image = 0;
  std::vector<PeSection> sections;  ///< in table order

  /// The section called NAME, or nullptr.
  const PeSection* find(std::string_view name) const;
  /// First address (RVA) after every section, rounded up to ALIGN (a power of two).
  uint64_t end_rva(uint64_t align) const;
};

/// Parses the PE32+ headers in DATA (the file's bytes, or at least its headers); errors name WHAT.
Result<PeImage> parse_pe(std::string_view data, std::string_view what);

/// Reads and parses the PE file at PATH.
Result<PeImage> read_pe(const std::string& path);

/// The bytes of section S of a file whose content is DATA (its VirtualSize, without padding).
std::string_view pe_section_data(std::string_view data, const PeSection& s);

/// The PE checksum of DATA (the optional header's CheckSum field itself counted as zero): 16-bit
/// one's-complement-style sum with carries folded, plus the file's length (as imagehlp computes).
Result<uint32_t> pe_checksum(std::string_view data);

/// Sets the COFF header's TimeDateStamp of the PE file DATA to TIMESTAMP and rewrites its CheckSum.
/// objcopy stamps the time it runs (binutils 2.40 ignores SOURCE_DATE_EPOCH there): this makes
/// a UKI's bytes a function of its inputs.
Status set_pe_timestamp(std::string& data, uint32_t timestamp);

}  // namespace zinitrd::gen
