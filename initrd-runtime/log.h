// log.h: the runtime's logging: /dev/kmsg, /run/zinitrd/boot.log and the console.
//
// At boot every line goes to /dev/kmsg as "<N>zinitrd: ..." (the kernel's console filter then
// honours quiet/loglevel for us) and, timestamped, to /run/zinitrd/boot.log, which survives
// switch_root. Errors, warnings and notices must reach the user even under `quiet`, so when the
// kernel's console_loglevel would hide them they are also written to fd 2 (the console). /dev/kmsg
// is reopened for every line because the kernel rate-limits each open file to 10 lines per 5 s.
// Outside of boot (`init load-modules`) everything goes to stderr only.
#pragma once

#include <string>
#include <string_view>

namespace zinitrd::rt {

/// syslog levels, as /dev/kmsg understands them.
enum class LogLevel { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

/// Where log lines go.
enum class LogMode {
  kBoot,  ///< PID 1: kmsg + boot.log + console for what the kernel would not show
  kTool,  ///< a command run by a user or a script: stderr only
};

/// Selects MODE; DEBUG also sends debug lines to kmsg (rd.debug).
void log_setup(LogMode mode, bool debug);
/// Opens /run/zinitrd/boot.log (after /run is mounted) and writes the lines logged so far.
void log_open_file();
/// Closes boot.log (before exec of the real init; the file stays in /run).
void log_close_file();

/// Logs one message (may contain newlines: each line becomes one record).
void log_text(LogLevel level, std::string_view text);
/// printf-style logging at each level.
void log_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Writes TEXT to the console (fd 2) unconditionally and to boot.log; used for the failure
/// report and the rescue banner, which the user must see whatever the log levels are.
void console_text(std::string_view text);

/// Writes LINE at error level to the console (fd 2), /dev/kmsg and boot.log (stderr only in
/// kTool mode) without allocating and with async-signal-safe calls only: for the fatal path,
/// where the heap may be exhausted or corrupt. Long lines are cut at 900 bytes.
void log_emergency(const char* line);

/// Formats "[    1.234567] " for the time T_MS milliseconds since boot (the dmesg look).
std::string log_timestamp(long long t_ms);

}  // namespace zinitrd::rt
