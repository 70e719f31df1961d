// boot_check.h: the end of a boot under `zinitrd boot-test` (kernel parameter zinitrd.boot_test).
//
// The generator boots this machine's kernel and image in a VM against the root pool's disks
// behind a throwaway overlay. The boot runs as usual up to the point of no return: the root is
// mounted on /sysroot, its init resolves there and the early children are mounted. Then, instead
// of switch_root (never running the real system's init), or at the first failing stage instead of
// the rescue shell and retries, /init prints its boot log and one verdict line on the console in
// the format of boot_verdict.h and powers the VM off.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "boot_verdict.h"
#include "failure.h"

namespace zinitrd::rt {

/// Milliseconds the stages of this boot took so far.
struct StageTimes {
  int64_t modules_ms = 0;
  int64_t import_ms = 0;
  int64_t mount_ms = 0;
};

/// The verdict of a boot that reached switch_root with ROOT mounted, INIT found in it and
/// CHILDREN early children mounted. INIT_START_MS: when the kernel started /init (-1 unknown);
/// NOW_MS: time since boot (pure).
BootVerdict pass_verdict(const std::string& root, const std::string& init, int children,
                         const StageTimes& times, int64_t init_start_ms, int64_t now_ms);

/// The verdict of a boot that stopped with FAILURE (pure).
BootVerdict fail_verdict(const Failure& failure, const StageTimes& times, int64_t init_start_ms,
                         int64_t now_ms);

/// What the console gets: every line of BOOT_LOG behind kBootLogTag, then the verdict line (pure).
std::string boot_test_report(std::string_view boot_log, const BootVerdict& verdict);

/// When /init began, in ms since boot: the timestamp of the first line of BOOT_LOG
/// ("[    2.499000] zinitrd ... starting"), logged right after the early mounts; -1 when there
/// is none. (PID 1's start time in /proc is when the kernel made the thread, long before /init.)
int64_t first_log_ms(std::string_view boot_log);

/// Prints the boot log and VERDICT on the console, waits for the console to drain and powers
/// the machine off. Started by hand (not PID 1) it exits instead: 0 for PASS, 1 for FAIL.
[[noreturn]] void finish_boot_test(const BootVerdict& verdict);

/// PASS: see pass_verdict; prints and powers off.
[[noreturn]] void boot_test_pass(const std::string& root, const std::string& init, int children,
                                 const StageTimes& times);

/// FAIL at FAILURE's stage: prints and powers off.
[[noreturn]] void boot_test_fail(const Failure& failure, const StageTimes& times);

}  // namespace zinitrd::rt
