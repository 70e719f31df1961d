// zfs_tools.cc: zpool/zfs runs with a udev-less environment (see zfs_tools.h).
#include "zfs_tools.h"

#include "log.h"
#include "util.h"

namespace zinitrd::rt {

std::vector<std::string> zfs_environment(const BootConfig& config) {
  std::vector<std::string> env = {
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/",
      "TERM=linux",
      "ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0",
      "ZFS_VDEV_DEVID_OPT_OUT=YES",
  };
  std::string ld = config.setting("ld_library_path");
  if (!ld.empty()) env.push_back("LD_LIBRARY_PATH=" + ld);
  return env;
}

ZfsTools::ZfsTools(const BootConfig& config)
    : zpool_(find_program("zpool", kProgramDirs)),
      zfs_(find_program("zfs", kProgramDirs)),
      env_(zfs_environment(config)) {}

Result<ProcessResult> ZfsTools::run(const std::string& program, const char* name,
                                    const std::vector<std::string>& args) const {
  if (program.empty())
    return Error::msg(std::string("the image has no `") + name + "` program (searched " +
                      kProgramDirs + "): rebuild it with zinitrd, whose zfs feature adds it");
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv, env_, kZfsCommandTimeoutMs);
  if (r)
    log_debug("ran %s: %s (%lld ms)", r->command.c_str(), r->describe().c_str(),
              static_cast<long long>(r->elapsed_ms));
  return r;
}

Result<ProcessResult> ZfsTools::zpool(const std::vector<std::string>& args) const {
  return run(zpool_, "zpool", args);
}

Result<ProcessResult> ZfsTools::zfs(const std::vector<std::string>& args) const {
  return run(zfs_, "zfs", args);
}

Failure ZfsTools::failure(std::string stage, std::string summary, const ProcessResult& run) {
  Failure f;
  f.stage = std::move(stage);
  f.summary = std::move(summary);
  f.command = run.command;
  f.output = run.output;
  f.status = run.describe();
  if (run.exit_code == 127 &&
      run.output.find("error while loading shared libraries") != std::string::npos)
    f.hints.push_back(
        "a shared library is missing from the image: rebuild it with zinitrd (`zinitrd ls` lists "
        "its files)");
  return f;
}

Failure ZfsTools::failure(std::string stage, std::string summary, const Error& error) {
  Failure f;
  f.stage = std::move(stage);
  f.summary = std::move(summary);
  f.status = error.message;
  f.retryable = false;
  return f;
}

}  // namespace zinitrd::rt
