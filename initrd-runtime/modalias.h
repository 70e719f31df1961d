// modalias.h: which drivers this machine needs: coldplug and hotplug without udev.
//
// The kernel describes every device with a modalias string ("pci:v00001AF4d00001001sv..."); the
// image's boot config carries the fnmatch patterns of modules.alias for the drivers it holds.
// Coldplug walks /sys/devices for `modalias` files once; hotplug listens on the kernel's uevent
// netlink socket (NETLINK_KOBJECT_UEVENT, group 1) while the boot waits for the root pool, so
// disks that appear late (USB, slow HBAs) get their drivers too.
#pragma once

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
  /// Waits up to TIMEOUT_MS for events, loading drivers for added devices. Returns true when a
  /// block device appeared (a good moment to retry the import).
  bool poll(int64_t timeout_ms, const BootConfig& config, ModuleLoader& loader);
  /// True when the socket is open.
  bool active() const { return fd_.valid(); }
  /// Closes the socket (before switch_root).
  void close() { fd_.reset(); }

 private:
  Fd fd_;
};

}  // namespace zinitrd::rt
