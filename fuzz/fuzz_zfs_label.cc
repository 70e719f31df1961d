// fuzz_zfs_label.cc: the runtime's reader of vdev labels (any disk attached at boot, a USB stick
// included, offers one) and the import config built from it. Invariants beyond "no crash": what
// parses packs back into a stream that parses to the same bytes again, a label that parses
// yields an import config that packs and parses, and a hot spare's or cache device's label is
// never taken for a member's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "xdr_nvlist.h"
#include "zfs_import_ioctl.h"
#include "zfs_label.h"

using namespace zinitrd::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto list = parse_xdr_nvlist(bytes)) {
    const std::string packed = pack_xdr_nvlist(*list);
    auto again = parse_xdr_nvlist(packed);
    if (!again || pack_xdr_nvlist(*again) != packed) std::abort();
  }
  if (auto label = parse_zfs_label(bytes)) {
    const uint64_t pool = label->pool_guid;
    std::vector<LabelledDevice> devices{{"/dev/sda1", std::move(*label)}};
    if (auto config = import_config(devices, pool))
      if (!parse_xdr_nvlist(pack_xdr_nvlist(*config))) std::abort();
  }
  if (parse_aux_label(bytes) && parse_zfs_label(bytes)) std::abort();
  return 0;
}
