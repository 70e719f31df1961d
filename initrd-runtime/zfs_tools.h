// zfs_tools.h: running zpool and zfs inside the image, without udev.
//
// Debian's libzfs waits up to 30 s per device for udev and ~3 s for devid strings unless told
// not to (measured, ../shared/ENV.md), so every run gets ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0 and
// ZFS_VDEV_DEVID_OPT_OUT=YES, plus the image's LD_LIBRARY_PATH setting.
#pragma once

#include <string>
#include <vector>

#include "boot_config.h"
#include "failure.h"
#include "process.h"
#include "result.h"

namespace zinitrd::rt {

/// Where the image's programs live; searched in this order.
inline constexpr const char* kProgramDirs = "/usr/sbin:/sbin:/usr/bin:/bin";
/// Deadline of one zpool/zfs run: long enough for a slow import, short of hanging forever.
inline constexpr int64_t kZfsCommandTimeoutMs = 180'000;

/// The environment every zpool/zfs run (and the rescue shell) gets.
std::vector<std::string> zfs_environment(const BootConfig& config);

/// The image's zpool and zfs programs and how to run them.
class ZfsTools {
 public:
  /// Finds zpool and zfs in the image (either may be missing; run() then fails).
  explicit ZfsTools(const BootConfig& config);

  /// Runs `zpool ARGS...`.
  Result<ProcessResult> zpool(const std::vector<std::string>& args) const;
  /// Runs `zfs ARGS...`.
  Result<ProcessResult> zfs(const std::vector<std::string>& args) const;
  /// Absolute path of the image's zfs program, "" when it has none.
  const std::string& zfs_path() const { return zfs_; }
  /// The environment given to the programs.
  const std::vector<std::string>& env() const { return env_; }
  /// A Failure for a run that did not succeed (SUMMARY, the command, its output and status).
  static Failure failure(std::string stage, std::string summary, const ProcessResult& run);
  /// A Failure for a program that could not be started at all.
  static Failure failure(std::string stage, std::string summary, const Error& error);

 private:
  Result<ProcessResult> run(const std::string& program, const char* name,
                            const std::vector<std::string>& args) const;

  std::string zpool_, zfs_;
  std::vector<std::string> env_;
};

}  // namespace zinitrd::rt
