// pe_file.cc: PE32+ header parsing, bounds-checked against the file (see pe_file.h).
#include "pe_file.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

namespace zinitrd::gen {
namespace {

constexpr size_t kSectionHeader = 40;
constexpr uint16_t kPe32Plus = 0x20b;

uint64_t le(std::string_view d, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[off + i]);
  return v;
}

void put_le32(std::string& d, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Offsets of the COFF header ("PE\0\0" + 4) and of the optional header's CheckSum in D.
Result<std::pair<size_t, size_t>> header_offsets(std::string_view d) {
  auto pe = parse_pe(d, "UKI");
  if (!pe) return pe.error();
  size_t coff = le(d, 0x3c, 4) + 4;
  return std::pair<size_t, size_t>(coff, coff + 20 + 64);
}

}  // namespace

const PeSection* PeImage::find(std::string_view name) const {
  for (const auto& s : sections)
    if (s.name == name) return &s;
  return nullptr;
}

uint64_t PeImage::end_rva(uint64_t align) const {
  uint64_t end = 0;
  for (const auto& s : sections) end = std::max(end, s.rva + std::max(s.virtual_size, s.raw_size));
  return (end + align - 1) & ~(align - 1);
}

Result<PeImage> parse_pe(std::string_view d, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Error::msg("'" + std::string(what) + "' is not a PE32+ EFI image (" + why + ")");
  };
  if (d.size() < 0x40 || d.substr(0, 2) != "MZ") return bad("no MZ header");
  uint64_t pe = le(d, 0x3c, 4);
  if (pe > d.size() || d.size() - pe < 24 || d.substr(pe, 4) != std::string_view("PE\0\0", 4))
    return bad("no PE signature");
  PeImage img;
  img.machine = static_cast<uint16_t>(le(d, pe + 4, 2));
  size_t nsections = le(d, pe + 6, 2);
  size_t opt_size = le(d, pe + 20, 2);
  size_t opt = pe + 24;
  if (opt_size < 112 || d.size() - opt < opt_size) return bad("truncated optional header");
  if (le(d, opt, 2) != kPe32Plus) return bad("not PE32+");
  img.image_base = le(d, opt + 24, 8);
  img.section_alignment = static_cast<uint32_t>(le(d, opt + 32, 4));
  img.file_alignment = static_cast<uint32_t>(le(d, opt + 36, 4));
  img.size_of_image = le(d, opt + 56, 4);
  size_t table = opt + opt_size;
  if (table > d.size() || (d.size() - table) / kSectionHeader < nsections)
    return bad("truncated section table");
  for (size_t i = 0; i < nsections; ++i) {
    size_t h = table + i * kSectionHeader;
    PeSection s;
    std::string_view name = d.substr(h, 8);
    s.name = std::string(name.substr(0, std::min(name.find('\0'), name.size())));
    s.virtual_size = le(d, h + 8, 4);
    s.rva = le(d, h + 12, 4);
    s.raw_size = le(d, h + 16, 4);
    s.file_offset = le(d, h + 20, 4);
    s.characteristics = static_cast<uint32_t>(le(d, h + 36, 4));
    img.sections.push_back(std::move(s));
  }
  return img;
}

Result<PeImage> read_pe(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::sys("open", path, errno);
  std::stringstream s;
  s << in.rdbuf();
  return parse_pe(s.str(), path);
}

std::string_view pe_section_data(std::string_view data, const PeSection& s) {
  if (s.file_offset >= data.size()) return {};
  uint64_t n = std::min({s.virtual_size, s.raw_size, data.size() - s.file_offset});
  return data.substr(s.file_offset, n);
}

Result<uint32_t> pe_checksum(std::string_view d) {
  auto at = header_offsets(d);
  if (!at) return at.error();
  size_t skip = at->second;
  uint64_t sum = 0;
  for (size_t i = 0; i < d.size(); i += 2) {
    if (i == skip || i == skip + 2) continue;  // the CheckSum field counts as zero
    uint64_t word = static_cast<unsigned char>(d[i]);
    if (i + 1 < d.size()) word |= static_cast<uint64_t>(static_cast<unsigned char>(d[i + 1])) << 8;
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum + d.size());
}

Status set_pe_timestamp(std::string& d, uint32_t timestamp) {
  auto at = header_offsets(d);
  if (!at) return at.error();
  put_le32(d, at->first + 4, timestamp);
  auto sum = pe_checksum(d);
  if (!sum) return sum.error();
  put_le32(d, at->second, *sum);
  return Ok{};
}

}  // namespace zinitrd::gen
