// host_only.cc: see host_only.h.
#include "host_only.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "process.h"
#include "text.h"

namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

// A suspended pool blocks zpool; a kernel upgrade hook must end all the same.
constexpr int64_t kZpoolTimeoutMs = 30'000;

// /proc/mounts escapes space, tab, newline and backslash as octal (\040...).
std::string unescape_mount_field(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 3)), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

void add_unique(std::vector<std::string>& v, std::string s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

Result<std::string> zfs_pool_mounted_at(std::string_view mounts_text, std::string_view mountpoint) {
  auto dataset = zfs_dataset_mounted_at(mounts_text, mountpoint);
  if (!dataset) return dataset.error();
  return dataset->substr(0, dataset->find('/'));
}

Result<std::string> zfs_dataset_mounted_at(std::string_view mounts_text,
                                           std::string_view mountpoint) {
  std::istringstream in{std::string(mounts_text)};
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string src, dir, type;
    if (!(f >> src >> dir >> type)) continue;
    if (unescape_mount_field(dir) == mountpoint)
      found = type == "zfs" ? unescape_mount_field(src) : "";
  }
  if (found.empty())
    return Error::msg("'" + std::string(mountpoint) +
                      "' is not a mounted ZFS dataset on this host");
  return found;
}

std::vector<std::string> parse_zpool_vdevs(std::string_view output) {
  std::vector<std::string> out;
  std::istringstream in{std::string(output)};
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] != '/') continue;
    add_unique(out, line.substr(b, line.find('\t', b) - b));
  }
  return out;
}

Status collect_device_drivers(const std::string& sysfs, dev_t dev, DeviceDrivers& out) {
  fs::path link = fs::path(sysfs) / "dev/block" /
                  (std::to_string(major(dev)) + ":" + std::to_string(minor(dev)));
  std::error_code ec;
  fs::path node = fs::canonical(link, ec);
  if (ec) return Error::sys("resolve", link.string(), ec.value());
  fs::path devices = fs::path(sysfs) / "devices";
  // Up from the block device to /sys/devices, like udev's parent walk.
  for (fs::path p = node; p.string().size() > devices.string().size(); p = p.parent_path()) {
    add_unique(out.modaliases, read_line(p / "modalias"));
    fs::path module = fs::read_symlink(p / "driver/module", ec);
    if (!ec) add_unique(out.modules, module.filename().string());
    if (!p.has_parent_path() || p == p.parent_path()) break;
  }
  return Ok{};
}

std::vector<std::string> parse_proc_modules(std::string_view text) {
  std::vector<std::string> names;
  for (const std::string& line : split_all(text, '\n')) {
    std::string name = line.substr(0, line.find(' '));
    std::replace(name.begin(), name.end(), '-', '_');
    if (!name.empty()) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Result<DeviceDrivers> root_pool_drivers(const std::string& root_dir) {
  auto fail = [](std::string why) {
    return Error::msg("--host-only: " + why +
                      "; build a generic image instead (without --host-only)");
  };
  std::ifstream mounts("/proc/self/mounts");
  std::stringstream text;
  text << mounts.rdbuf();
  std::error_code ec;
  std::string mountpoint = fs::canonical(root_dir, ec).string();
  auto pool = zfs_pool_mounted_at(text.str(), ec ? root_dir : mountpoint);
  if (!pool) return fail(pool.error().message);

  const std::vector<std::string> argv{"zpool", "list", "-vHPL", *pool};
  CommandOptions options;
  options.timeout_ms = kZpoolTimeoutMs;
  options.merge_stderr = true;
  CommandOutput zpool = run_command(argv, options);
  if (!zpool.ok())
    return fail("`" + format_command(argv) + "` " + zpool.describe() +
                (trim(zpool.out).empty() ? "" : ": " + std::string(trim(zpool.out))));

  DeviceDrivers drivers;
  auto vdevs = parse_zpool_vdevs(zpool.out);
  if (vdevs.empty()) return fail("pool '" + *pool + "' lists no device vdevs");
  for (const auto& v : vdevs) {
    struct stat st;
    if (::stat(v.c_str(), &st) != 0) return fail(Error::sys("stat", v, errno).message);
    if (!S_ISBLK(st.st_mode)) return fail(v + " is not a block device (file vdevs need no driver)");
    // A dm-crypt (or md, LVM) vdev: the drivers are those of the disks under it.
    std::vector<dev_t> leaves;
    if (auto s = collect_stacked_devices("/sys", st.st_rdev, leaves, drivers.luks); !s)
      return fail(s.error().message);
    for (dev_t leaf : leaves)
      if (auto s = collect_device_drivers("/sys", leaf, drivers); !s)
        return fail(s.error().message);
  }
  std::ifstream proc_modules("/proc/modules");
  std::stringstream loaded;
  loaded << proc_modules.rdbuf();
  drivers.loaded = parse_proc_modules(loaded.str());
  return drivers;
}

}  // namespace zinitrd::gen
