// module_loader.h: loading the image's kernel modules with finit_module(2).
//
// There is no modprobe in the image: the boot config lists every module with its in-image path,
// its dependencies (by name) and its modprobe.d options, in dependency order. The loader adds
// the MODULE.param=value options of the kernel command line (the kernel does not apply them to
// modules that /init loads; kmod does it by reading /proc/cmdline, and so do we), loads the
// dependencies first, and treats "already loaded" and "built in" as success.
#pragma once

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

/// Resolves NAMES and their dependencies against CONFIG (pure; cycles are cut).
ModulePlan plan_modules(const BootConfig& config, const std::vector<std::string>& names);

/// The option string passed to finit_module for MODULE: modprobe.d options, then the command
/// line's (later ones win in the kernel's parser, so the command line overrides).
std::string module_options(const BootModule& module, const ModuleParams& params);

/// Loads modules of one image; remembers what it already did.
class ModuleLoader {
 public:
  /// CONFIG and PARAMS must outlive the loader.
  ModuleLoader(const BootConfig& config, const ModuleParams& params);

  /// Loads every module of NAMES with its dependencies. Every failure is collected into one
  /// error; modules that can load still load.
  Status load(const std::vector<std::string>& names);
  /// True when NAME is loaded or built in (/sys/module/NAME exists).
  static bool is_present(std::string_view name);
  /// Number of modules this loader inserted itself.
  int loaded_count() const { return loaded_; }

 private:
  Status insert(const BootModule& module);

  const BootConfig& config_;
  const ModuleParams& params_;
  std::set<std::string> attempted_;
  int loaded_ = 0;
};

}  // namespace zinitrd::rt
