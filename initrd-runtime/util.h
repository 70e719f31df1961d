// util.h: small string and file-system helpers shared by the runtime's passes.
//
// Everything here is either pure (strings) or a thin, error-returning wrapper over one system
// call, so that the passes read as what they do rather than how errno is handled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "text.h"  // split_words, split_all, trim, join, format_command: shared with the generator

namespace zinitrd::rt {

/// True when S starts with P.
inline bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
/// ASCII lower-case copy of S.
std::string to_lower(std::string_view s);
/// "1.23s" for MS milliseconds.
std::string format_seconds(int64_t ms);

/// Reads the whole file PATH (at most MAX bytes).
Result<std::string> read_file(const std::string& path, size_t max = 16 << 20);
/// Writes DATA to PATH (created with MODE, truncated).
Status write_file(const std::string& path, std::string_view data, unsigned mode = 0644);
/// mkdir -p PATH with MODE for created components.
Status make_dirs(const std::string& path, unsigned mode = 0755);
/// True when PATH exists (without following a final symlink).
bool path_exists(const std::string& path);
/// True when PATH is a regular file that is executable.
bool is_executable(const std::string& path);
/// True when PATH is a mount point (its device differs from its parent's, or it is "/").
bool is_mount_point(const std::string& path);
/// First executable NAME in DIRS (colon-separated), or "" when none is.
std::string find_program(std::string_view name,
                         std::string_view dirs = "/usr/sbin:/sbin:/usr/bin:/bin");

/// Milliseconds of CLOCK_MONOTONIC (the clock dmesg uses, near enough).
int64_t monotonic_ms();
/// Sleeps MS milliseconds (restarting on EINTR).
void sleep_ms(int64_t ms);

/// Formats a 32-bit hostid the way zpool prints it in messages ("8e9a1a2b", no 0x).
std::string format_hostid(uint32_t hostid);
/// Parses "0x8e9a1a2b", "8E9A1A2B" or "8e9a1a2b" (1-8 hex digits); false when malformed.
bool parse_hostid(std::string_view s, uint32_t& out);

}  // namespace zinitrd::rt
