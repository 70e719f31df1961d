// rescue.h: telling the user what failed, and the rescue shell.
//
// A user at the console must never face a blinking cursor with no word: every failure is printed
// with its stage, the exact command, its output and exit code, and what to try. When the image has
// a shell (the rescue_shell setting, e.g. "/usr/bin/busybox sh") it runs on /dev/console as the
// session leader with a controlling terminal (so Ctrl-C works), and its exit retries the boot.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "boot_config.h"
#include "failure.h"

namespace zinitrd::rt {

/// Directory that receives busybox applet links, last on the shell's PATH.
inline constexpr const char* kAppletDir = "/usr/local/bin";

/// Splits the rescue_shell setting into argv (space-separated; empty when unset) (pure).
std::vector<std::string> parse_shell_command(std::string_view setting);

/// True when ARGV runs busybox (argv[0] is named "busybox") (pure).
bool is_busybox(const std::vector<std::string>& argv);

/// The rescue shell of the image: parse_shell_command of the setting, or empty when the setting
/// is absent or its program is not in the image.
std::vector<std::string> find_rescue_shell(const BootConfig& config);

/// The failure report, one line per entry, without a "zinitrd: " prefix (pure).
std::string format_failure(const Failure& failure);

/// Logs the failure report at error level (kmsg, boot.log and the console).
void report_failure(const Failure& failure);

/// Runs ARGV on /dev/console (its own session, the console as controlling terminal) with ENV and
/// waits until it exits, reaping orphans meanwhile. Returns its exit status (128+N when killed by
/// signal N), -1 when it could not start.
int run_on_console(const std::vector<std::string>& argv, const std::vector<std::string>& env);

/// The same with null-terminated ARGV and ENVP on terminal CONSOLE, allocating nothing and using
/// async-signal-safe calls only (the fatal path runs it when the heap may be gone). Returns -1
/// silently when it could not start.
int run_on_console(const char* const* argv, const char* const* envp,
                   const char* console = "/dev/console");

/// Runs the rescue shell ARGV on /dev/console with ENV, waits until it exits.
/// Busybox applet links are installed first. Returns the shell's exit status, -1 when it
/// could not start.
int run_rescue_shell(const std::vector<std::string>& argv, std::vector<std::string> env);

}  // namespace zinitrd::rt
