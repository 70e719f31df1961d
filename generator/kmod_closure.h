// kmod_closure.h: which kernel modules (and firmware) an image needs, resolved with libkmod.
//
// Features request modules by name or alias (loaded at every boot, e.g. zfs) or whole module
// directories for coldplug (e.g. every storage driver: included with their modaliases, loaded at
// boot only when a device matches). The closure adds hard dependencies and softdep "pre:"/"post:"
// modules (kept apart: at boot a softdep may fail, as with modprobe, a hard dependency may not),
// the firmware each module names, and modprobe.d options, all read from ROOT/lib/modules/KVER and
// ROOT/{etc,lib,usr/lib,run}/modprobe.d. Built-in modules are recognised and skipped. Every
// problem is collected; nothing is reported one at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "boot_config.h"
#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// One module wanted by a feature.
struct KmodRequest {
  std::string name;          ///< module name or alias ("zfs", "virtio-blk", "crypto-crc32c")
  bool required = true;      ///< missing => error (else a warning)
  bool load_at_boot = true;  ///< load unconditionally at boot (else only on a matching device)
  std::string requested_by;  ///< feature name, for messages
  std::string hint;          ///< appended to the error when missing or unusable ({kver} expanded)
};

/// Result of resolving all requests.
struct ModuleClosure {
  std::vector<BootModule> modules;     ///< every module to include, dependencies first
  std::vector<std::string> load;       ///< modules to load at every boot, in request order
  std::vector<BootAlias> aliases;      ///< modalias table of the included modules
  std::vector<std::string> files;      ///< in-root paths to copy: .ko files and firmware
  std::vector<std::string> builtin;    ///< requested modules that are built into the kernel
  std::vector<std::string> blacklist;  ///< modprobe.d `blacklist` names of the root, sorted
  std::vector<std::string> missing;    ///< errors: each a full sentence with what to do
  std::vector<std::string> warnings;   ///< non-fatal: what was skipped and why
};

/// The names of the modules built into the kernel (normalised: '-' read as '_'), from
/// modules.builtin of MODULES_DIR (in-root, e.g. "/lib/modules/KVER"), read inside ROOT. Empty
/// when there is no such file.
std::unordered_set<std::string> builtin_modules(const RootFs& root, const std::string& modules_dir);

/// Resolves module requests against one kernel's modules tree inside a root.
class KmodClosure {
 public:
  /// Opens ROOT/lib/modules/KVER (modules.dep etc. must exist: else an error naming depmod).
  static Result<std::unique_ptr<KmodClosure>> open(const RootFs& root, std::string kver);
  ~KmodClosure();

  /// Adds one request.
  void request(KmodRequest request);
  /// Adds every module below lib/modules/KVER/SUBDIR (e.g. "kernel/drivers/ata") for coldplug:
  /// included with aliases, not loaded unconditionally. A missing directory is a warning. With
  /// ONLY, just the modules of the directory that ONLY names (normalised names).
  void request_directory(std::string_view subdir, std::string_view requested_by,
                         const std::vector<std::string>* only = nullptr);

  /// Leaves module NAME, or every module below SUBDIR/ (ending in '/'), out of directory requests.
  /// Modules that an included module depends on are included all the same.
  void exclude(std::string_view name_or_subdir);

  /// Leaves out of directory requests every module that needs (a hard dependency, or a softdep
  /// "pre:" module, transitively) module NAME or a module below SUBDIR/ (ending in '/').
  void exclude_needing(std::string_view name_or_subdir);

  /// Resolves everything requested so far.
  ModuleClosure resolve();

 private:
  struct Impl;
  explicit KmodClosure(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zinitrd::gen
