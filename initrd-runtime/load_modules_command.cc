// load_modules_command.cc: `init load-modules` (see load_modules_command.h).
#include "load_modules_command.h"

#include "boot_config.h"
#include "cmdline.h"
#include "log.h"
#include "modalias.h"
#include "module_loader.h"
#include "util.h"

namespace zinitrd::rt {

int load_modules_command(const std::vector<std::string>& names) {
  log_setup(LogMode::kTool, false);
  auto text = read_file(std::string(kBootConfigPath));
  if (!text) {
    log_error("%s (is this a zinitrd image?)", text.error().message.c_str());
    return 1;
  }
  auto config = parse_boot_config(*text);
  if (!config) {
    log_error("%s: %s", std::string(kBootConfigPath).c_str(), config.error().message.c_str());
    return 1;
  }
  // Like kmod, apply MODULE.param=value from the kernel command line.
  auto cmdline = read_file("/proc/cmdline", 1 << 20);
  BootRequest request = parse_cmdline(cmdline ? *cmdline : std::string());
  ModuleLoader loader(*config, request.module_params, request.blacklist, request.module_blacklist);
  Status st = loader.load(names.empty() ? config->load : names);
  int matched = 0;
  if (names.empty()) matched = coldplug(*config, loader);
  if (!st) {
    log_error("%s", st.error().message.c_str());
    return 1;
  }
  log_info(
      "%d modules loaded%s", loader.loaded_count(),
      names.empty() ? (", " + std::to_string(matched) + " devices matched a driver").c_str() : "");
  return 0;
}

}  // namespace zinitrd::rt
