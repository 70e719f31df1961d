// luks_open.h: opening the LUKS devices under the root pool, before and while it is imported.
//
// The import stage calls open_present() before each look for the pool (zfs_import.h's
// ImportContext::prepare): every block device not seen before has its first bytes read; a LUKS
// header whose UUID or label (or whose kernel name) matches a wanted device (luks_request.h) is
// opened with `cryptsetup open` (luks_unlock.h), after loading dm_crypt and the modules of the
// header's ciphers (there is no modprobe in the image to serve the kernel's requests). Devices
// that appear late, hotplugged or slow, are opened when they appear, because the import keeps
// looking until the pool's members are there. Mappings are left open across switch_root, under
// the names crypttab gives them, so the booted system's systemd-cryptsetup finds them active.
// No udev, no blkid: /sys/class/block lists the devices, devtmpfs gives their nodes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"
#include "failure.h"
#include "luks_header.h"
#include "luks_request.h"
#include "luks_unlock.h"
#include "zfs_keys.h"

namespace zinitrd::rt {

class ModuleLoader;

/// True when the block device DEVICE ("/dev/vda1") with HEADER is TARGET's device (pure).
bool luks_target_matches(const LuksTarget& target, const std::string& device,
                         const LuksHeader& header);

/// The LUKS UUID (lower-case, without dashes) of a dm-crypt mapping's dm/uuid
/// ("CRYPT-LUKS2-0a1b...-NAME"), "" for any other device-mapper device (pure).
std::string dm_crypt_luks_uuid(std::string_view dm_uuid);

/// Where the opener looks and what it runs; tests point it at fixture trees.
struct LuksSystem {
  std::string sys_class_block = "/sys/class/block";
  std::string dev = "/dev";
};

/// The LUKS devices of one boot.
class LuksOpener {
 public:
  explicit LuksOpener(LuksSystem system = {}) : system_(std::move(system)) {}

  /// Plans the devices to open from CONFIG's crypttab entries and REQUEST (luks_request.h);
  /// CONFIG must outlive the opener. Logs what is left out and why.
  void configure(const BootConfig& config, const LuksRequest& request);
  /// True when some device is to be opened.
  bool wanted() const { return !targets_.empty(); }
  /// Opens every wanted device that is present now and not open yet, asking on CONSOLES while
  /// servicing BACKGROUND. LOADER loads the kernel modules (may be null). Nullopt unless one
  /// could not be opened.
  std::optional<Failure> open_present(ModuleLoader* loader,
                                      const std::vector<std::string>& consoles,
                                      const PromptBackground& background);
  /// For an import that failed: the wanted devices that never appeared, the LUKS devices that
  /// are there but wanted by nobody, and what to do about each (block devices are looked at
  /// again for this).
  std::vector<std::string> missing_hints();
  /// After the import: says which wanted devices did not appear (the pool did not need them).
  void report_unopened() const;
  /// Passphrases that opened a device: the ZFS encryption roots try them first.
  const std::vector<std::string>& secrets() const { return secrets_.all(); }
  /// Wipes those passphrases (before switch_root).
  void forget_secrets() { secrets_.forget(); }

 private:
  struct Wanted {
    LuksTarget target;
    int tries = 3;
    bool open = false;
    std::string device;  ///< the device it was opened on
  };
  struct Probe {
    std::string dev;   ///< "MAJOR:MINOR", to notice a name reused by another device
    std::string path;  ///< its node ("/dev/sda2", "/dev/cciss/c0d0p1")
    std::optional<LuksHeader> header;
  };
  /// Reads the headers of block devices not probed yet; notes the open crypt mappings.
  void scan();
  /// Loads dm_crypt and the modules of HEADER's ciphers that the image carries.
  void load_modules(ModuleLoader* loader, const LuksHeader& header);
  LuksIo make_io(const std::vector<std::string>& consoles, const PromptBackground& background);

  LuksSystem system_;
  const BootConfig* config_ = nullptr;
  std::vector<Wanted> targets_;
  std::map<std::string, Probe> probed_;        ///< kernel name -> what it holds
  std::map<std::string, std::string> mapped_;  ///< dm name -> LUKS UUID (no dashes)
  SecretStore secrets_;
  int64_t first_look_ms_ = -1;
  bool announced_ = false;
  bool modules_done_ = false;
  std::set<std::string> modules_tried_;  ///< modules asked for once already
};

}  // namespace zinitrd::rt
