// module_loader.h: loading the image's kernel modules with finit_module(2), as modprobe would.
//
// There is no modprobe in the image: the boot config lists every module with its in-image path,
// its hard dependencies, its softdeps (pre and post) and its modprobe.d options. The loader
// follows modprobe's rules (libkmod's kmod_module_probe_insert_module):
//   - hard dependencies load first; when one fails, the module is not tried and fails too;
//   - softdep "pre:" modules load first and "post:" modules after, when they can: their failure
//     is noted and the module loads anyway (crc_t10dif's `pre: crct10dif` names
//     crct10dif_pclmul, which fails with ENODEV on CPUs without PCLMULQDQ; sd_mod and nvme_core
//     need crc_t10dif all the same);
//   - ENODEV/ENXIO mean "no device or CPU feature for this driver": expected of hardware-specific
//     variants, reported as such, never as a broken image;
//   - modprobe.d `blacklist` and `modprobe.blacklist=` keep a module from being loaded for a
//     device's modalias (coldplug, hotplug) but not when named or needed as a dependency;
//     `module_blacklist=` is the kernel's own: it refuses those modules everywhere, so they are
//     not tried at all;
//   - the MODULE.param=value options of the kernel command line are added (the kernel does not
//     apply them to modules that /init loads; kmod does it by reading /proc/cmdline, and so do
//     we); "already loaded" and "built in" are success.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"
#include "result.h"

namespace zinitrd::rt {

/// Command-line module parameters: normalised module name -> "param=value" words.
using ModuleParams = std::map<std::string, std::vector<std::string>>;

/// The modules to load for a request, dependencies first, each once.
struct ModulePlan {
  std::vector<const BootModule*> order;  ///< modules of the image, in load order
  std::vector<std::string> absent;       ///< names (requested or deps) the image does not carry
};

/// Resolves NAMES with their hard dependencies and softdeps against CONFIG, in the order the
/// loader tries them (pure; cycles are cut).
ModulePlan plan_modules(const BootConfig& config, const std::vector<std::string>& names);

/// The option string passed to finit_module for MODULE: modprobe.d options, then the command
/// line's (later ones win in the kernel's parser, so the command line overrides).
std::string module_options(const BootModule& module, const ModuleParams& params);

/// The modules that /proc/modules TEXT shows still running their init (state "Loading"), in its
/// order (pure): what a process stuck in finit_module waits on.
std::vector<std::string> modules_loading(std::string_view proc_modules);

/// True for the errno values with which a driver says "nothing here for me" (pure).
bool is_no_device_error(int err);

/// One module that did not load.
struct ModuleFailure {
  std::string module;
  int err = 0;          ///< errno of open/finit_module; 0 when it was not tried (a dep failed)
  std::string message;  ///< a full sentence with what to do
};

/// What one load request did.
struct LoadReport {
  /// Requested modules (and their hard dependencies) that did not load.
  std::vector<ModuleFailure> failures;
  /// Softdeps that did not load and blacklisted modules left out: worth a debug line only.
  std::vector<std::string> notes;

  bool ok() const { return failures.empty(); }
  /// True when every failure is ENODEV/ENXIO (hardware or CPU not there), or there is none.
  bool only_no_device() const;
  /// The failures, one per line.
  std::string describe() const;
};

/// Blacklists in force at boot.
struct ModuleBlacklist {
  std::set<std::string> alias;   ///< modprobe.d + modprobe.blacklist=: not loaded for a modalias
  std::set<std::string> kernel;  ///< module_blacklist=: the kernel refuses them everywhere
};

/// The kernel as the loader sees it; tests replace it.
struct ModuleKernel {
  /// Inserts MODULE with OPTIONS: 0, or the errno of open/finit_module (EEXIST: already there).
  std::function<int(const BootModule& module, const std::string& options)> insert;
  /// True when module NAME is loaded or built in.
  std::function<bool(std::string_view name)> present;
};

/// finit_module(2) on the module's file, and /sys/module.
ModuleKernel real_module_kernel();

/// Loads modules of one image; remembers what it already did.
class ModuleLoader {
 public:
  /// CONFIG and PARAMS must outlive the loader. BLACKLIST_ALIAS / BLACKLIST_KERNEL are the
  /// modprobe.blacklist= and module_blacklist= names of the command line (CONFIG adds its own).
  ModuleLoader(const BootConfig& config, const ModuleParams& params,
               const std::vector<std::string>& blacklist_alias = {},
               const std::vector<std::string>& blacklist_kernel = {},
               ModuleKernel kernel = real_module_kernel());

  /// Loads every module of NAMES with its dependencies and softdeps. Modules that can load still
  /// load when others fail. BY_ALIAS: the names come from a device's modalias, so blacklisted
  /// ones are left out (as udev's modprobe does).
  LoadReport load_report(const std::vector<std::string>& names, bool by_alias = false);
  /// load_report() for explicit names, with every failure collected into one error.
  Status load(const std::vector<std::string>& names);
  /// Loads NAME (with its dependencies) in a child process, so that a driver whose init probes
  /// hardware (ahci waits for its links) does not hold up the others; a module that two children
  /// need loads once (the kernel makes the second finit_module wait, then return EEXIST). REPORT
  /// runs in the child on its load_report(). Returns the child's pid, or -1 when fork() failed
  /// (then nothing was done). Pass the child's wait status to reaped().
  pid_t spawn_load(const std::string& name, bool by_alias,
                   const std::function<void(const LoadReport&)>& report);
  /// Takes in what the child of spawn_load(NAME) did: modules it loaded count as this loader's,
  /// and a failure it reported is remembered as load_one() remembers one. True when NAME loaded.
  bool reaped(const std::string& name, int wait_status);
  /// True when NAME may not be loaded for a modalias.
  bool alias_blacklisted(std::string_view name) const;
  /// True when NAME is loaded or built in (/sys/module/NAME exists).
  static bool is_present(std::string_view name);
  /// True when NAME is loaded or built in, as this loader's kernel says.
  bool present(std::string_view name) const { return kernel_.present(name); }
  /// Number of modules this loader inserted itself.
  int loaded_count() const { return loaded_; }

 private:
  enum class State { kLoading, kLoaded, kFailed };
  /// Loads NAME after its softdeps and dependencies; failures of NAME or its hard dependencies
  /// go to FAILURES, softdep trouble to NOTES. True when NAME is there afterwards.
  bool load_one(const std::string& name, std::vector<ModuleFailure>& failures,
                std::vector<std::string>& notes);
  /// Loads the softdeps NAMES of MODULE (WHEN: "pre"/"post"), noting failures.
  void load_soft(const std::vector<std::string>& names, const std::string& module, const char* when,
                 std::vector<std::string>& notes);
  /// Inserts MODULE; an error says what happened and what to do.
  Status insert(const BootModule& module);

  const BootConfig& config_;
  const ModuleParams& params_;
  ModuleBlacklist blacklist_;
  ModuleKernel kernel_;
  std::map<std::string, State> state_;
  int loaded_ = 0;
};

}  // namespace zinitrd::rt
