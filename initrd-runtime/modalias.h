// modalias.h: which drivers this machine needs: coldplug and hotplug without udev.
//
// The kernel describes every device with a modalias string ("pci:v00001AF4d00001001sv..."); the
// image's boot config carries the fnmatch patterns of modules.alias for the drivers it holds.
// Coldplug walks /sys/devices for `modalias` files once; hotplug listens on the kernel's uevent
// netlink socket (NETLINK_KOBJECT_UEVENT, group 1) while the boot waits for the root pool, so
// disks that appear late (USB, slow HBAs) get their drivers too.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"
#include "fd.h"
#include "result.h"

namespace zinitrd::rt {

class ModuleLoader;

/// Modules whose alias pattern matches MODALIAS, in table order, each once (pure).
std::vector<std::string> match_modalias(const std::vector<BootAlias>& aliases,
                                        std::string_view modalias);

/// Every modalias under SYSFS_DEVICES (normally /sys/devices), symlinks not followed.
std::vector<std::string> collect_modaliases(const std::string& sysfs_devices);

/// Loads the drivers of every present device; returns how many modaliases matched a driver.
/// Load failures are logged as warnings (an unused device must not stop the boot).
int coldplug(const BootConfig& config, ModuleLoader& loader);

/// One kernel uevent, as parsed from its netlink message.
struct Uevent {
  std::string action;     ///< "add", "remove", "change", "bind"...
  std::string devpath;    ///< "/devices/pci0000:00/..."
  std::string subsystem;  ///< "block", "pci", "usb"...
  std::string modalias;   ///< MODALIAS=, empty when the event has none
  std::string devname;    ///< DEVNAME=, e.g. "vda1"
};

/// Parses a kernel uevent message ("add@/devices/...\0ACTION=add\0..."); false when it is not
/// one (e.g. a libudev message) (pure).
bool parse_uevent(std::string_view message, Uevent& event);

/// Kernel uevents while the boot waits; loads the driver of each new device.
class HotplugListener {
 public:
  /// Opens the netlink socket; a failure leaves the listener inert (coldplug still ran).
  Status open();
  /// Waits up to TIMEOUT_MS for events (0: handles what is pending, without waiting), loading
  /// drivers for added devices. Returns true when a block device appeared (a good moment to retry
  /// the import).
  bool poll(int64_t timeout_ms, const BootConfig& config, ModuleLoader& loader);
  /// Waits until the kernel has sent no uevent for QUIET_MS (device discovery has settled, as
  /// `udevadm settle` waits for udev's queue), at most MAX_MS, loading drivers meanwhile.
  /// Returns true when a block device appeared.
  bool settle(int64_t quiet_ms, int64_t max_ms, const BootConfig& config, ModuleLoader& loader);
  /// Waits up to TIMEOUT_MS for events, then reads every queued one without acting on it: the
  /// modaliases of added devices go to MODALIASES; BLOCK_ADDED is set when a block device
  /// appeared, OVERFLOW when events were lost. Returns how many events were read.
  int read_events(int64_t timeout_ms, std::vector<std::string>& modaliases, bool& block_added,
                  bool& overflow);
  /// The socket, for a caller that waits on other fds too (the passphrase prompt); -1 if closed.
  int fd() const { return fd_.get(); }
  /// True when the socket is open.
  bool active() const { return fd_.valid(); }
  /// Closes the socket (before switch_root).
  void close() { fd_.reset(); }
  /// Waits up to WAIT_MS for the drivers that events started loading (each in a process of its
  /// own, never waited for meanwhile: a driver whose init waits on a dying disk would hold up the
  /// boot with it), then kills those still loading and forgets them: each dies when the driver's
  /// init lets it. Returns their modules' names.
  std::vector<std::string> finish_loads(int64_t wait_ms, ModuleLoader& loader);

 private:
  /// Waits up to TIMEOUT_MS for the first event, then handles every queued one. Returns how
  /// many events were handled; BLOCK_ADDED is set when a block device appeared.
  int drain(int64_t timeout_ms, const BootConfig& config, ModuleLoader& loader, bool& block_added);
  /// Starts loading the drivers MODALIASES need in processes of their own (those not loading yet).
  void start_loads(const std::vector<std::string>& modaliases, const BootConfig& config,
                   ModuleLoader& loader);
  /// Takes in the loads that ended.
  void reap_loads(ModuleLoader& loader);

  Fd fd_;
  std::map<pid_t, std::string> loads_;  ///< drivers loading: process -> module
};

}  // namespace zinitrd::rt
