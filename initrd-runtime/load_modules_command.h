// load_modules_command.h: `init load-modules [NAME...]`, the runtime used as a command rather than
// as PID 1.
//
// Scripts that build test pools inside an image (with /proc, /sys and devtmpfs already mounted)
// load the image's modules exactly as the boot does: dependencies first, options from the boot
// config and from MODULE.param=value on the kernel command line.
#pragma once

#include <string>
#include <vector>

namespace zinitrd::rt {

/// Loads NAMES (with dependencies), or the boot config's `load` list plus the drivers of the
/// present devices when NAMES is empty. Returns the process exit status (0 = all loaded).
int load_modules_command(const std::vector<std::string>& names);

}  // namespace zinitrd::rt
