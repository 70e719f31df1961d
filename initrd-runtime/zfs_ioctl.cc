// zfs_ioctl.cc: one /dev/zfs ioctl (see zfs_ioctl.h).
#include "zfs_ioctl.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace zinitrd::rt {
namespace {
constexpr size_t kZfsCmdBuffer = 64 << 10;  // any release's zfs_cmd_t (about 14 KiB) fits
}  // namespace

Fd open_zfs_device() { return Fd(::open("/dev/zfs", O_RDWR | O_CLOEXEC)); }

Status zfs_ioctl(int fd, unsigned long request, ZfsCmd& cmd, const char* what,
                 const std::string& name) {
  std::vector<char> buffer(kZfsCmdBuffer, '\0');
  std::memcpy(buffer.data(), &cmd, sizeof(cmd));
  const int rc = ::ioctl(fd, request, buffer.data());
  const int e = errno;
  std::memcpy(&cmd, buffer.data(), sizeof(cmd));
  if (rc != 0) return Error::sys(what, name, e);
  return Ok{};
}

}  // namespace zinitrd::rt
