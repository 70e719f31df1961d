// zfs_member.cc: ZFS label detection (see zfs_member.h).
#include "zfs_member.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "block_devices.h"
#include "fd.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

// The label slots' offsets on a device of SIZE bytes (vdev_label_offset(): the two at the end
// sit on a 256 KiB boundary).
std::vector<uint64_t> label_offsets(uint64_t size) {
  std::vector<uint64_t> out{0, kVdevLabelSize};
  const uint64_t aligned = size / kVdevLabelSize * kVdevLabelSize;
  if (aligned >= 4 * kVdevLabelSize) {
    out.push_back(aligned - 2 * kVdevLabelSize);
    out.push_back(aligned - kVdevLabelSize);
  }
  return out;
}

}  // namespace

bool is_zfs_member_label(std::string_view bytes) {
  // nvs_header_t: encoding NV_ENCODE_XDR (1), then the writer's endianness (0 or 1).
  if (bytes.size() < 8 || bytes[0] != 1 || (bytes[1] != 0 && bytes[1] != 1)) return false;
  return bytes.find("pool_guid") != std::string_view::npos;
}

bool is_zfs_aux_label(std::string_view bytes) {
  if (bytes.size() < 8 || bytes[0] != 1 || (bytes[1] != 0 && bytes[1] != 1)) return false;
  if (bytes.find("pool_guid") != std::string_view::npos) return false;
  return bytes.find("state") != std::string_view::npos &&
         bytes.find("guid") != std::string_view::npos;
}

std::vector<std::string> read_label_slots(const std::string& path, uint64_t size) {
  std::vector<std::string> out;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return out;
  for (uint64_t off : label_offsets(size)) {
    std::string buf(kDeviceProbeBytes, '\0');
    ssize_t n =
        ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(off + kLabelNvlistOffset));
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    out.push_back(std::move(buf));
  }
  return out;
}

namespace {

bool any_slot(const std::vector<std::string>& slots, bool (*kind)(std::string_view)) {
  return std::any_of(slots.begin(), slots.end(), [&](const std::string& s) { return kind(s); });
}

// The whole disk a partition under SYS_BLOCK belongs to ("" for a whole disk): sysfs keeps a
// partition's directory inside its disk's.
std::string disk_of(const std::string& sys_block, const std::string& name) {
  const std::string dir = sys_block + "/" + name;
  if (!path_exists(dir + "/partition")) return "";
  char resolved[PATH_MAX];
  if (!::realpath(dir.c_str(), resolved)) return "";
  std::string parent = resolved;
  parent = parent.substr(0, parent.rfind('/'));
  return parent.substr(parent.rfind('/') + 1);
}

// The devices under SYS_BLOCK whose label KIND accepts, whole disks of labelled partitions left
// out (zfs_member.h).
std::vector<MemberDevice> labelled_devices(const std::string& sys_block, const std::string& dev_dir,
                                           bool (*kind)(std::string_view), DeviceProbe& probe) {
  struct Found {
    std::string name, disk;
    MemberDevice device;
  };
  std::vector<BlockDevice> devices;
  for (BlockDevice& d : block_devices(sys_block, dev_dir))
    if (d.size >= 2 * kVdevLabelSize) devices.push_back(std::move(d));
  std::vector<Found> found;
  for (const ScannedDevice& p : scan_devices(devices, probe))
    if (any_slot(p.label_slots, kind))
      found.push_back(
          {p.device.name, disk_of(sys_block, p.device.name), {p.device.path, p.device.size}});
  std::vector<MemberDevice> out;
  for (const auto& f : found) {
    const bool has_labelled_partition =
        std::any_of(found.begin(), found.end(), [&](const Found& p) { return p.disk == f.name; });
    if (!has_labelled_partition) out.push_back(f.device);
  }
  std::sort(out.begin(), out.end(),
            [](const MemberDevice& a, const MemberDevice& b) { return a.path < b.path; });
  return out;
}

}  // namespace

bool has_zfs_label(const std::string& path, uint64_t size) {
  return any_slot(read_label_slots(path, size), is_zfs_member_label);
}

std::vector<MemberDevice> zfs_member_devices(const std::string& sys_block,
                                             const std::string& dev_dir, DeviceProbe& probe) {
  return labelled_devices(sys_block, dev_dir, is_zfs_member_label, probe);
}

std::vector<MemberDevice> zfs_aux_devices(const std::string& sys_block, const std::string& dev_dir,
                                          DeviceProbe& probe) {
  return labelled_devices(sys_block, dev_dir, is_zfs_aux_label, probe);
}

}  // namespace zinitrd::rt
