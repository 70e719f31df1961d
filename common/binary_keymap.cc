// binary_keymap.cc: reading loadkeys' binary keymaps (see binary_keymap.h).
#include "binary_keymap.h"

#include <cstring>

namespace zinitrd {
namespace {
constexpr std::string_view kMagic = "bkeymap";
constexpr size_t kMaps = 256, kKeys = 128;
}  // namespace

std::optional<std::vector<KeymapKey>> parse_binary_keymap(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + kMaps || bytes.substr(0, kMagic.size()) != kMagic)
    return std::nullopt;
  std::vector<uint8_t> present;
  for (size_t i = 0; i < kMaps; ++i) {
    const auto flag = static_cast<uint8_t>(bytes[kMagic.size() + i]);
    if (flag > 1) return std::nullopt;
    if (flag) present.push_back(static_cast<uint8_t>(i));
  }
  if (present.empty() || bytes.size() != kMagic.size() + kMaps + present.size() * kKeys * 2)
    return std::nullopt;
  std::vector<KeymapKey> keys;
  keys.reserve(present.size() * kKeys);
  const char* p = bytes.data() + kMagic.size() + kMaps;
  for (uint8_t table : present)
    for (size_t k = 0; k < kKeys; ++k, p += 2) {
      uint16_t v;
      std::memcpy(&v, p, 2);
      keys.push_back({table, static_cast<uint8_t>(k), v});
    }
  return keys;
}

}  // namespace zinitrd
