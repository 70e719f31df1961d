// native_nvlist.cc: reading natively encoded nvlists (see native_nvlist.h).
#include "native_nvlist.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace zinitrd::rt {
namespace {

constexpr int kMaxDepth = 16;
constexpr size_t kPairHeader = 16;    // sizeof (nvpair_t): size, name_sz, reserve, nelem, type
constexpr size_t kNativeNvlist = 24;  // sizeof (nvlist_t): version, nvflag, priv, flag, pad

template <typename T>
T load(std::string_view b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(v));
  return v;
}

size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// The pairs of one list from POS up to its four zero bytes (POS moves past them). An embedded
// list's pairs come right after the pair that holds it, so they are read where they appear.
bool parse_pairs(std::string_view b, size_t& pos, NvList& list, int depth) {
  if (depth > kMaxDepth) return false;
  for (;;) {
    if (b.size() - pos < 4) return false;
    const int32_t size = load<int32_t>(b, pos);
    if (size == 0) {
      pos += 4;
      return true;
    }
    if (size < 0 || static_cast<size_t>(size) < kPairHeader ||
        static_cast<size_t>(size) > b.size() - pos)
      return false;
    const std::string_view pair = b.substr(pos, static_cast<size_t>(size));
    pos += static_cast<size_t>(size);
    const int16_t name_size = load<int16_t>(pair, 4);
    const int32_t count = load<int32_t>(pair, 8);
    const int32_t type = load<int32_t>(pair, 12);
    if (name_size <= 0 || kPairHeader + static_cast<size_t>(name_size) > pair.size() || count < 0)
      return false;
    const std::string_view name_field = pair.substr(kPairHeader, static_cast<size_t>(name_size));
    if (name_field.back() != '\0' || name_field.find('\0') != name_field.size() - 1) return false;
    const std::string name(name_field.substr(0, name_field.size() - 1));
    const size_t value_at = align8(kPairHeader + static_cast<size_t>(name_size));
    if (value_at > pair.size()) return false;
    const std::string_view value = pair.substr(value_at);

    switch (static_cast<uint32_t>(type)) {
      case kNvUint64:
        if (count != 1 || value.size() < 8) return false;
        list.set_number(name, load<uint64_t>(value, 0));
        break;
      case kNvString: {
        const size_t end = value.find('\0');
        if (count != 1 || end == std::string_view::npos) return false;
        list.set_text(name, std::string(value.substr(0, end)));
        break;
      }
      case kNvNvlist: {
        if (count != 1 || value.size() < kNativeNvlist || load<int32_t>(value, 0) != 0)
          return false;
        NvList child;
        child.flags = load<uint32_t>(value, 4);
        if (!parse_pairs(b, pos, child, depth + 1)) return false;
        list.set_list(name, std::move(child));
        break;
      }
      case kNvNvlistArray: {
        // a pointer per element, then an nvlist_t per element; their pairs follow the pair
        const size_t n = static_cast<size_t>(count);
        if (n > value.size() / (8 + kNativeNvlist)) return false;
        std::vector<NvList> children(n);
        for (size_t i = 0; i < n; ++i) {
          const size_t header = 8 * n + kNativeNvlist * i;
          if (load<int32_t>(value, header) != 0) return false;
          children[i].flags = load<uint32_t>(value, header + 4);
          if (!parse_pairs(b, pos, children[i], depth + 1)) return false;
        }
        list.set_lists(name, std::move(children));
        break;
      }
      default: {
        NvPair p;
        p.name = name;
        p.type = static_cast<uint32_t>(type);
        p.count = static_cast<uint32_t>(count);
        list.pairs.push_back(std::move(p));
      }
    }
  }
}

}  // namespace

std::optional<NvList> parse_native_nvlist(std::string_view bytes) {
  // nvs_header_t: encoding (0: native), endianness (1: little), two reserved bytes; then the
  // top list's version and flags.
  constexpr char kOurs = std::endian::native == std::endian::little ? 1 : 0;
  if (bytes.size() < 12 || bytes[0] != 0 || bytes[1] != kOurs) return std::nullopt;
  NvList list;
  list.version = load<int32_t>(bytes, 4);
  list.flags = load<uint32_t>(bytes, 8);
  if (list.version != 0) return std::nullopt;
  size_t pos = 12;
  if (!parse_pairs(bytes, pos, list, 0)) return std::nullopt;
  return list;
}

}  // namespace zinitrd::rt
