// build.h: `zinitrd build`, as a pipeline of named passes.
//
//   plan features -> resolve kernel modules -> module storage -> resolve ELF closure ->
//   LUKS devices -> gather files -> embed key files -> ssh server -> console keymap ->
//   early microcode
//   [-> plan UKI] -> write cpio + compress [-> UKI] -> atomic rename
//
// Each pass is a function in build.cc with one short comment; `--stats` prints their times.
// Nothing is written to the output until every input has resolved: a build that cannot produce
// a bootable image fails with one message listing every problem and leaves the old image alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host_only.h"
#include "image_writer.h"
#include "microcode.h"
#include "module_storage.h"
#include "result.h"
#include "uki.h"

namespace zinitrd::gen {

/// Everything `zinitrd build` can be told, after defaults are applied.
struct BuildOptions {
  std::string root = "/";  ///< system to build for
  std::string kver;        ///< kernel release (lib/modules/KVER under root)
  std::string output;      ///< image path on the host (already under root)
  WriteOptions write;      ///< compression, level, mtime
  /// zinitrd's own modules.d directories (host paths), later ones override; the root's
  /// /etc/zinitrd/modules.d is read after them, inside the root.
  std::vector<std::string> feature_dirs;
  std::vector<std::string> add, omit;  ///< features asked for / refused
  std::vector<std::string> includes;   ///< "SRC[:DST]": host files copied as they are
  std::vector<std::string> installs;   ///< programs (with ELF closure) from the root
  std::vector<std::string> kmods;      ///< extra kernel modules loaded at boot
  std::vector<std::string> keyfiles;   ///< "SRC[:DST]": encryption key files (mode 0600)
  std::string runtime;                 ///< host path of the runtime binary (zinitrd's init)
  std::string init;                    ///< replacement /init (host path), empty = the runtime
  /// Unlock over SSH (ssh_server.h): authorized_keys and host key, in-root paths; empty = the
  /// defaults. A non-empty ssh_authorized_keys adds the ssh feature.
  std::string ssh_authorized_keys, ssh_host_key;
  bool host_only = false;  ///< only the drivers of the root pool's devices
  /// Compressed modules: kept for the kernel to decompress, or decompressed at build time.
  DecompressModules decompress_modules = DecompressModules::kAuto;
  /// With host_only: the drivers to use instead of probing this host (tests inject them).
  std::optional<DeviceDrivers> host_drivers;
  /// The console keymap: "auto" (the system's, console_keymap.h), "none", or a keymap file (in
  /// the root).
  std::string keymap = "auto";
  MicrocodeOptions microcode;  ///< the early segment (its host_only is taken from host_only)
  UkiOptions uki;              ///< uki.enabled: the output is a UKI carrying the image
};

/// Time of one pass.
struct PassTime {
  std::string name;
  double seconds = 0;
};

/// What a successful build did.
struct BuildReport {
  std::vector<std::string> warnings;  ///< non-fatal: what was skipped and why
  std::vector<std::string> notes;     ///< what the user must know (e.g. the image carries a key)
  std::vector<std::string> features;  ///< planned features, in order
  std::vector<PassTime> passes;
  /// The largest files of the image (in-image path, bytes), largest first: at most 10.
  std::vector<std::pair<std::string, uint64_t>> largest;
  WriteStats written;
  size_t modules = 0;            ///< kernel modules in the image
  std::string module_storage;    ///< how compressed modules are carried ("" when none are)
  std::string keymap;            ///< the console keymap carried and where it came from ("" none)
  std::string microcode;         ///< what the early microcode segment carries
  uint64_t microcode_bytes = 0;  ///< size of that segment (0: none)
  uint64_t uki_bytes = 0;        ///< size of the UKI written (0: a plain initrd was written)
  bool uki_signed = false;       ///< the UKI was signed with sbsign
};

/// The path inside the image where the runtime lives; /init points to it unless --init is given.
inline constexpr const char* kRuntimeImagePath = "/usr/lib/zinitrd/init";

/// Runs the whole pipeline. On error nothing was written; the Error lists every problem found.
Result<BuildReport> build_image(const BuildOptions& options);

}  // namespace zinitrd::gen
