// fatal.h: what /init does instead of aborting.
//
// The runtime is built with -fno-exceptions, so whatever the C++ library would throw ends the
// process: std::bad_alloc from operator new, std::out_of_range from .at(), a Result accessed for
// a value it does not hold (result.h)... all reach std::terminate(), then abort(). For PID 1 that
// is a kernel panic ("Attempted to kill init!") with no word about why. The handlers installed
// here take those ends instead: the new-handler (out of memory), the terminate handler (an
// exception, a bad Result access) and the fatal signals (SIGABRT, SIGSEGV, SIGBUS, SIGILL,
// SIGFPE). They report what happened on the console, in /dev/kmsg and in boot.log, then:
//   - as PID 1: run a rescue shell found in the image (its exit restarts the boot), or without
//     one wait a little; then restart the boot by executing /init again (the boot's stages are
//     made to be retried: mounts, loaded modules and an imported pool are taken as they are).
//     After kMaxFatalRestarts restarts in one boot the machine reboots, as a boot that keeps
//     failing without a shell does. PID 1 never returns and never exits.
//   - otherwise (`init load-modules`): exit with status kFatalExitCode.
// After a failure only async-signal-safe calls are made and nothing is allocated: the heap may be
// exhausted or corrupt, and a signal may have interrupted anything.
#pragma once

#include <cstdint>

namespace zinitrd::rt {

/// Exit status of a non-PID-1 /init that hit a fatal error (EX_SOFTWARE).
inline constexpr int kFatalExitCode = 70;
/// Restarts of the boot after fatal errors before PID 1 reboots the machine.
inline constexpr int kMaxFatalRestarts = 3;

/// Where the fatal path goes. The strings must outlive the process (literals): nothing is copied.
struct FatalConfig {
  bool pid1 = false;            ///< rescue and restart (else report and exit kFatalExitCode)
  const char* init = "/init";   ///< executed again to restart the boot
  char* const* argv = nullptr;  ///< init's arguments for the restart (main's argv); null: none
  const char* console = "/dev/console";  ///< the rescue shell's terminal
  /// Rescue shells to try, in order, null-terminated; null means the image's usual places
  /// (/usr/bin/busybox, /bin/busybox, /bin/sh, /usr/bin/sh). Busybox is run as `busybox sh`.
  const char* const* shells = nullptr;
  /// Counts the restarts of this boot: in the initramfs itself, which survives the exec and is
  /// always writable (a file under /run would be hidden when a restarted boot mounts /run again
  /// after an early failure); switch_root deletes it with the rest of the initramfs.
  const char* restart_count_file = "/.zinitrd-fatal-restarts";
  int64_t restart_delay_ms = 10'000;  ///< wait before a restart when no shell ran
};

/// Installs the new-handler, the terminate handler and the fatal signal handlers (on an
/// alternate stack, so a stack overflow is caught too).
void install_fatal_handlers(const FatalConfig& config);

/// Reports WHAT ("out of memory"...) and takes the fatal path of install_fatal_handlers()'s
/// configuration (exit kFatalExitCode when none was installed). Never returns.
[[noreturn]] void fatal(const char* what);

}  // namespace zinitrd::rt
