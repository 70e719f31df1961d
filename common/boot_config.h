// boot_config.h: the contract between the generator and the runtime.
//
// The generator writes one BootConfig into every image at kBootConfigPath; the runtime reads it
// at boot. This file is the only definition of that format (both programs link it), and
// boot_config_test.cc round-trips it. The format is line-based text so that a user in the rescue
// shell can read it with `cat`:
//
//   zinitrd-boot-config<TAB>1
//   kver<TAB>6.1.0-28-amd64
//   feature<TAB>zfs
//   module<TAB>zfs<TAB>/lib/modules/.../zfs.ko<TAB>spl,znvpair<TAB>zfs_arc_max=1073741824
//   softdep<TAB>crc_t10dif<TAB>crct10dif_pclmul<TAB>
//   load<TAB>zfs
//   blacklist<TAB>nouveau
//   alias<TAB>pci:v00001AF4d00001001sv*sd*bc*sc*i*<TAB>virtio_pci
//   set<TAB>rescue_shell<TAB>/bin/sh
//   luks<TAB>cryptroot<TAB>UUID=3d03...<TAB>/etc/keys/root.key<TAB>discard,tries=3
//
// Fields are separated by one TAB; TAB, newline and backslash inside a field are escaped as \t,
// \n and \\. Unknown record kinds are ignored (a newer generator may add some), but a newer major
// version is refused.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd {

/// Where the boot configuration lives inside the image.
inline constexpr std::string_view kBootConfigPath = "/etc/zinitrd/boot.conf";
/// The system's console keymap, in loadkeys' binary form (console_keymap.h), when it has one.
inline constexpr std::string_view kKeymapPath = "/etc/zinitrd/keymap.bmap";
/// Format version written by this build; readers refuse a larger one.
inline constexpr int kBootConfigVersion = 1;

/// One kernel module in the image.
struct BootModule {
  std::string name;               ///< module name with '_' (as /sys/module shows it)
  std::string path;               ///< absolute path of the .ko (maybe .ko.xz/.ko.zst) in the image
  std::vector<std::string> deps;  ///< hard dependencies (modules.dep): loaded first, must load
  std::string options;            ///< options from modprobe.d, space separated (cmdline adds more)
  /// softdep "pre:" modules: loaded first when they can be; a failure is noted, never fatal
  /// (modprobe's rule). Stored in a `softdep` record so older readers still parse `module`.
  std::vector<std::string> pre = {};
  std::vector<std::string> post = {};  ///< softdep "post:" modules: loaded after, failures noted

  bool operator==(const BootModule&) const = default;
};

/// A modalias pattern (fnmatch syntax, as in modules.alias) and the module that serves it.
struct BootAlias {
  std::string pattern;
  std::string module;

  bool operator==(const BootAlias&) const = default;
};

/// A LUKS device the runtime opens before importing the pool: one /etc/crypttab entry.
struct BootLuks {
  std::string name;      ///< mapping name (/dev/mapper/NAME), as crypttab names it
  std::string source;    ///< "UUID=...", "LABEL=..." or a /dev path, as crypttab names it
  std::string key_file;  ///< in-image key file, "" to ask for a passphrase
  std::vector<std::string> options;  ///< crypttab options ("discard", "tries=5"...)

  bool operator==(const BootLuks&) const = default;
};

/// Everything the runtime needs to know about its image.
struct BootConfig {
  int version = kBootConfigVersion;
  std::string kver;                   ///< kernel release the modules were built for
  std::vector<std::string> features;  ///< enabled features, in plan order
  std::vector<BootModule> modules;    ///< every module in the image, dependencies first
  std::vector<std::string> load;      ///< modules loaded unconditionally, in this order
  std::vector<BootAlias> aliases;     ///< coldplug/hotplug table: load only what is present
  std::map<std::string, std::string> settings;  ///< defaults, e.g. rescue_shell, ld_library_path
  /// modprobe.d `blacklist` names: never loaded for a device's modalias (coldplug, hotplug), still
  /// loaded when named or needed as a dependency, as modprobe does.
  std::vector<std::string> blacklist = {};
  /// LUKS devices to open before the import, from the root's /etc/crypttab (`luks` records).
  std::vector<BootLuks> luks = {};

  bool operator==(const BootConfig&) const = default;

  /// The module called NAME ('-' and '_' are equivalent), or nullptr.
  const BootModule* find_module(std::string_view name) const;
  /// The setting KEY, or FALLBACK when it is not set.
  std::string setting(std::string_view key, std::string_view fallback = {}) const;
};

/// Serialises CONFIG in the format described above.
std::string write_boot_config(const BootConfig& config);
/// Parses TEXT; errors name the line number and what is wrong with it.
Result<BootConfig> parse_boot_config(std::string_view text);

/// Normalises a module name as the kernel does: '-' becomes '_'.
std::string normalize_module_name(std::string_view name);

}  // namespace zinitrd
