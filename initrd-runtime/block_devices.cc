// block_devices.cc: the machine's block devices (see block_devices.h).
#include "block_devices.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "fd.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

bool skipped_name(std::string_view name) {
  return starts_with(name, "ram") || starts_with(name, "loop") || starts_with(name, "zd") ||
         starts_with(name, "sr") || starts_with(name, "fd");
}

// The value of KEY= in UEVENT, empty when absent.
std::string uevent_value(const std::string& uevent, std::string_view key) {
  for (const auto& line : split_all(uevent, '\n'))
    if (line.size() > key.size() && starts_with(line, key) && line[key.size()] == '=')
      return line.substr(key.size() + 1);
  return {};
}

}  // namespace

std::vector<BlockDevice> block_devices(const std::string& sys_block, const std::string& dev_dir) {
  std::vector<BlockDevice> out;
  DIR* dir = ::opendir(sys_block.c_str());
  if (!dir) return out;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || skipped_name(name)) continue;
    auto sectors = read_file(sys_block + "/" + name + "/size", 64);
    if (!sectors) continue;
    const uint64_t size = strtoull(std::string(trim(*sectors)).c_str(), nullptr, 10) * 512;
    if (size == 0) continue;  // no medium
    BlockDevice d;
    d.name = name;
    d.path = dev_dir + "/" + name;
    d.size = size;
    if (auto uevent = read_file(sys_block + "/" + name + "/uevent", 4096)) {
      if (auto devname = uevent_value(*uevent, "DEVNAME"); !devname.empty())
        d.path = dev_dir + "/" + devname;
      const std::string major = uevent_value(*uevent, "MAJOR");
      const std::string minor = uevent_value(*uevent, "MINOR");
      if (!major.empty() && !minor.empty()) d.devnum = major + ":" + minor;
      d.partn = static_cast<unsigned>(strtoul(uevent_value(*uevent, "PARTN").c_str(), nullptr, 10));
      d.partname = uevent_value(*uevent, "PARTNAME");
    }
    out.push_back(std::move(d));
  }
  ::closedir(dir);
  return out;
}

std::optional<PartitionDisk> partition_disk(const std::string& name, const std::string& sys_block,
                                            const std::string& dev_dir) {
  // /sys/class/block/sda2 links to .../block/sda/sda2: the directory above is the disk's.
  char* real = ::realpath((sys_block + "/" + name + "/..").c_str(), nullptr);
  if (!real) return std::nullopt;
  const std::string disk_dir = real;
  std::free(real);
  auto uevent = read_file(disk_dir + "/uevent", 4096);
  const std::string devname = uevent ? uevent_value(*uevent, "DEVNAME") : "";
  if (devname.empty()) return std::nullopt;
  PartitionDisk disk{dev_dir + "/" + devname};
  if (auto lbs = read_file(disk_dir + "/queue/logical_block_size", 64)) {
    unsigned v = static_cast<unsigned>(strtoul(std::string(trim(*lbs)).c_str(), nullptr, 10));
    if (v >= 512) disk.sector = v;
  }
  return disk;
}

std::string read_start(const std::string& path, size_t len) { return read_at(path, 0, len); }

std::string read_at(const std::string& path, uint64_t offset, size_t len) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  std::string buf(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd.get(), buf.data() + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace zinitrd::rt
