// module_loader.cc: modprobe's loading rules on finit_module(2) (see module_loader.h).
#include "module_loader.h"

#include <fcntl.h>
#include <linux/module.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  for (const auto& dep : m->pre) visit(config, dep, seen, plan);
  for (const auto& dep : m->deps) visit(config, dep, seen, plan);
  plan.order.push_back(m);
  for (const auto& dep : m->post) visit(config, dep, seen, plan);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_compressed(const std::string& path) {
  return ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz");
}

std::string running_kernel() {
  struct utsname u;
  return ::uname(&u) == 0 ? std::string(u.release) : std::string();
}

int finit(const BootModule& m, const std::string& opts) {
  Fd fd(::open(m.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno == 0 ? EIO : -errno;  // negative: the open failed
  int flags = 0;
#ifdef MODULE_INIT_COMPRESSED_FILE
  if (is_compressed(m.path)) flags |= MODULE_INIT_COMPRESSED_FILE;
#endif
  if (::syscall(SYS_finit_module, fd.get(), opts.c_str(), flags) != 0) return errno;
  return 0;
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

std::vector<std::string> modules_loading(std::string_view proc_modules) {
  std::vector<std::string> out;
  for (const auto& line : split_all(proc_modules, '\n')) {
    auto w = split_words(line);  // name size refcount deps state address
    if (w.size() >= 5 && w[4] == "Loading") out.emplace_back(w[0]);
  }
  return out;
}

bool is_no_device_error(int err) { return err == ENODEV || err == ENXIO; }

bool LoadReport::only_no_device() const {
  for (const auto& f : failures)
    if (!is_no_device_error(f.err)) return false;
  return true;
}

std::string LoadReport::describe() const {
  std::vector<std::string> lines;
  for (const auto& f : failures) lines.push_back(f.message);
  return join(lines, "\n");
}

ModuleKernel real_module_kernel() {
  return ModuleKernel{finit, [](std::string_view name) { return ModuleLoader::is_present(name); }};
}

ModuleLoader::ModuleLoader(const BootConfig& config, const ModuleParams& params,
                           const std::vector<std::string>& blacklist_alias,
                           const std::vector<std::string>& blacklist_kernel, ModuleKernel kernel)
    : config_(config), params_(params), kernel_(std::move(kernel)) {
  for (const auto& b : config.blacklist) blacklist_.alias.insert(normalize_module_name(b));
  for (const auto& b : blacklist_alias) blacklist_.alias.insert(normalize_module_name(b));
  for (const auto& b : blacklist_kernel) blacklist_.kernel.insert(normalize_module_name(b));
}

bool ModuleLoader::is_present(std::string_view name) {
  return path_exists("/sys/module/" + normalize_module_name(name));
}

bool ModuleLoader::alias_blacklisted(std::string_view name) const {
  std::string n = normalize_module_name(name);
  return blacklist_.alias.count(n) > 0 || blacklist_.kernel.count(n) > 0;
}

Status ModuleLoader::insert(const BootModule& m) {
  std::string opts = module_options(m, params_);
  const int64_t t0 = monotonic_ms();
  int e = kernel_.insert(m, opts);
  if (e == EEXIST) {  // loaded meanwhile (by a concurrent load) or built in
    log_debug("module %s is there already", m.name.c_str());
    return Ok{};
  }
  if (e == 0) {
    ++loaded_;
    log_debug("loaded module %s in %lld ms%s%s", m.name.c_str(),
              static_cast<long long>(monotonic_ms() - t0), opts.empty() ? "" : " with options ",
              opts.c_str());
    return Ok{};
  }
  if (e < 0) {
    return Error{"load module " + m.name + ": open '" + m.path + "': " + strerror(-e) +
                     " (the image is incomplete: rebuild it with zinitrd)",
                 -e};
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
  else if (is_no_device_error(e))
    msg +=
        "\n  the driver found no device or CPU feature it supports here (normal for a "
        "hardware-specific driver)";
  else if (is_compressed(m.path) && (e == EINVAL || e == EOPNOTSUPP))
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

void ModuleLoader::load_soft(const std::vector<std::string>& names, const std::string& module,
                             const char* when, std::vector<std::string>& notes) {
  for (const auto& s : names) {
    std::vector<ModuleFailure> soft;
    if (load_one(s, soft, notes)) continue;
    for (const auto& f : soft)
      notes.push_back("softdep " + std::string(when) + " " + s + " of " + module +
                      " did not load; " + module + " loads without it (" + f.message + ")");
  }
}

bool ModuleLoader::load_one(const std::string& name, std::vector<ModuleFailure>& failures,
                            std::vector<std::string>& notes) {
  const std::string n = normalize_module_name(name);
  if (auto it = state_.find(n); it != state_.end()) {
    if (it->second == State::kFailed) {
      failures.push_back({n, 0, "module " + n + " did not load earlier in this boot"});
      return false;
    }
    return true;  // loaded, or being loaded further up this chain (a cycle: cut it)
  }
  if (blacklist_.kernel.count(n)) {
    state_[n] = State::kFailed;
    failures.push_back({n, EPERM,
                        "module " + n +
                            " is not loaded: module_blacklist= on the kernel command line names "
                            "it (the kernel refuses it)"});
    return false;
  }
  if (kernel_.present(n)) {
    state_[n] = State::kLoaded;
    return true;
  }
  const BootModule* m = config_.find_module(n);
  if (!m) {
    state_[n] = State::kFailed;
    failures.push_back({n, ENOENT,
                        "module " + n +
                            " is not in the image and not built into the kernel: rebuild the "
                            "image with it"});
    return false;
  }
  state_[n] = State::kLoading;
  load_soft(m->pre, n, "pre", notes);
  for (const auto& d : m->deps) {
    if (load_one(d, failures, notes)) continue;
    state_[n] = State::kFailed;
    failures.push_back({n, 0,
                        "module " + n + " skipped: it needs " + normalize_module_name(d) +
                            ", which did not load"});
    return false;
  }
  Status st = insert(*m);
  if (!st) {
    state_[n] = State::kFailed;
    failures.push_back({n, st.error().errnum, st.error().message});
    return false;
  }
  state_[n] = State::kLoaded;
  load_soft(m->post, n, "post", notes);
  return true;
}

LoadReport ModuleLoader::load_report(const std::vector<std::string>& names, bool by_alias) {
  LoadReport report;
  for (const auto& name : names) {
    if (by_alias && alias_blacklisted(name)) {
      report.notes.push_back(normalize_module_name(name) +
                             " is blacklisted (modprobe.d or the kernel command line): not "
                             "loaded for the device");
      continue;
    }
    std::vector<ModuleFailure> failures;
    load_one(name, failures, report.notes);
    // A dependency that failed is reported once, with the module that needed it.
    for (auto& f : failures) {
      bool dup = false;
      for (const auto& o : report.failures) dup |= o.module == f.module && o.message == f.message;
      if (!dup) report.failures.push_back(std::move(f));
    }
  }
  for (const auto& note : report.notes) log_debug("modules: %s", note.c_str());
  return report;
}

Status ModuleLoader::load(const std::vector<std::string>& names) {
  // An explicit request (the load list, a retry after the rescue shell) tries failed modules
  // again; drivers matched by modalias are not retried on every uevent.
  for (auto it = state_.begin(); it != state_.end();)
    it = it->second == State::kFailed ? state_.erase(it) : std::next(it);
  LoadReport r = load_report(names, false);
  if (r.ok()) return Ok{};
  return Error{r.describe(), r.failures.front().err};
}

pid_t ModuleLoader::spawn_load(const std::string& name, bool by_alias,
                               const std::function<void(const LoadReport&)>& report) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int before = loaded_;
  LoadReport r = load_report({name}, by_alias);
  if (report) report(r);
  // The exit status carries what the parent needs: failed, and how many modules loaded.
  ::_exit((r.ok() ? 0 : 128) | std::min(loaded_ - before, 127));
}

bool ModuleLoader::reaped(const std::string& name, int wait_status) {
  if (!WIFEXITED(wait_status)) return false;  // killed: a later load tries it again
  const int code = WEXITSTATUS(wait_status);
  loaded_ += code & 127;
  const bool ok = (code & 128) == 0;
  state_[normalize_module_name(name)] = ok ? State::kLoaded : State::kFailed;
  return ok;
}

}  // namespace zinitrd::rt
