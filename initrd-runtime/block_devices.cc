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
    BlockDevice d{name, dev_dir + "/" + name, "", size};
    std::string major, minor;
    if (auto uevent = read_file(sys_block + "/" + name + "/uevent", 4096)) {
      for (const auto& line : split_all(*uevent, '\n')) {
        if (starts_with(line, "DEVNAME=")) d.path = dev_dir + "/" + line.substr(8);
        if (starts_with(line, "MAJOR=")) major = line.substr(6);
        if (starts_with(line, "MINOR=")) minor = line.substr(6);
      }
    }
    if (!major.empty() && !minor.empty()) d.devnum = major + ":" + minor;
    out.push_back(std::move(d));
  }
  ::closedir(dir);
  return out;
}

std::string read_start(const std::string& path, size_t len) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  std::string buf(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd.get(), buf.data() + got, len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace zinitrd::rt
