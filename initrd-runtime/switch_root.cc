// switch_root.cc: move mounts, free the initramfs, chroot, exec (see switch_root.h).
#include "switch_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "log.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr const char* kMovedMounts[] = {"/dev", "/proc", "/sys", "/run"};

// Runs access(INIT, X_OK) inside NEW_ROOT in a child chrooted there, so that absolute symlinks
// (/sbin/init -> /lib/systemd/systemd) resolve in the new root. Returns 0 or the errno.
int check_in_root(const std::string& new_root, const std::string& init) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    if (::chroot(new_root.c_str()) != 0 || ::chdir("/") != 0) ::_exit(ENOTDIR & 0xff);
    struct stat st;
    if (::stat(init.c_str(), &st) != 0) ::_exit(errno & 0xff);
    if (!S_ISREG(st.st_mode)) ::_exit(EISDIR);
    if (::access(init.c_str(), X_OK) != 0) ::_exit(errno & 0xff);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return EIO;
  return WEXITSTATUS(status);
}

[[noreturn]] void give_up(const char* what) {
  console_text(
      std::string("\nzinitrd: ") + what +
      "\nzinitrd: the initramfs is already gone, so there is no rescue shell; rebooting in "
      "30 seconds. Boot with rd.break=pre-pivot to inspect /sysroot before the switch.\n");
  sleep_ms(30'000);
  ::sync();
  ::reboot(RB_AUTOBOOT);
  for (;;) sleep_ms(60'000);  // reboot() failed: PID 1 must still not exit
}

}  // namespace

std::optional<Failure> find_new_init(const std::string& new_root, const std::string& requested,
                                     std::string& init) {
  std::vector<std::string> tried;
  std::vector<std::string> candidates;
  if (!requested.empty())
    candidates.push_back(requested);
  else
    for (const char* c : kDefaultInits) candidates.emplace_back(c);
  for (const auto& c : candidates) {
    int e = check_in_root(new_root, c);
    if (e == 0) {
      init = c;
      return std::nullopt;
    }
    tried.push_back(c + std::string(": ") + strerror(e));
  }
  Failure f;
  f.stage = "switch_root";
  f.summary = requested.empty()
                  ? "no init program in the root file system at " + new_root
                  : "init=" + requested + " cannot be run in the root file system at " + new_root;
  f.status = join(tried, "; ");
  f.hints.push_back("check that the right dataset is mounted on " + new_root + " (ls " + new_root +
                    ")");
  if (!requested.empty()) f.hints.push_back("fix or drop init= on the kernel command line");
  f.hints.push_back(
      "child datasets that hold /usr or /sbin must have canmount=on to be mounted early");
  f.retryable = false;
  return f;
}

int remove_tree_same_device(int dirfd) {
  struct stat root_st;
  if (::fstat(dirfd, &root_st) != 0) {
    ::close(dirfd);
    return 1;
  }
  DIR* dir = ::fdopendir(dirfd);
  if (!dir) {
    ::close(dirfd);
    return 1;
  }
  int failures = 0;
  while (struct dirent* e = ::readdir(dir)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      ++failures;
      continue;
    }
    if (st.st_dev != root_st.st_dev) continue;  // a mount point: another file system, left alone
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        ++failures;
        continue;
      }
      failures += remove_tree_same_device(sub);
      if (::unlinkat(::dirfd(dir), e->d_name, AT_REMOVEDIR) != 0) ++failures;
    } else if (::unlinkat(::dirfd(dir), e->d_name, 0) != 0) {
      ++failures;
    }
  }
  ::closedir(dir);
  return failures;
}

Failure switch_root(const std::string& new_root, const std::string& init,
                    const std::vector<std::string>& args, char** envp) {
  Failure f;
  f.stage = "switch_root";
  f.retryable = false;
  if (::getpid() != 1) {
    f.summary =
        "switch_root is only done by PID 1 (this is PID " + std::to_string(::getpid()) + ")";
    return f;
  }
  if (!is_mount_point(new_root)) {
    f.summary = new_root + " is not a mount point: nothing to switch to";
    f.retryable = true;
    return f;
  }
  // Only ever delete the initramfs: rootfs is ramfs or tmpfs.
  struct statfs sfs;
  bool initramfs =
      ::statfs("/", &sfs) == 0 && (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC);
  int oldroot = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0) {
    f.summary = "cannot open '/'";
    f.status = strerror(errno);
    return f;
  }

  // Point of no return: from here on, mounts move.
  log_info("switching to %s, running %s", new_root.c_str(), init.c_str());
  for (const char* m : kMovedMounts) {
    std::string target = new_root + m;
    if (!is_mount_point(m)) continue;
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST) {
      log_warning("%s is missing in the new root and cannot be created (%s); detaching %s",
                  target.c_str(), strerror(errno), m);
      ::umount2(m, MNT_DETACH);
      continue;
    }
    if (::mount(m, target.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
      log_warning("cannot move %s to %s: %s; detaching it", m, target.c_str(), strerror(errno));
      ::umount2(m, MNT_DETACH);
    }
  }
  log_close_file();
  if (::chdir(new_root.c_str()) != 0) {
    ::close(oldroot);
    give_up("chdir to the new root failed");
  }
  if (initramfs) {
    int left = remove_tree_same_device(oldroot);
    (void)left;  // files that could not be removed only cost memory
  } else {
    ::close(oldroot);
  }
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
    give_up("moving the new root onto / failed");
  if (::chroot(".") != 0 || ::chdir("/") != 0) give_up("chroot into the new root failed");

  std::vector<std::string> argv_s{init};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execve(init.c_str(), argv.data(), envp);
  int e = errno;
  // The check before the switch makes this unlikely; try what the kernel would try.
  for (const char* alt : kDefaultInits) {
    if (init == alt) continue;
    argv[0] = const_cast<char*>(alt);
    ::execve(alt, argv.data(), envp);
  }
  std::string msg = "exec " + init + " failed: " + strerror(e);
  give_up(msg.c_str());
}

}  // namespace zinitrd::rt
