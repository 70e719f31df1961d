// xdr_nvlist.h: OpenZFS nvlists in their XDR encoding, read and written back.
//
// Vdev labels carry their config as an XDR-packed nvlist (nvpair.c's nvs_xdr), and the kernel's
// ioctls accept one in that encoding as well as the native one (nvlist_unpack reads the encoding
// from the stream's header). /init reads labels with this, and hands the import ioctl a config
// assembled from them (zfs_import_ioctl.h). Pairs it does not interpret (arrays, booleans, other
// scalars) are kept as their encoded bytes and written back unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zinitrd::rt {

struct NvPair;

/// One nvlist: its header words and its pairs, in stream order.
struct NvList {
  int32_t version = 0;  ///< nvl_version (NV_VERSION, 0)
  uint32_t flags = 1;   ///< nvl_nvflag (NV_UNIQUE_NAME)
  std::vector<NvPair> pairs;

  const NvPair* find(std::string_view name) const;
  /// The value of a uint64 / string pair named NAME; nullopt when absent or of another type.
  std::optional<uint64_t> number(std::string_view name) const;
  std::optional<std::string> text(std::string_view name) const;
  /// The values of a uint64 array pair named NAME; nullopt when absent or of another type.
  std::optional<std::vector<uint64_t>> numbers(std::string_view name) const;
  /// The embedded nvlist / nvlist array named NAME; null when absent or of another type.
  const NvList* list(std::string_view name) const;
  const std::vector<NvList>* lists(std::string_view name) const;
  std::vector<NvList>* lists(std::string_view name);

  /// Replace (in place) or append a pair.
  void set_number(const std::string& name, uint64_t value);
  void set_text(const std::string& name, const std::string& value);
  void set_list(const std::string& name, NvList value);
  void set_lists(const std::string& name, std::vector<NvList> value);
  void erase(std::string_view name);
};

/// One pair: for nvlist types the embedded lists, for every other type the value's XDR bytes.
struct NvPair {
  std::string name;
  uint32_t type = 0;          ///< data_type_t
  uint32_t count = 0;         ///< nvp_value_elem
  uint32_t decoded_size = 0;  ///< the pair's native size, which the decoder allocates and checks
  std::string value;          ///< XDR bytes of the value (not nvlist types)
  std::vector<NvList> lists;  ///< DATA_TYPE_NVLIST (one) or DATA_TYPE_NVLIST_ARRAY
};

/// data_type_t values of nvpair.h that zinitrd reads or writes.
constexpr uint32_t kNvBoolean = 1, kNvUint64 = 8, kNvString = 9, kNvUint64Array = 16,
                   kNvNvlist = 19, kNvNvlistArray = 20;

/// Parses BYTES (a packed nvlist: the 4-byte nvs_header_t, then the list) when it is XDR-encoded;
/// nullopt when it is not, or does not parse (bounded: never reads past BYTES, nesting <= 16).
std::optional<NvList> parse_xdr_nvlist(std::string_view bytes);

/// LIST packed as nvlist_pack(NV_ENCODE_XDR) does: header, pairs, terminators.
std::string pack_xdr_nvlist(const NvList& list);

}  // namespace zinitrd::rt
