// dev_links.cc: making the /dev/disk/by-* links labels name (see dev_links.h).
#include "dev_links.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "util.h"

namespace zinitrd::rt {
namespace {

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev;
}

}  // namespace

bool creatable_dev_link(const std::string& recorded) {
  const std::string prefix = "/dev/disk/by-";
  if (recorded.compare(0, prefix.size(), prefix) != 0 || recorded.size() > 1024) return false;
  size_t slashes = 0;
  for (char c : recorded) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '-' || c == '_' || c == '.' || c == ':' || c == '+' ||
                    c == '@' || c == '=' || c == ',' || c == '#' || c == '%' || c == '\\';
    if (!ok) return false;
    slashes += c == '/';
  }
  if (slashes != 4 || recorded.back() == '/') return false;  // /dev/disk/by-KIND/NAME
  for (size_t pos = 0; pos != std::string::npos;) {
    size_t next = recorded.find('/', pos + 1);
    std::string part = recorded.substr(pos + 1, next == std::string::npos ? next : next - pos - 1);
    if (part.empty() || part == "." || part == "..") return false;
    pos = next;
  }
  return true;
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
