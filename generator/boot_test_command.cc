// boot_test_command.cc: `zinitrd boot-test` on the host: find the kernel, the image's drivers, the
// root pool's disks and the command line, make the overlays, run QEMU, judge and report (see
// boot_test_command.h for why this is safe for a live pool).
#include "boot_test_command.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "boot_config.h"
#include "boot_test_plan.h"
#include "boot_test_report.h"
#include "fd.h"
#include "image_reader.h"
#include "pool_devices.h"
#include "process.h"

namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

constexpr const char* kQemu = "qemu-system-x86_64";
constexpr const char* kQemuImg = "qemu-img";
constexpr int kKvmProbeSeconds = 8;
constexpr int64_t kQemuImgTimeoutMs = 60'000;

// A directory for the overlays and the console, removed with its content.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/var/tmp") + "/zinitrd-boot-test.XXXXXX";
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string p = dir + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

void progress(const std::string& text) {
  std::fprintf(stderr, "zinitrd: boot-test: %s\n", text.c_str());
}

int setup_failed(const std::string& why) {
  std::fprintf(stderr, "zinitrd: boot-test: %s\n", why.c_str());
  return kBootTestFail;
}

// Module names ("virtio_blk") of the .ko files in the image and built into KVER's kernel.
std::set<std::string> available_modules(const std::vector<ImageMember>& members,
                                        const std::string& kver) {
  std::set<std::string> names;
  auto add = [&](std::string_view path) {
    std::string_view file = path.substr(path.rfind('/') + 1);
    size_t ko = file.find(".ko");
    if (ko == std::string_view::npos) return;
    names.insert(normalize_module_name(file.substr(0, ko)));
  };
  for (const auto& m : members) add(m.path);
  std::ifstream builtin("/lib/modules/" + kver + "/modules.builtin");
  for (std::string line; std::getline(builtin, line);) add(line);
  return names;
}

// The disk to attach for a --disk argument: resolved, readable, a block device or a file whose
// format (raw or qcow2) is read from its first bytes.
Result<VmDisk> user_disk(const std::string& arg) {
  std::error_code ec;
  fs::path p = fs::canonical(arg, ec);
  if (ec) return Error::sys("resolve disk", arg, ec.value());
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return Error::sys("stat disk", p.string(), errno);
  if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
    return Error::msg("disk " + arg + ": neither a block device nor a disk image file");
  VmDisk d;
  d.base = p.string();
  d.block_device = S_ISBLK(st.st_mode);
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return Error::msg("disk " + arg + ": cannot open it for reading (" + strerror(errno) +
                      "); run zinitrd boot-test as root");
  char magic[4] = {};
  if (!d.block_device && ::read(fd.get(), magic, 4) == 4 && std::string(magic, 4) == "QFI\xfb")
    d.format = "qcow2";
  return d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

bool kvm_usable(const std::string& qemu, const std::string& kernel, std::string& why) {
  if (const char* forced = std::getenv("ZINITRD_VM_ACCEL"); forced && *forced) {
    why = std::string("ZINITRD_VM_ACCEL=") + forced;
    return std::string(forced) == "kvm";
  }
  Fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) {
    why = std::string("/dev/kvm: ") + strerror(errno);
    return false;
  }
  if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    why = "/dev/kvm answers with another API version";
    return false;
  }
  // /dev/kvm can work for a few instructions and still crawl through a Linux boot (nested
  // virtualization): the probe is KERNEL itself, booted without an initrd to its "unable to
  // mount root" panic, which panic=-1 and -no-reboot turn into QEMU's exit. Under a working KVM
  // that takes about a second.
  CommandOptions probe;
  probe.timeout_ms = kKvmProbeSeconds * 1000;
  CommandOutput out = run_command({qemu,      "-accel",
                                   "kvm",     "-machine",
                                   "q35",     "-m",
                                   "256",     "-display",
                                   "none",    "-monitor",
                                   "none",    "-serial",
                                   "none",    "-parallel",
                                   "none",    "-nic",
                                   "none",    "-no-reboot",
                                   "-kernel", kernel,
                                   "-append", "panic=-1 loglevel=0"},
                                  probe);
  if (out.ok()) return true;
  why = out.timed_out ? "this kernel did not reach its first panic within " +
                            std::to_string(kKvmProbeSeconds) + " s under KVM (nested KVM?)"
                      : "a KVM probe VM " + out.describe();
  return false;
}

int run_boot_test(const BootTestOptions& o) {
  // 1. QEMU, before anything else: without it nothing can be said.
  std::string qemu = find_in_path(kQemu), qemu_img = find_in_path(kQemuImg);
  if (qemu.empty() || qemu_img.empty()) {
    std::fprintf(stderr,
                 "zinitrd: boot-test needs QEMU: %s is not installed; install the package %s "
                 "(Debian and Ubuntu; %s elsewhere), then run it again\n",
                 qemu.empty() ? kQemu : kQemuImg, qemu.empty() ? "qemu-system-x86" : "qemu-utils",
                 qemu.empty() ? "qemu-system-x86 or qemu-kvm" : "qemu-img");
    return kBootTestCannotRun;
  }
  BootTestReport report;
  report.kver = o.kver;

  // 2. The kernel and the image, and the drivers the image has for the VM's disks.
  report.kernel = o.kernel;
  if (report.kernel.empty())
    for (std::string k : {"/boot/vmlinuz-" + o.kver, "/lib/modules/" + o.kver + "/vmlinuz"})
      if (report.kernel.empty() && fs::exists(k)) report.kernel = k;
  if (report.kernel.empty() || !fs::exists(report.kernel))
    return setup_failed("no kernel " +
                        (report.kernel.empty() ? "/boot/vmlinuz-" + o.kver : report.kernel) +
                        " to boot; install it or give its path with --kernel");
  report.image = o.image;
  auto members = list_image(o.image);
  if (!members)
    return setup_failed(members.error().message + "; build it with `zinitrd build --kver " +
                        o.kver + "` or give another with --image");
  if (auto text = read_image_member(o.image, kBootConfigPath)) {
    auto config = parse_boot_config(*text);
    if (config && config->kver != o.kver)
      report.notes.push_back("the image was built for kernel " + config->kver + ", not " + o.kver +
                             ": its modules cannot load under this kernel");
  } else {
    report.notes.push_back("the image has no " + std::string(kBootConfigPath) +
                           ": it was not built by zinitrd, so no verdict is expected");
  }
  std::set<std::string> modules = available_modules(*members, o.kver);
  auto bus = choose_disk_bus([&](std::string_view m) { return modules.count(std::string(m)) > 0; });
  if (!bus) {
    report.notes.push_back(
        "the image has no driver for a disk QEMU emulates (virtio_blk, nvme, ahci, virtio_scsi): "
        "a --host-only image of a machine with other controllers cannot be tested; virtio-blk "
        "is used and the import will find no disk");
    bus = DiskBus::kVirtio;
  }
  report.bus = disk_bus_name(*bus);

  // 3. The disks: --disk, else the root pool's members.
  std::vector<VmDisk> disks;
  if (!o.disks.empty()) {
    for (const auto& arg : o.disks) {
      auto d = user_disk(arg);
      if (!d) return setup_failed(d.error().message);
      disks.push_back(*d);
    }
  } else {
    auto root = root_dataset_name();
    if (!root) return setup_failed(root.error().message);
    if (std::string encroot = prompt_encryption_root(*root); !encroot.empty()) {
      std::fprintf(stderr,
                   "zinitrd: boot-test: the root %s is encrypted with a passphrase typed at the "
                   "console (%s has keylocation=prompt), which a boot test cannot type: it "
                   "cannot tell whether this machine boots, so nothing was booted\n",
                   root->c_str(), encroot.c_str());
      return kBootTestCannotRun;
    }
    auto found = host_pool_disks(root->substr(0, root->find('/')));
    if (!found) return setup_failed(found.error().message);
    for (const auto& n : found->notes) report.notes.push_back(n);
    for (const auto& path : found->paths) {
      auto d = user_disk(path);
      if (!d) return setup_failed(d.error().message);
      disks.push_back(*d);
    }
  }
  if (*bus == DiskBus::kSata && disks.size() > 6)
    return setup_failed(
        "the image's only disk driver is ahci, whose q35 controller has 6 ports, "
        "and the pool has " +
        std::to_string(disks.size()) + " devices");
  for (const auto& d : disks) report.disks.push_back(d.base);

  // 4. The scratch directory, KVM or TCG, the command line, the overlays.
  ScratchDir scratch;
  if (scratch.path().empty())
    return setup_failed(std::string("cannot make a temporary directory: ") + strerror(errno) +
                        "; set TMPDIR to a writable directory");
  std::string why_not_kvm;
  const bool kvm = kvm_usable(qemu, report.kernel, why_not_kvm);
  report.accel = kvm ? "KVM" : "TCG";
  if (!kvm) report.notes.push_back("no KVM (" + why_not_kvm + "): emulated with TCG, slower");
  std::string machine;
  if (o.cmdline) {
    machine = *o.cmdline;
  } else {
    std::ifstream in("/proc/cmdline");
    std::getline(in, machine);
  }
  std::vector<std::string> dropped;
  report.cmdline = boot_test_cmdline(machine, !kvm, &dropped);
  for (const auto& w : dropped) report.notes.push_back("not passed to the VM: " + w);
  for (size_t i = 0; i < disks.size(); ++i) {
    disks[i].overlay = scratch.path() + "/disk" + std::to_string(i) + ".qcow2";
    CommandOptions img;
    img.timeout_ms = kQemuImgTimeoutMs;
    img.merge_stderr = true;
    CommandOutput made = run_command({qemu_img, "create", "-q", "-f", "qcow2", "-F",
                                      disks[i].format, "-b", disks[i].base, disks[i].overlay},
                                     img);
    while (!made.out.empty() && made.out.back() == '\n') made.out.pop_back();
    if (!made.ok())
      return setup_failed("`qemu-img create -f qcow2 -F " + disks[i].format + " -b " +
                          disks[i].base + "` " + made.describe() +
                          (made.out.empty() ? "" : " (" + made.out + ")") + "; check that " +
                          disks[i].base + " is readable and " + scratch.path() + " writable");
  }

  // 5. The VM.
  VmPlan plan;
  plan.qemu = qemu;
  plan.kvm = kvm;
  plan.memory_mb = o.memory_mb;
  plan.kernel = report.kernel;
  plan.initrd = o.image;
  plan.append = report.cmdline;
  plan.console_file = scratch.path() + "/console";
  plan.bus = *bus;
  plan.disks = disks;
  // The runner's deadline kills QEMU's whole process group; the console file keeps what the
  // guest printed until then.
  CommandOptions vm;
  vm.timeout_ms = static_cast<int64_t>(o.timeout_s) * 1000;
  vm.merge_stderr = true;
  progress("booting " + o.kver + " with " + o.image + " under QEMU (" + report.accel + ", " +
           std::to_string(disks.size()) + " disk(s) read-only behind overlays; at most " +
           std::to_string(o.timeout_s) + " s)");
  const auto t0 = std::chrono::steady_clock::now();
  CommandOutput ran = run_command(qemu_argv(plan), vm);
  QemuRun run;
  run.seconds = seconds_since(t0);
  run.status = ran.ran ? ran.status : 127;
  run.timeout_s = o.timeout_s;
  run.timed_out = ran.timed_out;
  run.messages = ran.ran ? ran.out : qemu + " could not be started";
  while (!run.messages.empty() && run.messages.back() == '\n') run.messages.pop_back();
  std::istringstream lines(run.messages);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.find("terminating on signal") == std::string::npos)
      report.notes.push_back("QEMU: " + line);

  // 6. The verdict.
  std::ifstream console_in(plan.console_file, std::ios::binary);
  std::stringstream console;
  console << console_in.rdbuf();
  judge_boot_test(read_console(console.str()), run, report);
  std::string out = o.json ? format_boot_test_json(report) : format_boot_test_text(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return report.pass ? kBootTestPass : report.untested ? kBootTestCannotRun : kBootTestFail;
}

}  // namespace zinitrd::gen
