// boot.cc: the PID 1 stage sequence (see boot.h).
#include "boot.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "boot_check.h"
#include "console_keymap.h"
#include "device_scan.h"
#include "early_mounts.h"
#include "log.h"
#include "luks_open.h"
#include "modalias.h"
#include "module_loader.h"
#include "process.h"
#include "rescue.h"
#include "resume.h"
#include "ssh_unlock.h"
#include "switch_root.h"
#include "util.h"
#include "zfs_cache_writes.h"
#include "zfs_import.h"
#include "zfs_mount.h"
#include "zfs_snapshot.h"
#include "zfs_tools.h"

namespace zinitrd::rt {
namespace {

constexpr int64_t kRetryWithoutShellMs = 10'000;
constexpr int64_t kRebootDelayMs = 15'000;
constexpr int64_t kQuickShellMs = 2'000;  // a shell that a user used lasts longer than this
constexpr int kMaxQuickShellExits = 3;
constexpr int64_t kColdplugWaitMs = 10'000;
// After SIGKILL, how long a coldplug process stuck in a driver's init is waited for.
constexpr int64_t kStuckGraceMs = 2'000;
// The kernel's config update after an import syncs a txg or two: well under a second even
// under TCG; a pool whose disks stopped answering must not hold the boot for good.
constexpr int64_t kZfsAsyncWaitMs = 10'000;
constexpr const char* kZfsCacheDir = "/etc/zfs";
// Device discovery has settled when the kernel sent no uevent for this long (after coldplug):
// long enough for a disk's partitions and a SCSI host's disks to follow their controller.
constexpr int64_t kSettleQuietMs = 300;
constexpr int64_t kSettleMaxMs = 5'000;

// The steps of a boot; break points are steps too, so a retry never passes a break twice.
enum class Step {
  kBreakCmdline,
  kCmdline,
  kModules,
  kBreakModules,
  kRootDelay,
  kResume,
  kBreakPreImport,
  kImport,
  kBreakPreMount,
  kMount,
  kBreakPrePivot,
  kSwitch,
};

// What an SSH session that answered a prompt hears when the boot stops at F (its last word).
std::string stopped_text(const Failure& f) {
  std::string text = "the boot stopped: " + f.summary;
  for (const auto& h : f.hints) text += "\n  - " + h;
  return text;
}

const char* step_name(Step s) {
  switch (s) {
    case Step::kBreakCmdline:
      return "break cmdline";
    case Step::kCmdline:
      return "cmdline";
    case Step::kModules:
      return "modules";
    case Step::kBreakModules:
      return "break modules";
    case Step::kRootDelay:
      return "rootdelay";
    case Step::kResume:
      return "resume";
    case Step::kBreakPreImport:
      return "break pre-import";
    case Step::kImport:
      return "import";
    case Step::kBreakPreMount:
      return "break pre-mount";
    case Step::kMount:
      return "mount";
    case Step::kBreakPrePivot:
      return "break pre-pivot";
    case Step::kSwitch:
      return "switch_root";
  }
  return "?";
}

[[noreturn]] void reboot_now(const std::string& why) {
  if (::getpid() != 1) {
    // Started as /init by hand (not by the kernel): never reboot somebody's machine.
    log_error("%s", why.c_str());
    ::_exit(1);
  }
  console_text("\nzinitrd: " + why + "\nzinitrd: rebooting in " + format_seconds(kRebootDelayMs) +
               " (the messages above say what went wrong)\n");
  log_error("%s: rebooting", why.c_str());
  sleep_ms(kRebootDelayMs);
  ::sync();
  ::reboot(RB_AUTOBOOT);
  for (;;) sleep_ms(60'000);  // reboot() failed; PID 1 must not exit either way
}

class Boot {
 public:
  Boot(int argc, char** argv, char** envp) : envp_(envp) {
    for (int i = 1; i < argc; ++i) init_args_.emplace_back(argv[i]);
  }
  [[noreturn]] void run();

 private:
  std::optional<Failure> step(Step s);
  std::optional<Failure> do_cmdline();
  std::optional<Failure> do_modules();
  std::optional<Failure> do_import();
  std::optional<Failure> do_mount();
  std::optional<Failure> do_switch();
  void maybe_break(Stage stage);
  /// Starts loading the drivers of present devices in a child process (once per boot).
  void start_coldplug();
  /// Waits (a bounded time) for the coldplug child; one still running then is ended, so it
  /// never outlives the initramfs (switch_root deletes the modules it would load).
  void finish_coldplug(bool end_it);
  /// Lets device discovery settle before the first look at the disks: coldplug done, then the
  /// kernel quiet for a moment, unless ENOUGH (may be empty) holds already (zfs_import.h).
  void settle_devices(const std::function<bool()>& enough);
  /// Runs the rescue shell after BANNER; false when it did not run as a usable shell.
  bool shell(const std::string& banner);
  /// Handles a failure of step S; returns the step to continue with.
  Step handle_failure(Step s, const Failure& f);
  bool shell_allowed() const { return !shell_argv_.empty() && request_.shell.value_or(true); }

  char** envp_;
  std::vector<std::string> init_args_;
  BootRequest request_;
  BootConfig config_;
  bool config_ok_ = false;
  std::string config_error_;
  std::vector<std::string> shell_argv_;
  std::optional<ModuleLoader> loader_;
  HotplugListener hotplug_;
  std::optional<ZfsTools> tools_;
  LuksOpener luks_;  // LUKS devices under the pool: opened during the import
  SshUnlock ssh_;    // prompts answered over SSH too (ssh_unlock.h), while a secret is awaited
  std::string pool_, dataset_;
  int64_t modules_ms_ = 0, import_ms_ = 0, mount_ms_ = 0;
  int children_ = 0;
  int64_t first_failure_ms_ = -1;
  int quick_exits_ = 0;
  bool shell_disabled_ = false;  // the image had a shell, but it could not be used
  bool coldplug_started_ = false;
  int64_t coldplug_start_ms_ = 0;  ///< coldplug has kColdplugWaitMs from here, in all
  bool snapshots_done_ = false;    // bootfs.snapshot/rollback and @SNAP: once per boot
  bool resume_tried_ = false;      // a hibernation image is looked for once, before the import
  pid_t coldplug_pid_ = -1;
};

bool Boot::shell(const std::string& banner) {
  log_notice("%s", banner.c_str());
  std::vector<std::string> env = zfs_environment(config_);
  const int64_t t0 = monotonic_ms();
  ensure_console_keymap();  // what is typed in it, in the system's layout
  int status = run_rescue_shell(shell_argv_, env);
  const int64_t lasted = monotonic_ms() - t0;
  if (status < 0 || status == 127) {
    log_error("the rescue shell (%s) could not run; going on without it",
              join(shell_argv_, " ").c_str());
    shell_argv_.clear();
    shell_disabled_ = true;
    return false;
  }
  log_info("rescue shell exited with status %d", status);
  // A shell without a usable console (no console=, /dev/console is /dev/null) exits at once: do
  // not spin on it, retry the way an image without a shell does.
  quick_exits_ = lasted < kQuickShellMs ? quick_exits_ + 1 : 0;
  if (quick_exits_ >= kMaxQuickShellExits) {
    log_error(
        "the rescue shell exited %d times in a row at once (no console input?); going on without "
        "it",
        quick_exits_);
    shell_argv_.clear();
    shell_disabled_ = true;
    return false;
  }
  if (lasted < kQuickShellMs) sleep_ms(kQuickShellMs - lasted);
  return true;
}

void Boot::maybe_break(Stage stage) {
  if (!wants_break(request_, stage)) return;
  if (shell_argv_.empty()) {
    log_warning(
        "rd.break=%s: this image has no rescue shell (build it with one, e.g. the busybox "
        "feature); continuing the boot",
        stage_name(stage));
    return;
  }
  shell(std::string("rd.break=") + stage_name(stage) +
        ": starting rescue shell; type 'exit' to continue the boot");
}

std::optional<Failure> Boot::do_cmdline() {
  if (!config_ok_) {
    Failure f;
    f.stage = "cmdline";
    f.summary = "cannot read the image's boot configuration " + std::string(kBootConfigPath);
    f.status = config_error_;
    f.hints.push_back(
        "the image is damaged or was made by another zinitrd version: rebuild it with zinitrd");
    f.retryable = false;
    return f;
  }
  Failure f;
  f.stage = "cmdline";
  f.retryable = false;
  switch (request_.root_kind) {
    case RootKind::kNone:
      f.summary = "the kernel command line names no ZFS root";
      f.hints.push_back(
          "add root=zfs:POOL/DATASET (e.g. root=zfs:rpool/ROOT/debian), or root=zfs:AUTO to "
          "use the pool's bootfs property, in the boot loader's entry");
      f.hints.push_back(
          "or in the rescue shell: zpool import -N POOL; mount -t zfs -o zfsutil POOL/DATASET "
          "/sysroot; exit");
      return f;
    case RootKind::kInvalid:
    case RootKind::kForeign:
      f.summary = "the root on the kernel command line cannot be used";
      f.hints.push_back(request_.root_error);
      f.hints.push_back(
          "or in the rescue shell: zpool import -N POOL; mount -t zfs -o zfsutil POOL/DATASET "
          "/sysroot; exit");
      return f;
    case RootKind::kDataset:
    case RootKind::kAuto:
      break;
  }
  if (request_.spl_hostid) {
    uint32_t id = *request_.spl_hostid;
    unsigned char bytes[4] = {static_cast<unsigned char>(id), static_cast<unsigned char>(id >> 8),
                              static_cast<unsigned char>(id >> 16),
                              static_cast<unsigned char>(id >> 24)};
    (void)make_dirs("/etc");
    Status st = write_file("/etc/hostid", std::string_view(reinterpret_cast<char*>(bytes), 4));
    if (!st)
      log_warning("spl_hostid=%s: %s; the pool may look in use by another system",
                  format_hostid(id).c_str(), st.error().message.c_str());
    else
      log_info("hostid set to %s from spl_hostid=", format_hostid(id).c_str());
  }
  luks_.configure(config_, request_.luks);
  return std::nullopt;
}

void Boot::start_coldplug() {
  if (coldplug_started_) return;  // a retry of the modules stage: done, or still running
  coldplug_started_ = true;
  // Disk drivers load in a child while this process loads the `load` list: zfs.ko takes about a
  // second and libata's module init waits for its link probes, so doing both at once saves that
  // much. Concurrent finit_module() of the same module is fine (EEXIST). The import that follows
  // waits for the disks through the hotplug listener, which was opened before the walk.
  const int64_t t0 = coldplug_start_ms_ = monotonic_ms();
  pid_t pid = ::fork();
  if (pid == 0) {
    int matched = coldplug(config_, *loader_);
    log_debug("coldplug: %d devices matched a driver, %d modules loaded in %s", matched,
              loader_->loaded_count(), format_seconds(monotonic_ms() - t0).c_str());
    ::_exit(0);
  }
  if (pid > 0) {
    coldplug_pid_ = pid;
    return;
  }
  log_debug("coldplug: fork: %s; loading drivers in this process", strerror(errno));
  coldplug(config_, *loader_);
}

void Boot::finish_coldplug(bool end_it) {
  if (coldplug_pid_ <= 0) return;
  // One wait for the whole boot, not one per call: a driver that waited out the import's wait
  // is not waited for again before switch_root.
  const int64_t deadline = coldplug_start_ms_ + kColdplugWaitMs;
  for (;;) {
    int status;
    pid_t r = ::waitpid(coldplug_pid_, &status, WNOHANG);
    if (r == coldplug_pid_ || (r < 0 && errno != EINTR)) {  // done, or reaped by the shell
      coldplug_pid_ = -1;
      return;
    }
    if (monotonic_ms() >= deadline) break;
    if (loader_)
      hotplug_.poll(10, config_, *loader_);  // keep the uevent queue drained meanwhile
    else
      sleep_ms(10);
  }
  if (!end_it) {
    log_warning("coldplug is still loading drivers after %s; going on without waiting",
                format_seconds(monotonic_ms() - coldplug_start_ms_).c_str());
    return;  // waited for again (and ended) before switch_root
  }
  // A driver init that hangs must not keep a child of the initramfs alive past switch_root.
  log_warning("coldplug is still loading drivers after %s; ending it before switch_root",
              format_seconds(monotonic_ms() - coldplug_start_ms_).c_str());
  ::kill(coldplug_pid_, SIGKILL);
  // A driver's init waiting on a dying disk holds the process in the kernel (its probe retries
  // each read) and SIGKILL waits with it: give it a moment, then go on without it. It dies when
  // the kernel lets it, and the next init reaps it.
  const int64_t grace = monotonic_ms() + kStuckGraceMs;
  for (;;) {
    int status;
    pid_t r = ::waitpid(coldplug_pid_, &status, WNOHANG);
    if (r == coldplug_pid_ || (r < 0 && errno != EINTR)) break;
    if (monotonic_ms() >= grace) {
      auto modules = read_file("/proc/modules", 1 << 20);
      log_warning(
          "a driver's init is still running in the kernel (modules loading: %s): "
          "switching root without waiting for it",
          modules ? join(modules_loading(*modules), " ").c_str() : "unknown");
      break;
    }
    sleep_ms(10);
  }
  coldplug_pid_ = -1;
}

void Boot::settle_devices(const std::function<bool()>& enough) {
  const int64_t t0 = monotonic_ms();
  if (loader_) hotplug_.poll(0, config_, *loader_);  // what the drivers announced so far
  // The pool's labels show it complete: other controllers' drivers (ahci probing empty ports)
  // go on loading beside the import, and are waited for before switch_root.
  if (enough && enough()) {
    log_debug("devices settled in %s (the pool is complete; coldplug goes on)",
              format_seconds(monotonic_ms() - t0).c_str());
    return;
  }
  finish_coldplug(false);
  if (loader_) hotplug_.poll(0, config_, *loader_);
  if (enough && enough()) {
    log_debug("devices settled in %s (the pool is complete)",
              format_seconds(monotonic_ms() - t0).c_str());
    return;
  }
  if (loader_) hotplug_.settle(kSettleQuietMs, kSettleMaxMs, config_, *loader_);
  log_debug("devices settled in %s", format_seconds(monotonic_ms() - t0).c_str());
}

std::optional<Failure> Boot::do_modules() {
  const int64_t t0 = monotonic_ms();
  if (!loader_) {
    // The kernel ends every module load with async_synchronize_full() (do_init_module()) unless
    // the module was given `async_probe`: zfs.ko and its dependencies, which probe no device,
    // would each wait for the disk controllers' asynchronous probes that coldplug started
    // (ahci's link probes: a second under emulation) before the import can begin.
    for (const BootModule* m : plan_modules(config_, config_.load).order) {
      auto& words = request_.module_params[m->name];
      bool given = false;
      for (const auto& w : words) given |= starts_with(w, "async_probe");
      if (!given) words.push_back("async_probe=1");
    }
    loader_.emplace(config_, request_.module_params, request_.blacklist, request_.module_blacklist);
  }
  if (!hotplug_.active()) {
    // Opened before the coldplug walk, so no device added meanwhile is missed.
    Status st = hotplug_.open();
    if (!st)
      log_warning("hotplug: %s; late disks will only be found by polling",
                  st.error().message.c_str());
  }
  struct utsname uts;
  if (!config_.kver.empty() && ::uname(&uts) == 0 && config_.kver != uts.release &&
      modules_ms_ == 0)
    log_warning(
        "this image was built for kernel %s but %s is running: its modules will not load; "
        "boot the matching kernel or rebuild the image for %s",
        config_.kver.c_str(), uts.release, uts.release);
  if (config_.load.empty())
    log_warning(
        "the image's boot configuration loads no module at boot (no `load` entries): zfs must be "
        "built in");
  start_coldplug();
  Status st = loader_->load(config_.load);
  modules_ms_ += monotonic_ms() - t0;
  log_debug("modules: %d loaded from the load list in %s", loader_->loaded_count(),
            format_seconds(monotonic_ms() - t0).c_str());
  if (!st) {
    Failure f;
    f.stage = "modules";
    f.summary = "kernel modules needed for the boot did not load";
    f.status = st.error().message;
    f.hints.push_back("`dmesg | tail` in the rescue shell shows the kernel's side");
    f.retryable = false;
    return f;
  }
  return std::nullopt;
}

std::optional<Failure> Boot::do_import() {
  const int64_t t0 = monotonic_ms();
  if (!tools_) tools_.emplace(config_);
  ImportContext ctx;
  ctx.config = &config_;
  ctx.tools = &*tools_;
  ctx.loader = loader_ ? &*loader_ : nullptr;
  ctx.hotplug = &hotplug_;
  ctx.force = request_.force;
  ctx.timeout_ms = import_timeout_ms(request_, config_);
  if (request_.member_wait_s) ctx.member_wait_ms = int64_t{*request_.member_wait_s} * 1000;
  ctx.dataset = request_.dataset;
  ctx.settle = [this](const std::function<bool()>& enough) { settle_devices(enough); };
  ctx.prepare = [this] {
    PromptBackground background;
    if (loader_ && hotplug_.active())
      background = {hotplug_.fd(), [this] { hotplug_.poll(0, config_, *loader_); }};
    return luks_.open_present(loader_ ? &*loader_ : nullptr, request_.consoles, background);
  };
  // The kernel's own write of the cache file must succeed here, not later in the root.
  if (auto made = prepare_cache_dir(kZfsCacheDir); !made)
    log_warning("%s: the kernel may write zpool.cache into the root after switch_root",
                made.error().message.c_str());
  std::optional<Failure> f;
  if (request_.root_kind == RootKind::kAuto) {
    f = import_bootfs_pool(ctx, pool_, dataset_);
  } else {
    f = import_pool(ctx, request_.pool, pool_);
    // root=zfs:GUID/...: the pool's name replaces the GUID in the dataset path.
    dataset_ = request_.dataset;
    if (!f && pool_ != request_.pool) dataset_ = pool_ + dataset_.substr(request_.pool.size());
  }
  import_ms_ += monotonic_ms() - t0;
  if (!f)
    luks_.report_unopened();
  else if (f->stage == "import")  // the pool's disks may be LUKS devices not opened: say which
    for (auto& h : luks_.missing_hints()) f->hints.push_back(std::move(h));
  // A LUKS prompt answered over SSH that ends in a failure (wrong three times): the session
  // hears why instead of waiting through the rescue shell; a retry starts dropbear again.
  if (f) ssh_.close(stopped_text(*f));
  return f;
}

std::optional<Failure> Boot::do_mount() {
  const int64_t t0 = monotonic_ms();
  if (!tools_) tools_.emplace(config_);
  if (dataset_.empty()) {
    if (is_mount_point(kSysroot)) {
      log_notice("%s was mounted in the rescue shell; using it as it is", kSysroot);
      return std::nullopt;
    }
    Failure f;
    f.stage = "mount";
    f.summary = "no root dataset is known";
    return f;
  }
  // Encryption keys (zfs_keys.h) and snapshot boot (zfs_snapshot.h): a clone replaces dataset_.
  RootMount root;
  root.keys.consoles = request_.consoles;
  root.keys.earlier_secrets = &luks_.secrets();  // a passphrase typed for LUKS is not asked again
  if (loader_ && hotplug_.active())
    root.keys.background = {hotplug_.fd(), [this] { hotplug_.poll(0, config_, *loader_); }};
  root.noauto_children = !request_.snapshot.empty();
  if (!snapshots_done_) {
    SnapshotRequest snap{request_.bootfs_snapshot, request_.bootfs_snapshot_name,
                         request_.bootfs_rollback, request_.bootfs_rollback_name,
                         request_.snapshot};
    struct utsname uts;
    std::string release = ::uname(&uts) == 0 ? uts.release : config_.kver;
    if (auto f = prepare_snapshot_boot(*tools_, snap, release, root.keys, dataset_)) {
      mount_ms_ += monotonic_ms() - t0;
      ssh_.close(stopped_text(*f));
      return f;
    }
    snapshots_done_ = true;
  }
  root.dataset = dataset_;
  RootMode mode = choose_root_mode(request_.rootflags, request_.kernel_read_only);
  log_info("root mounted %s: %s", mode.read_only ? "read-only" : "read-write", mode.reason.c_str());
  root.options = root_mount_options(request_.rootflags, mode.read_only);
  auto f = mount_root_dataset(*tools_, root, children_);
  mount_ms_ += monotonic_ms() - t0;
  // No more prompts in this stage: an SSH session hears the outcome, then dropbear stops.
  if (!f) {
    ssh_.close("the root is mounted; the boot continues");
  } else {
    ssh_.close(stopped_text(*f));
  }
  return f;
}

std::optional<Failure> Boot::do_switch() {
  std::string init;
  if (auto f = find_new_init(kSysroot, request_.init, init)) return f;
  std::string what =
      dataset_.empty() ? std::string("the root mounted in the rescue shell") : dataset_;
  log_info("mounted %s on %s (modules %s, import %s, mount %s)%s", what.c_str(), kSysroot,
           format_seconds(modules_ms_).c_str(), format_seconds(import_ms_).c_str(),
           format_seconds(mount_ms_).c_str(),
           children_ > 0 ? (" with " + std::to_string(children_) + " child datasets").c_str() : "");
  if (request_.boot_test)
    boot_test_pass(what, init, children_, {modules_ms_, import_ms_, mount_ms_});
  finish_coldplug(true);
  if (loader_)
    if (auto left = hotplug_.finish_loads(kStuckGraceMs, *loader_); !left.empty())
      log_warning(
          "drivers still running their init in the kernel (%s): switching root without "
          "waiting for them",
          join(left, " ").c_str());
  hotplug_.close();
  luks_.forget_secrets();
  ssh_.close("the boot continues");  // dropbear and the network never outlive the initramfs
  // Reads of devices that never answered (a dying disk's driver retrying each one): not waited
  // for either (device_scan.h).
  if (auto stuck = device_scan_probe().abandon(); !stuck.empty())
    log_warning("%s never answered when read: switching root without waiting for it",
                join(stuck, " ").c_str());
  reap_zombies();
  // The pools' asynchronous cache-file write must land in the initramfs (zfs_cache_writes.h).
  AsyncWait pending = wait_for_zfs_async("/proc", kZfsAsyncWaitMs);
  if (!pending.finished)
    log_warning(
        "ZFS is still updating the pool configuration after %s (%zu kernel threads); switching "
        "anyway: /etc/zfs/zpool.cache in the root may lose pools it lists (zpool set "
        "cachefile=/etc/zfs/zpool.cache POOL restores them)",
        format_seconds(pending.waited_ms).c_str(), pending.still_running);
  else if (pending.waited_ms > 0)
    log_info("waited %s for ZFS to finish updating the pool configuration",
             format_seconds(pending.waited_ms).c_str());
  // The console the kernel gives init, when its driver was loaded here (console=hvc0).
  if (int n = attach_late_console())
    log_info("the console appeared after /init started: %d standard streams of init point at it",
             n);
  return switch_root(kSysroot, init, init_args_, envp_);
}

std::optional<Failure> Boot::step(Step s) {
  switch (s) {
    case Step::kBreakCmdline:
      maybe_break(Stage::kCmdline);
      return std::nullopt;
    case Step::kCmdline:
      return do_cmdline();
    case Step::kModules:
      return do_modules();
    case Step::kBreakModules:
      maybe_break(Stage::kModules);
      return std::nullopt;
    case Step::kRootDelay:
      if (request_.rootdelay_s > 0) {
        log_notice("rootdelay=%d: waiting %d seconds for the disks", request_.rootdelay_s,
                   request_.rootdelay_s);
        const int64_t end = monotonic_ms() + int64_t{request_.rootdelay_s} * 1000;
        while (monotonic_ms() < end) {
          if (loader_)
            hotplug_.poll(end - monotonic_ms(), config_, *loader_);
          else
            sleep_ms(end - monotonic_ms());
        }
      }
      return std::nullopt;
    case Step::kResume:
      // Once, before anything imports a pool (resume.h); returns when there is nothing to resume.
      if (!resume_tried_) {
        resume_tried_ = true;
        resume_from_hibernation(
            request_.resume.empty() ? config_.setting("resume") : request_.resume,
            request_.noresume,
            [this](const std::function<bool()>& enough) { settle_devices(enough); });
      }
      return std::nullopt;
    case Step::kBreakPreImport:
      maybe_break(Stage::kPreImport);
      return std::nullopt;
    case Step::kImport:
      return do_import();
    case Step::kBreakPreMount:
      maybe_break(Stage::kPreMount);
      return std::nullopt;
    case Step::kMount:
      return do_mount();
    case Step::kBreakPrePivot:
      maybe_break(Stage::kPrePivot);
      return std::nullopt;
    case Step::kSwitch:
      return do_switch();
  }
  return std::nullopt;
}

Step Boot::handle_failure(Step s, const Failure& f) {
  report_failure(f);
  if (request_.boot_test) boot_test_fail(f, {modules_ms_, import_ms_, mount_ms_});
  if (::getpid() != 1) reboot_now("stopping: not PID 1, so no rescue shell and no retries");
  if (shell_allowed() && shell("starting rescue shell; type 'exit' to retry the boot")) {
    // Whatever failed, a root mounted by hand in the shell is good enough to continue with.
    if (s < Step::kMount && is_mount_point(kSysroot)) {
      log_notice("%s is mounted: continuing with the mount stage", kSysroot);
      return Step::kMount;
    }
    log_notice("retrying the boot from the stage that failed (%s)", f.stage.c_str());
    return s;
  }
  const int64_t now = monotonic_ms();
  if (first_failure_ms_ < 0) first_failure_ms_ = now;
  const int64_t limit = give_up_ms(request_);
  if (no_shell_action(f.retryable, now - first_failure_ms_, limit) == NoShellAction::kReboot)
    reboot_now(f.retryable ? "giving up: the boot kept failing for " +
                                 format_seconds(now - first_failure_ms_)
                           : "giving up: waiting does not cure this failure (" + f.summary +
                                 ") and there is no rescue shell");
  std::string why = !request_.shell.value_or(true) ? "rd.shell=0 forbids the rescue shell"
                    : shell_disabled_              ? "the rescue shell is unusable"
                                                   : "this image has no rescue shell";
  std::string until =
      limit > 0 ? "; rebooting after " + format_seconds(limit) + " of failures" : "";
  log_notice("%s: retrying in %s%s", why.c_str(), format_seconds(kRetryWithoutShellMs).c_str(),
             until.c_str());
  if (loader_)
    hotplug_.poll(kRetryWithoutShellMs, config_, *loader_);
  else
    sleep_ms(kRetryWithoutShellMs);
  return s;
}

void Boot::run() {
  // 1. Early: the kernel gives /init nothing but the initramfs and (maybe) a console.
  ::umask(022);
  ::signal(SIGCHLD, SIG_DFL);  // waitpid() needs it; SIG_IGN would auto-reap
  Status mounted = mount_early_filesystems();
  ensure_standard_fds();
  log_setup(LogMode::kBoot, false);
  log_open_file();
  if (!mounted) log_warning("early mounts: %s", mounted.error().message.c_str());

  // 2. The command line and the image's configuration.
  auto cmdline = read_file("/proc/cmdline", 1 << 20);
  if (!cmdline)
    log_error("%s: the boot continues without kernel parameters", cmdline.error().message.c_str());
  request_ = parse_cmdline(cmdline ? *cmdline : std::string());
  log_setup(LogMode::kBoot, request_.debug);
  log_info("zinitrd %s starting", ZINITRD_VERSION);
  if (cmdline) log_debug("command line: %s", std::string(trim(*cmdline)).c_str());
  for (const auto& d : request_.diagnostics) log_warning("kernel command line: %s", d.c_str());
  auto text = read_file(std::string(kBootConfigPath));
  if (text) {
    auto parsed = parse_boot_config(*text);
    if (parsed) {
      config_ = std::move(parsed.value());
      config_ok_ = true;
    } else {
      config_error_ = parsed.error().message;
    }
  } else {
    config_error_ = text.error().message;
  }
  ssh_.configure(config_, request_);
  set_remote_secrets([this] { return ssh_.open(); });
  shell_argv_ = find_rescue_shell(config_);
  if (!config_ok_ && shell_argv_.empty()) {
    // Without the configuration, any shell in the image beats none.
    for (const char* sh : {"/usr/bin/busybox", "/bin/busybox", "/bin/sh", "/usr/bin/sh"}) {
      if (!is_executable(sh)) continue;
      shell_argv_ = {sh};
      if (is_busybox(shell_argv_)) shell_argv_.push_back("sh");
      break;
    }
  }
  if (!config_.setting("rescue_shell").empty() && shell_argv_.empty())
    log_warning("rescue_shell '%s' is not in the image: there is no rescue shell",
                config_.setting("rescue_shell").c_str());

  // 3. The stages, each retried after a failure.
  Step s = Step::kBreakCmdline;
  for (;;) {
    const int64_t t0 = monotonic_ms();
    std::optional<Failure> f = step(s);
    if (f) {
      s = handle_failure(s, *f);
      continue;
    }
    log_debug("stage %s done in %s", step_name(s), format_seconds(monotonic_ms() - t0).c_str());
    if (s == Step::kSwitch) break;  // switch_root returned nothing yet failed: cannot happen
    s = static_cast<Step>(static_cast<int>(s) + 1);
  }
  reboot_now("switch_root returned");
}

}  // namespace

int64_t import_timeout_ms(const BootRequest& request, const BootConfig& config) {
  if (request.timeout_s) return int64_t{*request.timeout_s} * 1000;
  std::string setting(trim(config.setting("import_timeout")));
  int seconds = kDefaultImportTimeoutS;
  if (!setting.empty()) {
    char* end = nullptr;
    long v = strtol(setting.c_str(), &end, 10);
    if (end && *end == '\0' && v >= 0 && v <= 86400) seconds = static_cast<int>(v);
  }
  return int64_t{seconds} * 1000;
}

int64_t give_up_ms(const BootRequest& request) {
  if (request.timeout_s) return int64_t{*request.timeout_s} * 1000;
  return int64_t{kDefaultGiveUpS} * 1000;
}

NoShellAction no_shell_action(bool retryable, int64_t failing_ms, int64_t limit_ms) {
  if (limit_ms == 0) return NoShellAction::kRetry;  // rd.timeout=0: never reboot
  if (!retryable || failing_ms >= limit_ms) return NoShellAction::kReboot;
  return NoShellAction::kRetry;
}

void boot_main(int argc, char** argv, char** envp) {
  Boot boot(argc, argv, envp);
  boot.run();
}

}  // namespace zinitrd::rt
