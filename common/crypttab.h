// crypttab.h: /etc/crypttab, as both programs need it.
//
// The generator reads the root's /etc/crypttab and carries its LUKS entries into the boot
// configuration (`luks` records); the runtime turns each entry's options into `cryptsetup open`
// arguments. One parser and one option table, so the two sides never disagree. The format is
// crypttab(5)'s (systemd and Debian agree on it):
//
//   # name        device                                      key file          options
//   cryptroot     UUID=3d033342-3240-46bf-989b-03ac4972e54f   none              luks,discard
//   cryptdata     /dev/sdb1                                   /etc/keys/d.key   keyfile-size=64
//
// Fields are separated by blanks; the key file and options are optional ("none" and "-" mean no
// key file: ask for a passphrase). Entries that are not LUKS (plain, tcrypt, bitlk, swap and tmp
// with a random key) are recognised so they can be left out with a reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zinitrd {

/// One line of /etc/crypttab.
struct CrypttabEntry {
  std::string name;                  ///< the mapping name: /dev/mapper/NAME
  std::string source;                ///< UUID=..., LABEL=..., PARTUUID=..., or a device path
  std::string key_file;              ///< "" when the line says none, "-" or nothing
  std::vector<std::string> options;  ///< the comma-separated options, as written
  int line = 0;                      ///< line number, for messages

  bool operator==(const CrypttabEntry&) const = default;
};

/// The entries of crypttab TEXT; PROBLEMS gets one sentence per line that cannot be an entry
/// (a single field, a name with '/') (pure).
std::vector<CrypttabEntry> parse_crypttab(std::string_view text,
                                          std::vector<std::string>& problems);

/// What an entry's options mean for opening it at boot.
struct CrypttabOptions {
  /// `cryptsetup open` arguments: --allow-discards, --readonly, --keyfile-offset=N,
  /// --keyfile-size=N, --key-slot=N, --perf-* flags.
  std::vector<std::string> cryptsetup_args;
  int tries = 3;         ///< passphrase prompts (tries=N; 0, "forever", is bounded to 3)
  bool noauto = false;   ///< noauto: not opened at boot by the system either
  std::string not_luks;  ///< why the entry is not a LUKS device (plain, swap...), or ""
  std::string detached;  ///< header=PATH: a detached header (not supported), or ""
  /// Options zinitrd does not act on, each with the reason ("tpm2-device=auto: ...").
  std::vector<std::string> ignored;
};

/// Interprets OPTIONS (pure). Options that only matter to systemd on the booted system (nofail,
/// x-systemd.*, _netdev, timeout=...) are accepted quietly.
CrypttabOptions interpret_crypttab_options(const std::vector<std::string>& options);

/// The LUKS UUID named by SOURCE ("UUID=x" or "/dev/disk/by-uuid/x"), lower-cased; "" otherwise
/// (pure).
std::string crypttab_source_uuid(std::string_view source);
/// The LUKS2 label named by SOURCE ("LABEL=x" or "/dev/disk/by-label/x"); "" otherwise (pure).
std::string crypttab_source_label(std::string_view source);
/// True when the runtime can find SOURCE by itself, without udev: a UUID, a label, or a kernel
/// device name such as /dev/vda2 (not a /dev/disk/by-* link, PARTUUID= or PARTLABEL=) (pure).
bool crypttab_source_findable(std::string_view source);

}  // namespace zinitrd
