// check_luks.h: the LUKS items of `zinitrd check`: can the image open the root pool's LUKS
// devices?
//
// A pool on LUKS boots when every dm-crypt device under it has an /etc/crypttab entry (so the
// image knows its name and how to unlock it), the key files those entries name exist (else the
// boot asks for the passphrase), and the image carries cryptsetup, dm_crypt and a `luks` record
// for each device. The items are pure functions of the facts below; check.cc gathers them (the
// pool's devices through sysfs `slaves/`, as `--host-only` finds them). A machine without LUKS
// under its pool and without LUKS entries in crypttab gets no LUKS item at all.
//
//   luks-crypttab  each LUKS device under the root pool has a crypttab entry (by UUID or name)
//   luks-keys      the key files of those entries exist in the root and are private (0600)
//   image-luks     the image has cryptsetup, dm-crypt.ko, a record and key file for each device
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check_items.h"
#include "luks_devices.h"

namespace zinitrd::gen {

/// What is known about the LUKS devices of the root pool and the image's provision for them.
struct LuksCheckFacts {
  std::string pool;  ///< the root pool's name ("" when / is not a ZFS dataset)
  /// The dm-crypt LUKS mappings under the pool's vdevs; null when they could not be looked at.
  std::optional<std::vector<LuksMapping>> pool_luks;
  std::string pool_luks_error;          ///< why pool_luks is null
  std::optional<std::string> crypttab;  ///< the root's /etc/crypttab; null when there is none
  /// Key files the crypttab entries name: in-root path -> permission bits (null: missing).
  std::map<std::string, std::optional<mode_t>> keys;
  /// The image's members and boot configuration; image_read false when the image could not be
  /// read (the image items say why).
  bool image_read = false;
  std::vector<ImageMember> image_members;
  std::optional<std::string> image_boot_config;
};

/// The key files FACTS.crypttab names (LUKS entries only), for check.cc to look up (pure).
std::vector<std::string> crypttab_key_files(const std::optional<std::string>& crypttab);

/// The LUKS items (none when the pool is not on LUKS and crypttab has no LUKS entry) (pure).
std::vector<CheckItem> check_luks(std::string_view kver, const LuksCheckFacts& facts);

}  // namespace zinitrd::gen
