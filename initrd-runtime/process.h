// process.h: running zpool/zfs (and the rescue shell's helpers) as child processes.
//
// The boot path runs a handful of programs and must report exactly what it ran and what they
// said when something fails, so a run returns the command line, the combined stdout+stderr, and
// how it ended. A run has a deadline: a `zpool import` stuck waiting for a device must not hang
// PID 1 forever.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace zinitrd::rt {

/// How a child process ended.
struct ProcessResult {
  std::string command;     ///< the command line, quoted for display
  std::string output;      ///< stdout and stderr, interleaved as written (capped at 1 MiB)
  int exit_code = -1;      ///< exit status, or -1 when killed by a signal or not started
  int signal = 0;          ///< terminating signal, 0 when it exited
  bool timed_out = false;  ///< killed because the deadline passed
  int64_t elapsed_ms = 0;

  /// True when the program ran and exited with status 0.
  bool ok() const { return exit_code == 0 && signal == 0 && !timed_out; }
  /// "exit code 1", "killed by signal 9", "timed out after 120 s"...
  std::string describe() const;
};

/// Runs ARGV (argv[0] is an absolute path) with exactly ENV as environment, stdin on /dev/null,
/// stdout+stderr captured. Kills the child after TIMEOUT_MS. Errors only when it cannot start.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env, int64_t timeout_ms);

/// As above, with INPUT (at most 64 KiB) on the child's stdin through a pipe, then end of file:
/// how a secret reaches `zfs load-key` without appearing on any command line.
Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env, int64_t timeout_ms,
                                  std::string_view input);

/// Reaps every exited child without blocking (PID 1 inherits orphans).
void reap_zombies();

}  // namespace zinitrd::rt
