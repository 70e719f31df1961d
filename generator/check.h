// check.h: `zinitrd check`, the boot chain of a ZFS root checked before a reboot.
//
// run_checks() gathers the facts and evaluates the items (check_items.h) in boot-chain order:
// module -> DKMS -> userland -> hostid -> root dataset -> cache -> image. Files are read inside
// the root (RootFs: its symlinks never lead to the host's files); what only the host knows
// (pools, mounts, DKMS, the userland version) comes from commands run through a CommandRunner the
// tests replace, each with a deadline. Pool checks need the zfs module loaded on the host
// (`zpool`/`zfs` say "The ZFS modules are not loaded" otherwise): then they report kUnknown with
// the reason instead of failing. Parsers are in check_parsers.h, output in check_report.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "check_items.h"
#include "check_parsers.h"
#include "check_report.h"
#include "process.h"

namespace zinitrd::gen {

/// How long `zinitrd check` waits for each command it runs (a suspended pool blocks `zpool`).
inline constexpr int64_t kCheckCommandTimeoutMs = 20'000;

/// The runner of `zinitrd check` on the host: run_command() with kCheckCommandTimeoutMs.
CommandOutput run_check_command(const std::vector<std::string>& argv);

/// What `zinitrd check` looks at.
struct CheckOptions {
  std::string root = "/";  ///< the system (fixture trees in tests)
  std::string kver;        ///< kernel release
  std::string image;       ///< image path on the host; "" for ROOT's /boot/initrd.img-KVER or
                           ///< /boot/initramfs-KVER.img
};

/// Gathers every fact (reading files inside ROOT and running commands through RUN) and evaluates
/// all items, in boot-chain order.
std::vector<CheckItem> run_checks(const CheckOptions& options, const CommandRunner& run);

}  // namespace zinitrd::gen
