// luks_header.cc: see luks_header.h.
#include "luks_header.h"

#include <algorithm>

namespace zinitrd {
namespace {

constexpr std::string_view kMagic("LUKS\xba\xbe", 6);
constexpr size_t kVersionOffset = 6;
constexpr size_t kLuks1CipherName = 8, kLuks1CipherMode = 40, kLuks1Hash = 72;
constexpr size_t kLuks2Label = 24;
constexpr size_t kUuidOffset = 168, kUuidSize = 40;
constexpr size_t kLuks1HeaderSize = 592;
constexpr size_t kLuks2BinarySize = 4096;

// A NUL-padded text field of SIZE bytes at OFFSET.
std::string field(std::string_view bytes, size_t offset, size_t size) {
  std::string_view f = bytes.substr(offset, size);
  return std::string(f.substr(0, f.find('\0')));
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// Every string value of KEY ("encryption", "hash") in the JSON text. The metadata is written by
// cryptsetup without blanks; a value never contains a quote.
std::vector<std::string> json_values(std::string_view json, std::string_view key) {
  std::vector<std::string> out;
  std::string needle = "\"" + std::string(key) + "\":\"";
  for (size_t p = json.find(needle); p != std::string_view::npos; p = json.find(needle, p)) {
    p += needle.size();
    size_t end = json.find('"', p);
    if (end == std::string_view::npos) break;
    add_unique(out, std::string(json.substr(p, end - p)));
    p = end;
  }
  return out;
}

bool plausible_uuid(std::string_view u) {
  if (u.empty()) return false;
  return std::all_of(u.begin(), u.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
  });
}

}  // namespace

std::optional<LuksHeader> parse_luks_header(std::string_view bytes) {
  if (bytes.size() < kLuks1HeaderSize || bytes.substr(0, kMagic.size()) != kMagic)
    return std::nullopt;
  LuksHeader h;
  h.version = (static_cast<unsigned char>(bytes[kVersionOffset]) << 8) |
              static_cast<unsigned char>(bytes[kVersionOffset + 1]);
  if (h.version != 1 && h.version != 2) return std::nullopt;
  h.uuid = lower(field(bytes, kUuidOffset, kUuidSize));
  if (!plausible_uuid(h.uuid)) return std::nullopt;
  if (h.version == 1) {
    std::string name = field(bytes, kLuks1CipherName, 32),
                mode = field(bytes, kLuks1CipherMode, 32);
    if (!name.empty()) add_unique(h.ciphers, mode.empty() ? name : name + "-" + mode);
    add_unique(h.hashes, field(bytes, kLuks1Hash, 32));
  } else {
    h.label = field(bytes, kLuks2Label, 48);
    if (bytes.size() > kLuks2BinarySize) {
      std::string_view json = bytes.substr(kLuks2BinarySize);
      json = json.substr(0, json.find('\0'));
      h.ciphers = json_values(json, "encryption");
      h.hashes = json_values(json, "hash");
    }
  }
  return h;
}

std::vector<std::string> luks_cipher_modules(std::string_view spec) {
  std::vector<std::string> out;
  auto add_hash = [&](std::string_view hash) {
    if (hash.empty()) return;
    std::string h(hash);
    add_unique(out, h + "_generic");
    if (h == "sha1" || h == "sha256" || h == "sha512") add_unique(out, h + "_ssse3");
    if (h == "ripemd160") add_unique(out, "rmd160");
    if (h == "whirlpool") add_unique(out, "wp512");
  };
  auto add_cipher = [&](std::string_view cipher) {
    std::string c(cipher);
    if (c.substr(0, 7) == "xchacha" || c.substr(0, 6) == "chacha") c = "chacha";
    add_unique(out, c + "_generic");
    add_unique(out, c);
    if (c == "chacha") add_unique(out, "chacha_x86_64");
    if (c == "aes") add_unique(out, "aesni_intel");
    if (c == "serpent")
      for (const char* m : {"serpent_avx2", "serpent_avx_x86_64", "serpent_sse2_x86_64"})
        add_unique(out, m);
    if (c == "twofish")
      for (const char* m : {"twofish_x86_64", "twofish_x86_64_3way", "twofish_avx_x86_64"})
        add_unique(out, m);
    if (c == "camellia")
      for (const char* m : {"camellia_x86_64", "camellia_aesni_avx_x86_64", "camellia_aesni_avx2"})
        add_unique(out, m);
  };
  auto add_mode = [&](std::string_view mode) {
    std::string m(mode);
    add_unique(out, m);
    if (m == "xts" || m == "lrw") add_unique(out, "ecb");  // both build on ecb(cipher)
  };
  std::string_view s = spec;
  std::string_view iv;
  if (s.substr(0, 5) == "capi:") {
    // capi:MODE(CIPHER)-IV, e.g. capi:xts(aes)-plain64 or capi:cbc(aes)-essiv:sha256.
    s.remove_prefix(5);
    size_t dash = s.rfind(')');
    if (dash != std::string_view::npos && dash + 1 < s.size() && s[dash + 1] == '-')
      iv = s.substr(dash + 2);
    s = s.substr(0, dash == std::string_view::npos ? s.size() : dash + 1);
    while (!s.empty()) {
      size_t open = s.find('(');
      if (open == std::string_view::npos) {
        add_cipher(s.substr(0, s.find(')')));
        break;
      }
      add_mode(s.substr(0, open));
      s = s.substr(open + 1);
    }
  } else {
    // CIPHER-MODE-IV, e.g. aes-xts-plain64, aes-cbc-essiv:sha256, xchacha12,aes-adiantum-plain64.
    size_t d1 = s.find('-');
    std::string_view cipher = s.substr(0, d1);
    std::string_view rest = d1 == std::string_view::npos ? std::string_view() : s.substr(d1 + 1);
    size_t d2 = rest.find('-');
    std::string_view mode = rest.substr(0, d2);
    iv = d2 == std::string_view::npos ? std::string_view() : rest.substr(d2 + 1);
    for (size_t c = cipher.find(','); c != std::string_view::npos; c = cipher.find(',')) {
      add_cipher(cipher.substr(0, c));  // adiantum's stream cipher comes first
      cipher = cipher.substr(c + 1);
    }
    if (!cipher.empty()) add_cipher(cipher);
    if (!mode.empty()) add_mode(mode);
    if (mode == "adiantum") add_unique(out, "nhpoly1305");
  }
  if (iv.substr(0, 6) == "essiv:") {
    add_unique(out, "essiv");
    add_hash(iv.substr(6));
  }
  return out;
}

}  // namespace zinitrd
