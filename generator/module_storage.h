// module_storage.h: whether an image carries a kernel's modules compressed or decompressed.
//
// /init loads modules with finit_module(2). A compressed module (.ko.xz) is passed with
// MODULE_INIT_COMPRESSED_FILE, which only a kernel built with CONFIG_MODULE_DECOMPRESS accepts,
// and its decompressor handles the one format chosen by CONFIG_MODULE_COMPRESS_{GZIP,XZ,ZSTD}
// (kernel/module/decompress.c). Other kernels fail such a module with EOPNOTSUPP at boot, when
// nothing can be fixed: so the build decides, from the kernel's build configuration
// (/boot/config-KVER, or lib/modules/KVER/config), to keep each format or to decompress it, and
// refuses an image that would carry modules the kernel cannot load.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "module_file.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// What a kernel's build configuration says about loading compressed modules.
struct KernelModuleConfig {
  std::string source;       ///< in-root path of the configuration read; empty when none was found
  bool decompress = false;  ///< CONFIG_MODULE_DECOMPRESS=y
  /// The format of CONFIG_MODULE_COMPRESS_{GZIP,XZ,ZSTD}=y: the only one its decompressor reads.
  ModuleCompression format = ModuleCompression::kNone;

  /// True when the kernel loads modules compressed with C (kNone: always).
  bool loads(ModuleCompression c) const;
};

/// The module settings of kernel configuration TEXT (a .config) read from SOURCE.
KernelModuleConfig parse_kernel_config(std::string_view text, std::string source);

/// The configuration of kernel KVER inside ROOT: /boot/config-KVER (Debian, Ubuntu, Fedora),
/// else /lib/modules/KVER/config (Fedora, Arch's linux package ships none: then source is
/// empty and nothing is known).
KernelModuleConfig read_kernel_config(const RootFs& root, const std::string& kver);

/// --decompress-modules: what to do with compressed modules.
enum class DecompressModules {
  kAuto,    ///< keep them when the kernel loads them (see kKeepWhenLoadable), else decompress
  kAlways,  ///< decompress every compressed module at build time
  kNever,   ///< keep them as they are; refuse the build when the kernel cannot load them
};

/// Parses "auto", "yes", "no".
Result<DecompressModules> parse_decompress_modules(std::string_view s);

/// The decision for one kernel's modules.
struct ModuleStoragePlan {
  std::set<ModuleCompression> decompress;  ///< formats decompressed at build time
  std::set<ModuleCompression> keep;        ///< compressed formats carried as they are
  std::vector<std::string> problems;       ///< why the image would not load its modules
  std::string summary;                     ///< one line for the build report ("" when all .ko)
};

/// Decides, for the compressed FORMATS of KVER's modules, under POLICY and CONFIG (pure).
ModuleStoragePlan plan_module_storage(const KernelModuleConfig& config,
                                      const std::set<ModuleCompression>& formats,
                                      DecompressModules policy, const std::string& kver);

}  // namespace zinitrd::gen
