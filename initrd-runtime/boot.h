// boot.h: the boot itself, as PID 1: the stages in order, breaks, retries, the final switch.
//
//   cmdline     parse /proc/cmdline, check the root request, write spl_hostid= to /etc/hostid
//   modules     load the image's `load` list (zfs...) with options, coldplug present devices,
//               then keep listening for hotplugged ones
//   pre-import  wait rootdelay=
//   import      import the root pool only (or find the pool with bootfs for root=zfs:AUTO)
//   mount       mount the root dataset on /sysroot, then its early children (/usr, /etc...)
//   pre-pivot   switch_root to /sysroot and exec init
//
// rd.break=STAGE starts the rescue shell right before that stage. A failing stage is reported,
// then retried when the rescue shell exits; without a shell it is retried every 10 s until
// rd.timeout (default 180 s) and then the machine reboots. PID 1 never returns.
#pragma once

#include <cstdint>

#include "boot_config.h"
#include "cmdline.h"

namespace zinitrd::rt {

/// Default of the import_timeout setting: how long to wait for the root pool's disks.
inline constexpr int kDefaultImportTimeoutS = 60;
/// Without a rescue shell, how long failed stages are retried before rebooting (no rd.timeout).
inline constexpr int kDefaultGiveUpS = 180;

/// How long to wait for the root pool: rd.timeout= when given (0 = forever), else the
/// import_timeout setting, else kDefaultImportTimeoutS. In milliseconds, 0 = forever (pure).
int64_t import_timeout_ms(const BootRequest& request, const BootConfig& config);

/// How long failing stages are retried without a shell before rebooting, ms, 0 = forever (pure).
int64_t give_up_ms(const BootRequest& request);

/// What a boot without a rescue shell does after a failure.
enum class NoShellAction {
  kRetry,   ///< wait a little (loading drivers of new devices) and try the stage again
  kReboot,  ///< give up: a reboot may reach another boot entry or a fixed disk
};

/// The decision for a failure that RETRYABLE says waiting can (or cannot) cure, after failing
/// for FAILING_MS, with LIMIT_MS from give_up_ms(): retry while waiting can help and the limit
/// is not reached; a failure no waiting cures (a hostid, a misspelled dataset) reboots at once
/// unless rd.timeout=0 asked never to reboot (pure).
NoShellAction no_shell_action(bool retryable, int64_t failing_ms, int64_t limit_ms);

/// Boots the machine as PID 1. Never returns.
[[noreturn]] void boot_main(int argc, char** argv, char** envp);

}  // namespace zinitrd::rt
