// modalias.cc: alias matching, coldplug walk and the uevent listener (see modalias.h).
#include "modalias.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "log.h"
#include "module_loader.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

// /sys/devices nests deeply (USB behind PCI bridges), but not this deep.
constexpr int kMaxDepth = 40;
// Quiet time awaited after a block device appeared: its partitions follow within milliseconds.
constexpr int64_t kSettleMs = 200;

void walk(int dirfd, int depth, std::vector<std::string>& out) {
  if (depth > kMaxDepth) {
    ::close(dirfd);  // the walk owns DIRFD at every depth
    return;
  }
  DIR* dir = ::fdopendir(dirfd);
  if (!dir) {
    ::close(dirfd);
    return;
  }
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR) {
      int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) walk(sub, depth + 1, out);
    } else if (e->d_type == DT_REG && name == "modalias") {
      int fd = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      char buf[1024];
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ::close(fd);
      if (n > 0) {
        std::string_view v(buf, static_cast<size_t>(n));
        v = trim(v);
        if (!v.empty()) out.emplace_back(v);
      }
    }
  }
  ::closedir(dir);
}

// Logs what one driver's load did. A matched driver whose init finds nothing to do
// (ENODEV/ENXIO: another variant of the hardware, a CPU without the feature) is normal: a debug
// line. Other failures are info, not warnings: the disk that matters is reported by the import
// if it is missing.
void report_load(const char* why, const LoadReport& report) {
  std::vector<std::string> no_device, broken;
  for (const auto& f : report.failures)
    (is_no_device_error(f.err) ? no_device : broken).push_back(f.message);
  if (!no_device.empty())
    log_debug("%s: drivers without a device or CPU feature to serve:\n%s", why,
              join(no_device, "\n").c_str());
  if (!broken.empty())
    log_info("%s: some drivers did not load (the devices they serve stay unusable):\n%s", why,
             join(broken, "\n").c_str());
}

// The drivers MODALIASES need that are neither loaded nor in SKIP, each once; MATCHED gets the
// number of modaliases that matched a driver.
std::vector<std::string> drivers_for(const std::vector<std::string>& modaliases,
                                     const BootConfig& config, const ModuleLoader& loader,
                                     const char* why, const std::set<std::string>& skip,
                                     int& matched) {
  std::vector<std::string> wanted;
  std::set<std::string> seen;
  matched = 0;
  for (const auto& alias : modaliases) {
    auto mods = match_modalias(config.aliases, alias);
    if (!mods.empty()) ++matched;
    for (auto& m : mods) {
      if (!seen.insert(m).second || skip.count(m) || loader.present(m)) continue;
      log_debug("%s: %s needs %s", why, alias.c_str(), m.c_str());
      wanted.push_back(std::move(m));
    }
  }
  return wanted;
}

// Starts loading driver NAME (for a device's modalias) in a process of its own and returns it;
// without fork, loads it here, in turn, and returns -1. WHY names the caller in the log.
pid_t spawn_driver_load(ModuleLoader& loader, const std::string& name, const char* why) {
  pid_t pid = loader.spawn_load(name, true, [why](const LoadReport& r) { report_load(why, r); });
  if (pid <= 0) report_load(why, loader.load_report({name}, true));
  return pid;
}

}  // namespace

std::vector<std::string> match_modalias(const std::vector<BootAlias>& aliases,
                                        std::string_view modalias) {
  std::vector<std::string> out;
  std::string subject(modalias);
  for (const auto& a : aliases) {
    // The literal head of a pattern ("pci:v00001AF4d") rejects most aliases without fnmatch:
    // images carry thousands of aliases (usb-storage alone has hundreds), devices a few hundred.
    size_t wild = a.pattern.find_first_of("*?[\\");
    std::string_view head = std::string_view(a.pattern).substr(0, wild);
    if (!starts_with(modalias, head)) continue;
    if (wild != std::string::npos && ::fnmatch(a.pattern.c_str(), subject.c_str(), 0) != 0)
      continue;
    if (wild == std::string::npos && head.size() != modalias.size()) continue;
    std::string m = normalize_module_name(a.module);
    bool dup = false;
    for (const auto& o : out) dup |= o == m;
    if (!dup) out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> collect_modaliases(const std::string& sysfs_devices) {
  std::vector<std::string> out;
  int fd = ::open(sysfs_devices.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) walk(fd, 0, out);
  return out;
}

int coldplug(const BootConfig& config, ModuleLoader& loader) {
  if (config.aliases.empty()) return 0;
  // Each driver loads in a child of its own, so that a controller's driver (ahci, waiting for
  // its link probes) does not hold up another's. The devices their probes add (virtio0 behind
  // virtio_pci, served by virtio_blk) are told by uevents, not found by walking /sys/devices
  // again: a walk costs 0.2-0.3 s of CPU under emulation, taken from zfs.ko's load beside it.
  // One last walk when nothing is loading catches what no event said.
  HotplugListener events;
  const bool listening = static_cast<bool>(events.open());
  std::map<pid_t, std::string> running;
  std::set<std::string> started;
  int matched = 0;
  auto aliases = collect_modaliases("/sys/devices");
  if (aliases.empty()) log_warning("coldplug: no modalias under /sys/devices (is /sys mounted?)");
  bool walked = true;  // no child started since the last walk
  for (;;) {
    int m = 0;
    for (auto& name : drivers_for(aliases, config, loader, "coldplug", started, m)) {
      started.insert(name);
      walked = false;
      if (pid_t pid = spawn_driver_load(loader, name, "coldplug"); pid > 0) running[pid] = name;
    }
    matched += m;
    aliases.clear();
    if (running.empty()) {
      if (walked) break;  // nothing loading, nothing new since the last walk
      aliases = collect_modaliases("/sys/devices");
      walked = true;
      continue;
    }
    bool block_added = false, overflow = false;
    if (listening) {
      events.read_events(20, aliases, block_added, overflow);
      if (overflow) aliases = collect_modaliases("/sys/devices");
    }
    for (;;) {  // reap the children that are done (all of them wait here without the socket)
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, listening ? WNOHANG : 0);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      if (auto it = running.find(pid); it != running.end()) {
        loader.reaped(it->second, status);
        running.erase(it);
      }
      if (!listening) break;
    }
    if (!listening) aliases = collect_modaliases("/sys/devices");  // no events: walk again
  }
  return matched;
}

bool parse_uevent(std::string_view msg, Uevent& ev) {
  ev = Uevent{};
  size_t nul = msg.find('\0');
  std::string_view head = msg.substr(0, nul);
  if (head.find('@') == std::string_view::npos || starts_with(head, "libudev")) return false;
  if (nul == std::string_view::npos) return false;
  msg.remove_prefix(nul + 1);
  while (!msg.empty()) {
    nul = msg.find('\0');
    std::string_view kv = msg.substr(0, nul);
    msg = nul == std::string_view::npos ? std::string_view() : msg.substr(nul + 1);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "ACTION")
      ev.action = v;
    else if (k == "DEVPATH")
      ev.devpath = v;
    else if (k == "SUBSYSTEM")
      ev.subsystem = v;
    else if (k == "MODALIAS")
      ev.modalias = v;
    else if (k == "DEVNAME")
      ev.devname = v;
  }
  return !ev.action.empty();
}

Status HotplugListener::open() {
  Fd fd(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT));
  if (!fd.valid()) return Error::sys("socket", "NETLINK_KOBJECT_UEVENT", errno);
  int size = 4 << 20;  // a burst of USB/SCSI events must not overflow it
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct sockaddr_nl addr {};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;  // kernel events (udev's re-broadcasts use group 2)
  if (::bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0)
    return Error::sys("bind", "NETLINK_KOBJECT_UEVENT", errno);
  fd_ = std::move(fd);
  return Ok{};
}

int HotplugListener::read_events(int64_t timeout_ms, std::vector<std::string>& modaliases,
                                 bool& block_added, bool& overflow) {
  struct pollfd pfd {
    fd_.get(), POLLIN, 0
  };
  int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(timeout_ms, 0)));
  if (r <= 0) return 0;  // timeout, or EINTR: the caller's loop looks at the clock again
  int handled = 0;
  char buf[8192];
  for (;;) {
    struct sockaddr_nl from {};
    socklen_t fromlen = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<struct sockaddr*>(&from),
                           &fromlen);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {  // events were lost
      overflow = true;
      ++handled;
      continue;
    }
    if (n <= 0) break;
    if (from.nl_pid != 0) continue;  // only the kernel speaks on group 1
    Uevent ev;
    if (!parse_uevent(std::string_view(buf, static_cast<size_t>(n)), ev)) continue;
    ++handled;
    if (ev.action != "add") continue;
    if (!ev.modalias.empty()) modaliases.push_back(ev.modalias);
    if (ev.subsystem == "block") {
      log_debug("hotplug: block device %s appeared", ev.devname.c_str());
      block_added = true;
    }
  }
  return handled;
}

int HotplugListener::drain(int64_t timeout_ms, const BootConfig& config, ModuleLoader& loader,
                           bool& block_added) {
  reap_loads(loader);
  std::vector<std::string> modaliases;
  bool overflow = false;
  int handled = read_events(timeout_ms, modaliases, block_added, overflow);
  if (overflow) {
    // Events were lost: fall back to a full walk, and assume a disk may have appeared.
    log_debug("hotplug: uevent buffer overflowed; walking /sys/devices again");
    coldplug(config, loader);
    block_added = true;
  }
  if (!modaliases.empty()) start_loads(modaliases, config, loader);
  return handled;
}

void HotplugListener::start_loads(const std::vector<std::string>& modaliases,
                                  const BootConfig& config, ModuleLoader& loader) {
  std::set<std::string> in_flight;
  for (const auto& [pid, name] : loads_) in_flight.insert(name);
  int matched = 0;
  for (const auto& name : drivers_for(modaliases, config, loader, "hotplug", in_flight, matched)) {
    if (pid_t pid = spawn_driver_load(loader, name, "hotplug"); pid > 0) loads_[pid] = name;
  }
}

void HotplugListener::reap_loads(ModuleLoader& loader) {
  for (auto it = loads_.begin(); it != loads_.end();) {
    int status = 0;
    pid_t r = ::waitpid(it->first, &status, WNOHANG);
    if (r == it->first) loader.reaped(it->second, status);
    if (r == it->first || (r < 0 && errno == ECHILD)) {
      it = loads_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<std::string> HotplugListener::finish_loads(int64_t wait_ms, ModuleLoader& loader) {
  const int64_t deadline = monotonic_ms() + wait_ms;
  for (reap_loads(loader); !loads_.empty() && monotonic_ms() < deadline; reap_loads(loader))
    sleep_ms(10);
  std::vector<std::string> left;
  for (const auto& [pid, name] : loads_) {
    ::kill(pid, SIGKILL);  // dies when the driver's init lets it; the next init reaps it
    left.push_back(name);
  }
  loads_.clear();
  return left;
}

bool HotplugListener::poll(int64_t timeout_ms, const BootConfig& config, ModuleLoader& loader) {
  if (!fd_.valid()) {
    sleep_ms(timeout_ms);
    return false;
  }
  bool block_added = false;
  if (timeout_ms <= 0) {  // what is pending now, without waiting (the prompt's background)
    drain(0, config, loader, block_added);
    return block_added;
  }
  int64_t deadline = monotonic_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) break;
    drain(left, config, loader, block_added);
    // A disk's partitions follow it within milliseconds: once a block device appeared, return
    // when the events have been quiet for a moment, so one import try sees them all.
    if (block_added) deadline = std::min(deadline, monotonic_ms() + kSettleMs);
  }
  return block_added;
}

bool HotplugListener::settle(int64_t quiet_ms, int64_t max_ms, const BootConfig& config,
                             ModuleLoader& loader) {
  if (!fd_.valid()) return false;
  bool block_added = false;
  const int64_t deadline = monotonic_ms() + max_ms;
  int64_t quiet_until = monotonic_ms() + quiet_ms;
  for (;;) {
    const int64_t now = monotonic_ms();
    const int64_t until = std::min(deadline, quiet_until);
    if (now >= until) break;
    if (drain(until - now, config, loader, block_added) > 0)
      quiet_until = monotonic_ms() + quiet_ms;
  }
  return block_added;
}

}  // namespace zinitrd::rt
