// module_loader.cc: dependency planning and finit_module(2) (see module_loader.h).
#include "module_loader.h"

#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "fd.h"
#include "log.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

void visit(const BootConfig& config, const std::string& name, std::set<std::string>& seen,
           ModulePlan& plan) {
  std::string n = normalize_module_name(name);
  if (!seen.insert(n).second) return;
  const BootModule* m = config.find_module(n);
  if (!m) {
    plan.absent.push_back(n);
    return;
  }
  for (const auto& dep : m->deps) visit(config, dep, seen, plan);
  plan.order.push_back(m);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string running_kernel() {
  struct utsname u;
  return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

}  // namespace

ModulePlan plan_modules(const BootConfig& config, const std::vector<std::string>& names) {
  ModulePlan plan;
  std::set<std::string> seen;
  for (const auto& n : names) visit(config, n, seen, plan);
  return plan;
}

std::string module_options(const BootModule& module, const ModuleParams& params) {
  std::string opts(trim(module.options));
  auto it = params.find(module.name);
  if (it != params.end()) {
    for (const auto& p : it->second) {
      if (!opts.empty()) opts += ' ';
      opts += p;
    }
  }
  return opts;
}

ModuleLoader::ModuleLoader(const BootConfig& config, const ModuleParams& params)
    : config_(config), params_(params) {}

bool ModuleLoader::is_present(std::string_view name) {
  return path_exists("/sys/module/" + normalize_module_name(name));
}

Status ModuleLoader::insert(const BootModule& m) {
  if (attempted_.count(m.name) || is_present(m.name)) return Ok{};
  Fd fd(::open(m.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    return Error::msg("load module " + m.name + ": open '" + m.path + "': " + strerror(e) +
                      " (the image is incomplete: rebuild it with zinitrd)");
  }
  std::string opts = module_options(m, params_);
  int flags = 0;
  bool compressed =
      ends_with(m.path, ".xz") || ends_with(m.path, ".zst") || ends_with(m.path, ".gz");
#ifdef MODULE_INIT_COMPRESSED_FILE
  if (compressed) flags |= MODULE_INIT_COMPRESSED_FILE;
#endif
  const int64_t t0 = monotonic_ms();
  if (::syscall(SYS_finit_module, fd.get(), opts.c_str(), flags) != 0) {
    int e = errno;
    if (e == EEXIST) {
      attempted_.insert(m.name);
      return Ok{};
    }
    std::string msg = "load module " + m.name + " (" + m.path +
                      (opts.empty() ? "" : ", options '" + opts + "'") + "): " + strerror(e);
    std::string kver = running_kernel();
    if (e == ENOEXEC && !config_.kver.empty() && kver != config_.kver)
      msg += "\n  the image was built for kernel " + config_.kver + " but " + kver +
             " is running: boot the matching kernel or rebuild the image for " + kver;
    else if (e == ENOEXEC)
      msg += "\n  the module does not fit the running kernel " + kver +
             ": rebuild it (dkms autoinstall -k " + kver + ") and the image";
    else if (compressed && (e == EINVAL || e == EOPNOTSUPP))
      msg +=
          "\n  this kernel cannot load compressed modules itself (needs Linux 6.4+ with "
          "CONFIG_MODULE_DECOMPRESS): rebuild the image with uncompressed modules";
    else if (e == EKEYREJECTED || e == EPERM)
      msg +=
          "\n  the kernel refused the module (Secure Boot or module.sig_enforce with an "
          "unsigned module?): sign it with the MOK key or disable signature enforcement";
    else if (e == ENOENT)
      msg +=
          "\n  unknown symbol: a dependency is missing or built for another kernel; `dmesg` says "
          "which";
    else if (e == EINVAL && !opts.empty())
      msg += "\n  a module option may be malformed: check modprobe.d and " + m.name +
             ".PARAM= on the kernel command line";
    return Error{msg, e};
  }
  attempted_.insert(m.name);
  ++loaded_;
  log_debug("loaded module %s in %lld ms%s%s", m.name.c_str(),
            static_cast<long long>(monotonic_ms() - t0), opts.empty() ? "" : " with options ",
            opts.c_str());
  return Ok{};
}

Status ModuleLoader::load(const std::vector<std::string>& names) {
  ModulePlan plan = plan_modules(config_, names);
  std::vector<std::string> errors;
  for (const auto& name : plan.absent) {
    if (is_present(name)) continue;  // built in
    errors.push_back(
        "module " + name +
        " is not in the image and not built into the kernel: rebuild the image with it");
  }
  std::set<std::string> failed;
  for (const BootModule* m : plan.order) {
    bool dep_failed = false;
    for (const auto& d : m->deps) dep_failed |= failed.count(normalize_module_name(d)) > 0;
    if (dep_failed) {
      failed.insert(m->name);
      errors.push_back("module " + m->name + " skipped: a module it depends on failed to load");
      continue;
    }
    Status st = insert(*m);
    if (!st) {
      failed.insert(m->name);
      errors.push_back(st.error().message);
    }
  }
  if (errors.empty()) return Ok{};
  return Error::msg(join(errors, "\n"));
}

}  // namespace zinitrd::rt
