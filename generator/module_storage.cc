// module_storage.cc: keep or decompress compressed modules (see module_storage.h).
#include "module_storage.h"

#include "text.h"

namespace zinitrd::gen {
namespace {

// With --decompress-modules=auto, modules the kernel can decompress itself are kept compressed
// when this is true. Measured on Debian 13 (6.12, .ko.xz, zfs-dkms 2.3.9, the same 269 modules):
// kept, the image is 19.1 MB (29.6 MB unpacked in RAM, built in 3.4 s); decompressed, 21.8 MB
// (80.7 MB unpacked, 7.6 s): xz per module beats zstd over the archive. README, "Compressed
// modules".
constexpr bool kKeepWhenLoadable = true;

std::string names(const std::set<ModuleCompression>& formats) {
  std::vector<std::string> v;
  for (auto c : formats) v.emplace_back(compression_label(c));
  return join(v, ", ");
}

// Why KVER cannot load modules compressed with C, as the end of a sentence.
std::string why_not(const KernelModuleConfig& config, ModuleCompression c,
                    const std::string& kver) {
  if (config.source.empty())
    return "no configuration of " + kver + " was found (/boot/config-" + kver + ", /lib/modules/" +
           kver + "/config), so nothing says it can decompress them";
  if (!config.decompress)
    return config.source +
           " does not set CONFIG_MODULE_DECOMPRESS: the kernel loads only "
           "uncompressed modules";
  if (config.format == ModuleCompression::kNone)
    return config.source + " sets CONFIG_MODULE_DECOMPRESS but no CONFIG_MODULE_COMPRESS_* format";
  return config.source + " decompresses " + std::string(compression_label(config.format)) +
         " modules only (CONFIG_MODULE_COMPRESS_" +
         (config.format == ModuleCompression::kGzip ? "GZIP"
          : config.format == ModuleCompression::kXz ? "XZ"
                                                    : "ZSTD") +
         "), not " + std::string(compression_label(c));
}

}  // namespace

bool KernelModuleConfig::loads(ModuleCompression c) const {
  return c == ModuleCompression::kNone || (decompress && format == c);
}

KernelModuleConfig parse_kernel_config(std::string_view text, std::string source) {
  KernelModuleConfig k;
  k.source = std::move(source);
  for (const auto& raw : split_all(text, '\n')) {
    std::string_view line = trim(raw);
    if (line == "CONFIG_MODULE_DECOMPRESS=y") k.decompress = true;
    if (line == "CONFIG_MODULE_COMPRESS_GZIP=y") k.format = ModuleCompression::kGzip;
    if (line == "CONFIG_MODULE_COMPRESS_XZ=y") k.format = ModuleCompression::kXz;
    if (line == "CONFIG_MODULE_COMPRESS_ZSTD=y") k.format = ModuleCompression::kZstd;
  }
  return k;
}

KernelModuleConfig read_kernel_config(const RootFs& root, const std::string& kver) {
  for (const std::string& p : {"/boot/config-" + kver, "/lib/modules/" + kver + "/config"}) {
    auto text = root.read_file(p);
    if (text) return parse_kernel_config(*text, p);
  }
  return {};
}

Result<DecompressModules> parse_decompress_modules(std::string_view s) {
  if (s == "auto") return DecompressModules::kAuto;
  if (s == "yes") return DecompressModules::kAlways;
  if (s == "no") return DecompressModules::kNever;
  return Error::msg("--decompress-modules: '" + std::string(s) + "' is not auto, yes or no");
}

ModuleStoragePlan plan_module_storage(const KernelModuleConfig& config,
                                      const std::set<ModuleCompression>& formats,
                                      DecompressModules policy, const std::string& kver) {
  ModuleStoragePlan plan;
  for (auto c : formats) {
    if (c == ModuleCompression::kNone) continue;
    bool loadable = config.loads(c);
    bool decompress = policy == DecompressModules::kAlways ||
                      (policy == DecompressModules::kAuto && !(loadable && kKeepWhenLoadable));
    if (decompress) {
      plan.decompress.insert(c);
      continue;
    }
    plan.keep.insert(c);
    if (!loadable)
      plan.problems.push_back("the modules of " + kver + " are " +
                              std::string(compression_label(c)) + "-compressed and " +
                              why_not(config, c, kver) +
                              "; build with --decompress-modules=auto (or yes) to carry them "
                              "decompressed");
  }
  if (!plan.decompress.empty() && !plan.keep.empty())
    plan.summary = "modules: " + names(plan.decompress) + " decompressed at build time, " +
                   names(plan.keep) + " kept for the kernel to decompress";
  else if (!plan.decompress.empty())
    plan.summary = "modules: " + names(plan.decompress) + "-compressed, decompressed at build time";
  else if (!plan.keep.empty())
    plan.summary = "modules: " + names(plan.keep) + "-compressed, kept (" + kver +
                   " decompresses them itself)";
  if (policy == DecompressModules::kAuto)
    for (auto c : plan.decompress)
      if (!config.loads(c)) {
        plan.summary += " (" + why_not(config, c, kver) + ")";
        break;
      }
  return plan;
}

}  // namespace zinitrd::gen
