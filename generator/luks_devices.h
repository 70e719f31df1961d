// luks_devices.h: the LUKS devices an image opens, from the root's /etc/crypttab and sysfs.
//
// The `luks` feature (crypttab = yes) carries the LUKS entries of the root's /etc/crypttab,
// read through the RootFs seam (never the host's when building for --root DIR), into the boot
// configuration, and embeds the key files they name. With --host-only, the root pool's vdevs
// are followed down through sysfs `slaves/` (dm-crypt over a partition, maybe LVM or md below):
// the dm-crypt mappings met on the way are the pool's LUKS devices (dm/uuid
// "CRYPT-LUKS2-<uuid>-<name>"), so only their crypttab entries are carried, a pool device that
// crypttab lacks is carried under its current mapping name (with a warning), and the drivers are
// those of the disks at the bottom of the stack. Without --host-only every LUKS entry is
// carried: /init opens those whose devices appear.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "boot_config.h"
#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// A dm-crypt mapping of a LUKS device, found under the root pool through sysfs.
struct LuksMapping {
  std::string name;    ///< the mapping's name: /dev/mapper/NAME
  std::string uuid;    ///< the LUKS UUID, lower-case, with dashes
  std::string device;  ///< the device it maps ("/dev/vda2")

  bool operator==(const LuksMapping&) const = default;
};

/// Walks SYSFS (normally "/sys") from block device DEV down through `slaves/`: appends the
/// devices at the bottom of the stack (those with drivers) to LEAVES and every LUKS mapping met
/// to LUKS. A device without slaves is its own leaf. Errors name the sysfs path.
Status collect_stacked_devices(const std::string& sysfs, dev_t dev, std::vector<dev_t>& leaves,
                               std::vector<LuksMapping>& luks);

/// "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d" from a dm-crypt mapping's dm/uuid
/// ("CRYPT-LUKS2-0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d-name"); "" for other devices (pure).
std::string luks_uuid_of_dm_uuid(std::string_view dm_uuid);

/// The LUKS UUID of the device a crypttab source names (PARTUUID=, /dev/disk/by-id/...), ""
/// when it cannot be told; used to turn sources that /init cannot find without udev into UUID=.
using SourceUuidLookup = std::function<std::string(const std::string& source)>;

/// The lookup on this host's devices (by their /dev/disk links); only meaningful when the root
/// built for is this host's "/".
std::string host_source_uuid(const std::string& source);

/// What an image carries for its LUKS devices.
struct LuksPlan {
  std::vector<BootLuks> entries;  ///< the boot config's `luks` records
  /// Key files to embed (mode 0600, at the same path): in-root path, and the entry's name.
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::string> warnings;  ///< what was left out or will be asked for, and why
  std::vector<std::string> notes;     ///< what was left out because it is not needed
};

/// Plans the LUKS devices of ROOT's /etc/crypttab (rules above). POOL: the pool's mappings
/// (--host-only), or null to carry every LUKS entry. LOOKUP (may be empty) resolves sources
/// /init could not find.
LuksPlan plan_luks_devices(const RootFs& root, const std::vector<LuksMapping>* pool,
                           const SourceUuidLookup& lookup);

}  // namespace zinitrd::gen
