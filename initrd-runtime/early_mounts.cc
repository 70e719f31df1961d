// early_mounts.cc: /proc, /sys, /dev, /run (see early_mounts.h).
#include "early_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "fd.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

struct EarlyMount {
  const char* source;
  const char* target;
  const char* type;
  unsigned long flags;
  const char* data;
};

constexpr EarlyMount kMounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=000"},
    // /run moves to the root at switch_root and systemd keeps it as it finds it: the limits its
    // own /run would have (mount-setup.c), not tmpfs's default of half the memory.
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME,
     "mode=0755,size=20%,nr_inodes=800k"},
};

}  // namespace

Status mount_early_filesystems() {
  std::vector<std::string> errors;
  for (const auto& m : kMounts) {
    if (::mkdir(m.target, 0755) != 0 && errno != EEXIST) {
      errors.push_back(Error::sys("mkdir", m.target, errno).message);
      continue;
    }
    if (is_mount_point(m.target)) continue;
    if (::mount(m.source, m.target, m.type, m.flags, m.data) != 0 && errno != EBUSY)
      errors.push_back(Error::sys(std::string("mount ") + m.type + " on", m.target, errno).message);
  }
  if (errors.empty()) return Ok{};
  return Error::msg(join(errors, "\n"));
}

void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int c = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (c < 0) c = ::open("/dev/null", O_RDWR);
    if (c < 0) return;
    if (c != fd) {
      ::dup2(c, fd);
      ::close(c);
    }
  }
}

int attach_late_console(const char* console) {
  Fd c(::open(console, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!c.valid()) return 0;  // still none (ENODEV), or no console= at all
  struct stat cs;
  if (::fstat(c.get(), &cs) != 0 || !S_ISCHR(cs.st_mode) || cs.st_rdev == makedev(1, 3)) return 0;
  int moved = 0;
  for (int fd = 0; fd <= 2; ++fd) {
    struct stat st;
    const bool null = ::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
    if (null && ::dup2(c.get(), fd) == fd) ++moved;  // dup2: the copy is not close-on-exec
  }
  return moved;
}

}  // namespace zinitrd::rt
