// native_nvlist.h: reading OpenZFS nvlists in their native encoding, the one the kernel's ioctl
// replies use (zfs_ioctl.c's put_nvlist packs with NV_ENCODE_NATIVE).
//
// The native encoding is the in-memory nvpair_t of each pair copied out: a 16-byte header (size,
// name size, value count, type), the name, the value 8-byte aligned; an embedded nvlist's pairs
// follow the pair that holds it, and every list ends with four zero bytes (nvpair.c, nvs_native).
// Values are in the packing machine's byte order, which the stream's header names.
#pragma once

#include <optional>
#include <string_view>

#include "xdr_nvlist.h"

namespace zinitrd::rt {

/// Parses BYTES (a packed nvlist: the 4-byte nvs_header_t, then the list) when it is natively
/// encoded in this machine's byte order. uint64, string, nvlist and nvlist-array pairs read as
/// parse_xdr_nvlist gives them (NvList::number, text, list, lists); other pairs keep their name,
/// type and count but no value: a list read this way is for reading, not for packing again.
/// nullopt when BYTES is not such a list or does not parse (bounded: never reads past BYTES,
/// nesting <= 16).
std::optional<NvList> parse_native_nvlist(std::string_view bytes);

}  // namespace zinitrd::rt
