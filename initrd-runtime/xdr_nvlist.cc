// xdr_nvlist.cc: reading and writing XDR-encoded nvlists (see xdr_nvlist.h).
#include "xdr_nvlist.h"

#include <algorithm>
#include <utility>

namespace zinitrd::rt {
namespace {

constexpr int kMaxDepth = 16;  // vdev trees are 3 deep; labels never nest more

// A bounds-checked reader of XDR (big-endian, 4-byte aligned) data.
class Reader {
 public:
  Reader(std::string_view b, size_t pos) : b_(b), pos_(pos) {}
  bool u32(uint32_t& v) {
    if (pos_ > b_.size() || b_.size() - pos_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(b_[pos_ + i]);
    pos_ += 4;
    return true;
  }
  bool str(std::string& s) {
    uint32_t n;
    if (!u32(n) || n > b_.size() - pos_) return false;
    s.assign(b_.substr(pos_, n));
    pos_ += (size_t{n} + 3) & ~size_t{3};
    return pos_ <= b_.size();
  }
  size_t pos() const { return pos_; }
  void seek(size_t p) { pos_ = p; }
  std::string_view bytes(size_t from, size_t to) const { return b_.substr(from, to - from); }

 private:
  std::string_view b_;
  size_t pos_;
};

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string xdr_string(std::string_view s) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
  out.append((4 - s.size() % 4) % 4, '\0');
  return out;
}

// nvpair.c's NVP_SIZE_CALC: the native pair header (16 bytes) and the name with its NUL, then the
// value, each 8-byte aligned. The decoder allocates this and checks the value fits exactly.
uint32_t native_size(const std::string& name, uint64_t value_bytes) {
  auto align8 = [](uint64_t n) { return (n + 7) & ~uint64_t{7}; };
  return static_cast<uint32_t>(align8(16 + name.size() + 1) + align8(value_bytes));
}
constexpr uint64_t kNativeNvlist = 24;  // sizeof (nvlist_t)

bool parse_list(Reader& r, NvList& list, int depth) {
  if (depth > kMaxDepth) return false;
  uint32_t version, flags;
  if (!r.u32(version) || !r.u32(flags)) return false;
  list.version = static_cast<int32_t>(version);
  list.flags = flags;
  for (;;) {
    const size_t start = r.pos();
    uint32_t encoded, decoded;
    if (!r.u32(encoded) || !r.u32(decoded)) return false;
    if (encoded == 0 && decoded == 0) return true;  // the end of this list
    const size_t end = start + encoded;
    if (encoded < 8 || end < start) return false;
    NvPair p;
    p.decoded_size = decoded;
    if (!r.str(p.name) || !r.u32(p.type) || !r.u32(p.count)) return false;
    if (p.type == kNvNvlist || p.type == kNvNvlistArray) {
      if (p.type == kNvNvlist && p.count != 1) return false;
      for (uint32_t i = 0; i < p.count; ++i) {
        if (r.pos() >= end) return false;  // more lists claimed than the pair holds
        p.lists.emplace_back();
        if (!parse_list(r, p.lists.back(), depth + 1)) return false;
      }
      if (r.pos() > end) return false;
    } else {
      if (r.pos() > end) return false;
      auto value = r.bytes(r.pos(), end);
      if (value.size() != end - r.pos()) return false;  // past the end of the stream
      p.value.assign(value);
    }
    r.seek(end);  // the encoded size covers the pair, embedded lists included
    list.pairs.push_back(std::move(p));
  }
}

void pack_list(const NvList& list, std::string& out) {
  put_u32(out, static_cast<uint32_t>(list.version));
  put_u32(out, list.flags);
  for (const auto& p : list.pairs) {
    std::string body = xdr_string(p.name);
    put_u32(body, p.type);
    put_u32(body, p.count);
    if (p.type == kNvNvlist || p.type == kNvNvlistArray)
      for (const auto& l : p.lists) pack_list(l, body);
    else
      body += p.value;
    put_u32(out, static_cast<uint32_t>(body.size() + 8));
    put_u32(out, p.decoded_size);
    out += body;
  }
  put_u32(out, 0);  // the end of the list: a pair of sizes 0
  put_u32(out, 0);
}

// The pair NAME of L (appended when absent), emptied and set to TYPE with COUNT elements.
NvPair& reset(NvList& l, const std::string& name, uint32_t type, uint32_t count) {
  auto it =
      std::find_if(l.pairs.begin(), l.pairs.end(), [&](const NvPair& p) { return p.name == name; });
  NvPair& p = it != l.pairs.end() ? *it : l.pairs.emplace_back();
  p.name = name;
  p.type = type;
  p.count = count;
  p.value.clear();
  p.lists.clear();
  return p;
}

}  // namespace

const NvPair* NvList::find(std::string_view name) const {
  for (const auto& p : pairs)
    if (p.name == name) return &p;
  return nullptr;
}

std::optional<uint64_t> NvList::number(std::string_view name) const {
  const NvPair* p = find(name);
  if (!p || p->type != kNvUint64 || p->count != 1 || p->value.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : p->value) v = v << 8 | static_cast<unsigned char>(c);
  return v;
}

std::optional<std::vector<uint64_t>> NvList::numbers(std::string_view name) const {
  const NvPair* p = find(name);
  // xdr_array: the element count, then each element as an XDR hyper.
  if (!p || p->type != kNvUint64Array || p->value.size() != 4 + uint64_t{p->count} * 8)
    return std::nullopt;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(p->value[i]); };
  const uint32_t n =
      uint32_t{byte(0)} << 24 | uint32_t{byte(1)} << 16 | uint32_t{byte(2)} << 8 | byte(3);
  if (n != p->count) return std::nullopt;
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n; ++i) {
    uint64_t v = 0;
    for (size_t b = 0; b < 8; ++b) v = v << 8 | byte(4 + i * 8 + b);
    out.push_back(v);
  }
  return out;
}

std::optional<std::string> NvList::text(std::string_view name) const {
  const NvPair* p = find(name);
  if (!p || p->type != kNvString || p->count != 1) return std::nullopt;
  Reader r(p->value, 0);
  std::string s;
  if (!r.str(s)) return std::nullopt;
  return s;
}

const NvList* NvList::list(std::string_view name) const {
  const NvPair* p = find(name);
  return p && p->type == kNvNvlist && p->lists.size() == 1 ? &p->lists.front() : nullptr;
}

const std::vector<NvList>* NvList::lists(std::string_view name) const {
  const NvPair* p = find(name);
  return p && p->type == kNvNvlistArray ? &p->lists : nullptr;
}

std::vector<NvList>* NvList::lists(std::string_view name) {
  return const_cast<std::vector<NvList>*>(std::as_const(*this).lists(name));
}

void NvList::set_number(const std::string& name, uint64_t value) {
  NvPair& p = reset(*this, name, kNvUint64, 1);
  put_u32(p.value, static_cast<uint32_t>(value >> 32));
  put_u32(p.value, static_cast<uint32_t>(value));
  p.decoded_size = native_size(name, 8);
}

void NvList::set_text(const std::string& name, const std::string& value) {
  NvPair& p = reset(*this, name, kNvString, 1);
  p.value = xdr_string(value);
  p.decoded_size = native_size(name, value.size() + 1);
}

void NvList::set_list(const std::string& name, NvList value) {
  NvPair& p = reset(*this, name, kNvNvlist, 1);
  p.lists.push_back(std::move(value));
  p.decoded_size = native_size(name, kNativeNvlist);
}

void NvList::set_lists(const std::string& name, std::vector<NvList> value) {
  NvPair& p = reset(*this, name, kNvNvlistArray, static_cast<uint32_t>(value.size()));
  p.lists = std::move(value);
  // a pointer and an nvlist_t per element
  p.decoded_size = native_size(name, uint64_t{p.count} * (8 + kNativeNvlist));
}

void NvList::erase(std::string_view name) {
  pairs.erase(
      std::remove_if(pairs.begin(), pairs.end(), [&](const NvPair& p) { return p.name == name; }),
      pairs.end());
}

std::optional<NvList> parse_xdr_nvlist(std::string_view bytes) {
  // nvs_header_t: encoding (1: XDR), endianness, two reserved bytes.
  if (bytes.size() < 4 || bytes[0] != 1) return std::nullopt;
  Reader r(bytes, 4);
  NvList list;
  if (!parse_list(r, list, 0)) return std::nullopt;
  return list;
}

std::string pack_xdr_nvlist(const NvList& list) {
  // Host byte order is recorded for native encodings only; XDR is always big-endian, and
  // nvlist_pack writes the host's flag (little-endian x86: 1) all the same.
  std::string out("\x01\x01\x00\x00", 4);
  pack_list(list, out);
  return out;
}

}  // namespace zinitrd::rt
