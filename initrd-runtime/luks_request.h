// luks_request.h: which LUKS devices the boot opens, and under which names.
//
// Two sources, as with dracut and systemd-cryptsetup: the image's crypttab entries (the
// generator copied the LUKS entries of the root's /etc/crypttab into `luks` records) and the
// kernel command line. Supported parameters (`luks.` works for `rd.luks.` too, as systemd reads
// both in the initrd):
//   rd.luks=0                    open no LUKS device (the pool's must then be opened by hand)
//   rd.luks.crypttab=0           ignore the image's crypttab entries
//   rd.luks.uuid=UUID            open only the devices named so (repeatable); "luks-UUID" is
//                                accepted as dracut writes it; the mapping is luks-UUID unless
//                                crypttab names that UUID (then its name, key file and options)
//   rd.luks.name=UUID=NAME       as rd.luks.uuid=, mapped as NAME
//   rd.luks.key=PATH             key file in the image, for every device without one
//   rd.luks.key=UUID=PATH        key file for that device
//   rd.luks.options=[UUID=]OPTS  crypttab options for the devices the command line names
// Not supported, and reported as such: a key file on another device (`PATH:DEVICE`), detached
// headers, tokens (TPM2, FIDO2, PKCS#11), rd.luks.timeout= (the import's wait applies).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"

namespace zinitrd::rt {

/// What the command line asks about LUKS devices.
struct LuksRequest {
  bool disabled = false;           ///< rd.luks=0
  bool use_crypttab = true;        ///< rd.luks.crypttab=0 clears it
  std::vector<std::string> uuids;  ///< rd.luks.uuid= and rd.luks.name= UUIDs, lower-case, in order
  std::map<std::string, std::string> names;  ///< UUID -> mapping name (rd.luks.name=)
  std::map<std::string, std::string> keys;   ///< UUID -> key file (rd.luks.key=UUID=PATH)
  std::string default_key;                   ///< rd.luks.key=PATH
  std::map<std::string, std::vector<std::string>> options;  ///< rd.luks.options=UUID=OPTS
  std::vector<std::string> default_options;                 ///< rd.luks.options=OPTS

  bool operator==(const LuksRequest&) const = default;
};

/// True when KEY is a LUKS parameter (rd.luks, rd.luks.*, luks.*) (pure).
bool is_luks_param(std::string_view key);

/// Applies one LUKS parameter KEY[=VALUE] to REQUEST; malformed or unsupported values add a
/// sentence to DIAGNOSTICS and are ignored (pure).
void parse_luks_param(std::string_view key, bool has_value, std::string_view value,
                      LuksRequest& request, std::vector<std::string>& diagnostics);

/// One device to open.
struct LuksTarget {
  std::string name;                  ///< mapping name: /dev/mapper/NAME
  std::string source;                ///< as written ("UUID=...", "/dev/vda2"), for messages
  std::string uuid;                  ///< LUKS UUID to match (lower-case), or ""
  std::string label;                 ///< LUKS2 label to match, or ""
  std::string path;                  ///< kernel device path to match ("/dev/vda2"), or ""
  std::string key_file;              ///< in-image key file, "" to ask for a passphrase
  std::vector<std::string> options;  ///< crypttab options
  std::string origin;                ///< "crypttab", "rd.luks.uuid=" or "rd.luks.name="

  bool operator==(const LuksTarget&) const = default;
};

/// The devices to open for the image's crypttab ENTRIES and the command line's REQUEST (rules
/// above). NOTES gets a sentence for each entry left out and why (pure).
std::vector<LuksTarget> plan_luks_targets(const std::vector<BootLuks>& entries,
                                          const LuksRequest& request,
                                          std::vector<std::string>& notes);

/// "UUID" from "luks-UUID" or "UUID" (lower-case), "" when it is not a UUID (pure).
std::string normalize_luks_uuid(std::string_view text);

}  // namespace zinitrd::rt
