// process.h: the generator's one way to run a program (zfs, zpool, zdb, dkms, findmnt...).
//
// A program is an argv vector, never a shell string: a pool or dataset name goes to the program
// as one argument whatever characters it holds. The program gets the C locale (its output is
// parsed), stdin on /dev/null, its own process group, and a deadline: `zpool list` on a suspended
// pool, or `zdb` on a damaged cache file, can block forever, and `zinitrd build` runs from kernel
// upgrade hooks that must finish. At the deadline the whole group is killed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace zinitrd::gen {

/// What a command printed and how it ended.
struct CommandOutput {
  bool ran = false;        ///< false when it could not be started (not installed, no fork)
  int status = -1;         ///< exit status (128+N for signal N); -1 when it did not run
  std::string out;         ///< standard output (and standard error, when merged)
  bool timed_out = false;  ///< killed at the deadline (status is then 128+SIGKILL)

  /// True when it ran, in time, and exited 0.
  bool ok() const { return ran && !timed_out && status == 0; }
  /// "exit status 1", "killed by signal 9", "no answer within 30 s", "could not be started".
  std::string describe() const;
};

/// How to run a command.
struct CommandOptions {
  int64_t timeout_ms = 30'000;  ///< kill the command (and its children) after this; 0 = never
  bool merge_stderr = false;    ///< capture standard error with standard output (else discarded)
};

/// Runs ARGV (argv[0] looked up in PATH) with the C locale and captures its output.
CommandOutput run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

/// Runs one command; passes that ask the host something take one, so tests can answer for it.
using CommandRunner = std::function<CommandOutput(const std::vector<std::string>& argv)>;

}  // namespace zinitrd::gen
