// resume_config.h: where a hibernated system's image is, as the root configured it for its
// initramfs. Debian's installer writes it for initramfs-tools as RESUME= in
// /etc/initramfs-tools/conf.d/resume (a shell fragment); a system that moves to zinitrd keeps
// resuming without a kernel command line change. resume= on the command line wins at boot
// (initrd-runtime/resume.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace zinitrd::gen {

/// The in-root path initramfs-tools reads RESUME= from.
inline constexpr std::string_view kInitramfsToolsResume = "/etc/initramfs-tools/conf.d/resume";

/// The RESUME= value of TEXT (the last assignment; quotes removed; comments skipped); nullopt
/// when none, empty, or "none" (pure). "auto" is returned as is: initramfs-tools resolves it at
/// build time to the largest swap area, which the caller reports instead.
std::optional<std::string> parse_resume_setting(std::string_view text);

}  // namespace zinitrd::gen
