// zfs_ioctl.cc: one /dev/zfs ioctl (see zfs_ioctl.h).
#include "zfs_ioctl.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "native_nvlist.h"

namespace zinitrd::rt {
namespace {
constexpr size_t kZfsCmdBuffer = 64 << 10;      // any release's zfs_cmd_t (about 14 KiB) fits
constexpr size_t kFirstReplyBuffer = 16 << 10;  // a dataset's properties are a few KiB
constexpr size_t kMaxReplyBuffer = 16 << 20;
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

Result<NvList> zfs_ioctl_nvlist(int fd, unsigned long request, ZfsCmd& cmd, const char* what,
                                const std::string& name, std::string& reply) {
  const ZfsCmd request_cmd = cmd;
  if (reply.empty()) reply.resize(kFirstReplyBuffer);
  for (;;) {
    cmd = request_cmd;
    cmd.nvlist_dst = reinterpret_cast<uintptr_t>(reply.data());
    cmd.nvlist_dst_size = reply.size();
    auto st = zfs_ioctl(fd, request, cmd, what, name);
    if (!st && st.error().errnum == ENOMEM && cmd.nvlist_dst_size > reply.size() &&
        cmd.nvlist_dst_size <= kMaxReplyBuffer) {
      reply.resize(cmd.nvlist_dst_size);
      continue;
    }
    if (!st) return st.error();
    if (cmd.nvlist_dst_size > reply.size())
      return Error::msg(std::string(what) + ": reply overflow");
    auto list = parse_native_nvlist(std::string_view(reply.data(), cmd.nvlist_dst_size));
    if (!list) return Error::msg(std::string(what) + " of '" + name + "': reply does not parse");
    return std::move(*list);
  }
}

}  // namespace zinitrd::rt
