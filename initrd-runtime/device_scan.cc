// device_scan.cc: the block devices as the scans read them (see device_scan.h).
#include "device_scan.h"

#include "luks_header.h"
#include "zfs_member.h"

namespace zinitrd::rt {

static_assert(kDeviceStartBytes >= kLuksProbeBytes, "the start read must hold a LUKS probe");

std::vector<std::string> read_device_regions(const BlockDevice& d) {
  auto slots = read_label_slots(d.path, d.size);
  if (slots.empty()) return {};  // cannot be opened (yet): no answer to keep
  std::vector<std::string> out{read_at(d.path, 0, kDeviceStartBytes)};
  for (auto& slot : slots) out.push_back(std::move(slot));
  return out;
}

DeviceProbe& device_scan_probe() {
  static DeviceProbe probe(read_device_regions);
  return probe;
}

std::vector<ScannedDevice> scan_devices(const std::vector<BlockDevice>& devices,
                                        DeviceProbe& probe) {
  std::vector<ScannedDevice> out;
  for (auto& p : probe.read(devices)) {
    ScannedDevice s{std::move(p.device), {}, {}};
    if (!p.slots.empty()) {
      s.start = std::move(p.slots[0]);
      s.label_slots.assign(std::make_move_iterator(p.slots.begin() + 1),
                           std::make_move_iterator(p.slots.end()));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace zinitrd::rt
