// dev_links.cc: making the /dev/disk/by-* links labels name (see dev_links.h).
#include "dev_links.h"

#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

namespace zinitrd::rt {
namespace {

// Whether A and B (after links) are the same file, or nodes of the same block device: a
// dm-crypt mapping is both /dev/dm-0 and /dev/mapper/NAME, two nodes that cryptsetup and the
// kernel make apart (without udev, /dev/mapper/NAME is no link to /dev/dm-0).
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)) return sa.st_rdev == sb.st_rdev;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev;
}

}  // namespace

bool creatable_dev_link(const std::string& recorded) {
  if (recorded.size() > 1024) return false;
  for (char c : recorded) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' ||
                    c == '@' || c == '=' || c == ',' || c == '#' || c == '%' || c == '\\';
    if (!ok) return false;
  }
  // "", "dev", "disk", "by-KIND", "NAME"
  const auto parts = split_all(recorded, '/');
  return parts.size() == 5 && parts[0].empty() && parts[1] == "dev" && parts[2] == "disk" &&
         parts[3].size() > 3 && parts[3].compare(0, 3, "by-") == 0 && !parts[4].empty() &&
         parts[4] != "." && parts[4] != "..";
}

std::string leaf_device_path(const std::string& recorded, const std::string& device,
                             const std::string& root) {
  if (recorded == device) return device;
  if (!recorded.empty() && recorded[0] == '/' && same_file(root + recorded, root + device))
    return recorded;  // already there (a udev link, or the same node under another name)
  if (!creatable_dev_link(recorded) || device.compare(0, 5, "/dev/") != 0) return device;
  struct stat st;
  if (::lstat((root + recorded).c_str(), &st) == 0) return device;  // it leads elsewhere
  const std::string dir = recorded.substr(0, recorded.rfind('/'));
  if (!make_dirs(root + dir)) return device;
  // As udev writes them: relative to the link's directory (/dev/disk/by-id -> ../../sda3).
  const std::string target = "../../" + device.substr(5);
  if (::symlink(target.c_str(), (root + recorded).c_str()) != 0) return device;
  if (same_file(root + recorded, root + device)) return recorded;
  ::unlink((root + recorded).c_str());
  return device;
}

}  // namespace zinitrd::rt
