// luks_header.h: recognising a LUKS device by its first bytes, without udev or blkid.
//
// Both LUKS versions start with the magic "LUKS\xba\xbe" and a big-endian version (1 or 2) at
// offset 6, and keep the UUID as 40 bytes of text at offset 168 (cryptsetup's docs/on-disk-format
// and on-disk-format-luks2). LUKS1 names its cipher at 8 (name) and 40 (mode) and its hash at 72;
// LUKS2 keeps a label at 24 and describes keyslots and segments in the JSON area that follows
// the 4 KiB binary header, where every cipher is an `"encryption":"aes-xts-plain64"` value.
// The runtime reads a device's first bytes, finds the crypttab entry whose UUID or label
// matches, and loads the kernel modules its ciphers need before `cryptsetup open`: /init has no
// modprobe to serve the kernel's own module requests.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zinitrd {

/// Bytes to read from a device to see its header: the binary header and the JSON area of the
/// default LUKS2 metadata size (16 KiB).
inline constexpr size_t kLuksProbeBytes = 16384;

/// What a LUKS header says about its device.
struct LuksHeader {
  int version = 0;                   ///< 1 or 2
  std::string uuid;                  ///< lower-case, as `cryptsetup luksUUID` prints it
  std::string label;                 ///< LUKS2 label, "" when none (LUKS1 has none)
  std::vector<std::string> ciphers;  ///< "aes-xts-plain64"..., each once
  /// hash names ("sha256"): the PBKDF's run in cryptsetup itself, but an ESSIV IV
  /// (aes-cbc-essiv:sha256) needs the kernel's
  std::vector<std::string> hashes;
};

/// Parses the first bytes of a device (at least 592 for LUKS1, 4096 + the JSON for LUKS2
/// ciphers); nullopt when they are not a LUKS header. Never reads past BYTES (pure).
std::optional<LuksHeader> parse_luks_header(std::string_view bytes);

/// The kernel modules that may provide what dm-crypt needs for CIPHER ("aes-xts-plain64",
/// "aes-cbc-essiv:sha256", "capi:xts(aes)-plain64"): the cipher's generic and accelerated
/// modules, the mode's template (xts needs ecb too), an ESSIV IV's hash. Candidates only: the
/// loader skips those the image does not carry (built in, or another architecture) (pure).
std::vector<std::string> luks_cipher_modules(std::string_view cipher);

}  // namespace zinitrd
