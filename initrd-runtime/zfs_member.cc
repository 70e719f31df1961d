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

namespace {

bool any_label(const std::string& path, uint64_t size, bool (*kind)(std::string_view)) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return false;
  std::string buf(kLabelProbeBytes, '\0');
  for (uint64_t off : label_offsets(size)) {
    ssize_t n =
        ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(off + kLabelNvlistOffset));
    if (n <= 0) continue;
    if (kind(std::string_view(buf.data(), static_cast<size_t>(n)))) return true;
  }
  return false;
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
                                           bool (*kind)(std::string_view)) {
  struct Found {
    std::string name, disk;
    MemberDevice device;
  };
  std::vector<Found> found;
  for (const BlockDevice& d : block_devices(sys_block, dev_dir)) {
    if (d.size < 2 * kVdevLabelSize) continue;
    if (any_label(d.path, d.size, kind))
      found.push_back({d.name, disk_of(sys_block, d.name), {d.path, d.size}});
  }
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
  return any_label(path, size, is_zfs_member_label);
}

std::vector<MemberDevice> zfs_member_devices(const std::string& sys_block,
                                             const std::string& dev_dir) {
  return labelled_devices(sys_block, dev_dir, is_zfs_member_label);
}

std::vector<MemberDevice> zfs_aux_devices(const std::string& sys_block,
                                          const std::string& dev_dir) {
  return labelled_devices(sys_block, dev_dir, is_zfs_aux_label);
}

}  // namespace zinitrd::rt
