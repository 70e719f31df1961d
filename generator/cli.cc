// cli.cc: parses `zinitrd build|ls|cat|extract`, applies configuration files and defaults, and
// reports results and errors once. Options come from the command line first, then from
// ROOT/etc/zinitrd.conf and ROOT/etc/zinitrd.conf.d/*.conf (INI, same names): the command line
// wins, and list options (add, omit, include, install, kmod, keyfile) accumulate across all
// sources.
#include "cli.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "boot_test_command.h"
#include "build.h"
#include "check.h"
#include "image_reader.h"
#include "microcode.h"
#include "os_release.h"
#include "root_fs.h"
#include "text.h"
#include "uki.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace zinitrd::gen {
namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2;

constexpr const char* kUsage =
    "usage: zinitrd build [options]        build an initramfs for a ZFS root\n"
    "       zinitrd ls IMAGE               list the files of any initramfs\n"
    "       zinitrd cat IMAGE PATH         print one file of an initramfs\n"
    "       zinitrd extract IMAGE DIR      unpack an initramfs into DIR\n"
    "       zinitrd check [--root DIR] [--kver KVER] [--image PATH] [--json]   will KVER boot?\n"
    "       zinitrd boot-test [--kver KVER] [--image PATH] [--disk DEV]... [--cmdline TEXT]\n"
    "                         [--timeout S] [--json]   boot the image in a VM on this pool\n"
    "       zinitrd --help | --version\n";

// The directory holding the running executable; the runtime and modules.d live beside it.
fs::path self_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

// Where an installed (or build-tree) zinitrd keeps its runtime and features: PREFIX/lib/zinitrd.
fs::path data_dir() { return self_dir().parent_path() / "lib" / "zinitrd"; }

std::string running_kernel() {
  struct utsname u;
  return ::uname(&u) == 0 ? u.release : "";
}

// The default image path by distribution convention (os_release.h), as a host path: ROOT's
// /boot resolved inside the root (a link there must not lead to the host's /boot).
std::string default_output(const RootFs& root, const std::string& kver) {
  std::string in_root = default_image_path(root, kver);
  auto boot = root.resolve("/boot");
  return root.host_path((boot ? boot->path : std::string("/boot")) +
                        in_root.substr(std::string("/boot").size()));
}

// A default kernel release: the running one on the host; the only one installed under --root.
Result<std::string> default_kver(const RootFs& root) {
  if (root.is_host()) return running_kernel();
  std::vector<std::string> kvers;
  for (const auto& dep : root.glob("/lib/modules/*/modules.dep")) {
    std::string dir = dep.substr(0, dep.rfind('/'));
    kvers.push_back(dir.substr(dir.rfind('/') + 1));
  }
  if (kvers.size() == 1) return kvers[0];
  return Error::msg("--kver is required with --root: " + std::to_string(kvers.size()) +
                    " kernels found in " + root.host_path("/lib/modules"));
}

// --kver when given, else default_kver(ROOT); a usage error when there is none.
std::string chosen_kver(const po::variables_map& vm, const RootFs& root) {
  if (vm.count("kver")) return vm["kver"].as<std::string>();
  auto k = default_kver(root);
  if (!k) throw po::error(k.error().message);
  return *k;
}

std::string mb(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return b;
}

// SOURCE_DATE_EPOCH (reproducible-builds.org): the mtime of every entry, as decimal seconds
// since 1970 and nothing else; newc stores 32 bits, so at most 4294967295. Set but empty counts
// as unset, as in most build tools.
Result<int64_t> source_date_epoch(std::string_view text) {
  constexpr int64_t kMax = 0xffffffffLL;
  int64_t v = 0;
  bool ok = !text.empty() && text.size() <= 10;
  for (char c : text) {
    if (c < '0' || c > '9') ok = false;
    if (ok) v = v * 10 + (c - '0');
  }
  if (!ok || v > kMax)
    return Error::msg("SOURCE_DATE_EPOCH='" + std::string(text) +
                      "' is not a time: it must be decimal seconds since 1970 (digits only, at "
                      "most " +
                      std::to_string(kMax) + ", the latest a cpio archive holds); fix or unset it");
  return v;
}

po::options_description build_options() {
  po::options_description d("zinitrd build options");
  d.add_options()("kver,k", po::value<std::string>(),
                  "kernel release (default: the running kernel)")(
      "output,o", po::value<std::string>(),
      "image path (default: the distribution's, from ROOT's os-release: /boot/initrd.img-KVER "
      "on Debian/Ubuntu, /boot/initramfs-KVER.img on Fedora/RHEL, /boot/initramfs-linux.img on "
      "Arch...)")("root,r", po::value<std::string>()->default_value("/"),
                  "build for the system mounted at DIR")(
      "compress", po::value<std::string>()->default_value("zstd"), "zstd, gzip, xz, lz4 or none")(
      "level", po::value<int>()->default_value(-1),
      "compression level (default: 19 for zstd, the compressor's own for the others)")(
      "cache-dir", po::value<std::string>()->default_value("auto"),
      "where zstd segments that did not change are kept between builds: auto (ROOT's "
      "/var/cache/zinitrd), none, or a directory")(
      "add,a", po::value<std::vector<std::string>>()->composing(), "add a feature of modules.d")(
      "omit", po::value<std::vector<std::string>>()->composing(), "leave a feature out")(
      "include", po::value<std::vector<std::string>>()->composing(),
      "copy host file SRC[:DST] into the image")(
      "install", po::value<std::vector<std::string>>()->composing(),
      "add a program and its libraries")("kmod", po::value<std::vector<std::string>>()->composing(),
                                         "add a kernel module, loaded at boot")(
      "keyfile", po::value<std::vector<std::string>>()->composing(),
      "embed ZFS key file SRC[:DST] (mode 0600)")(
      "init", po::value<std::string>(), "use this program as /init instead of zinitrd's runtime")(
      "ssh-authorized-keys", po::value<std::string>(),
      "unlock over SSH with these keys (file in the root; default /etc/zinitrd/authorized_keys)")(
      "ssh-host-key", po::value<std::string>(),
      "the SSH host key (in the root; made once when missing; default "
      "/etc/zinitrd/ssh_host_ed25519_key)")("host-only", po::bool_switch(),
                                            "only the drivers of this machine's root pool devices")(
      "decompress-modules", po::value<std::string>()->default_value("auto"),
      "compressed modules (.ko.xz, .ko.zst): yes (decompressed in the image), no (kept: the "
      "kernel must decompress them) or auto (kept when the kernel decompresses them)")(
      "keymap", po::value<std::string>()->default_value("auto"),
      "console keymap for what is typed at boot: auto (the system's: console-setup's, or "
      "KEYMAP= of /etc/vconsole.conf), none, or a keymap file in the root")(
      "microcode", po::value<std::string>()->default_value("auto"),
      "early CPU microcode: auto (this CPU's vendor; with --host-only this CPU's only), all or "
      "none")("uki", po::bool_switch(), "write a unified kernel image (EFI stub + kernel + image)")(
      "cmdline", po::value<std::string>(), "--uki: the embedded kernel command line")(
      "kernel-image", po::value<std::string>(), "--uki: the kernel (default: /boot/vmlinuz-KVER)")(
      "os-release", po::value<std::string>(), "--uki: the .osrel section (default: os-release)")(
      "splash", po::value<std::string>(), "--uki: a BMP image for the .splash section")(
      "secureboot-key", po::value<std::string>(), "--uki: sign with this key (sbsign)")(
      "secureboot-cert", po::value<std::string>(), "--uki: and this certificate")(
      "generic", po::bool_switch(), "every storage driver, loaded by device (the default)")(
      "stats", po::bool_switch(), "print the time of each pass")(
      "verbose,v", po::bool_switch(), "print what went in")("quiet,q", po::bool_switch(),
                                                            "print errors only");
  return d;
}

// What configuration files may set: the build options, and boot_test, which the kernel hooks
// read (`zinitrd boot-test --configured`) and `zinitrd build` ignores.
po::options_description config_file_options() {
  po::options_description d = build_options();
  d.add_options()("boot_test", po::value<bool>(),
                  "the kernel hooks boot-test each new image and keep the previous one when it "
                  "fails");
  return d;
}

// Boost's message templates replace %value%, %canonical_option%... in a loop that rescans the
// result: a value or option name that itself contains such a token (`level = %value%`) makes
// what() loop forever. Breaking every '%' of the substituted texts defuses that; then what().
struct DefusedError : po::error_with_option_name {
  static const char* what_of(po::error& e) {
    if (auto* named = dynamic_cast<po::error_with_option_name*>(&e)) {
      auto& subs = named->*(&DefusedError::m_substitutions);
      for (auto& [token, text] : subs) {
        std::string safe;
        for (char c : text) safe += c == '%' ? std::string("% ") : std::string(1, c);
        text = std::move(safe);
      }
    }
    return e.what();
  }
};

template <class T>
std::vector<T> list(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::vector<T>>() : std::vector<T>{};
}

// Reads ROOT/etc/zinitrd.conf and ROOT/etc/zinitrd.conf.d/*.conf into VM (after the command line).
void read_config_files(const RootFs& root, const po::options_description& desc,
                       po::variables_map& vm) {
  std::vector<std::string> files;
  if (root.exists("/etc/zinitrd.conf")) files.push_back("/etc/zinitrd.conf");
  for (const auto& f : root.glob("/etc/zinitrd.conf.d/*.conf")) files.push_back(f);
  for (const auto& f : files) {
    std::string host = root.host_path(f);  // for messages; the file is read inside the root
    auto text = root.read_file(f);
    if (!text) throw po::error(text.error().message + " (in " + root.root() + ")");
    std::istringstream in(*text);
    try {
      po::store(po::parse_config_file(in, desc), vm);
    } catch (po::error& e) {
      throw po::error(host + ": " + DefusedError::what_of(e));
    }
  }
}

// --cache-dir: "auto" is ROOT's /var/cache/zinitrd when ROOT has a /var/cache (a fixture tree or
// a bare target without one gets no cache rather than a new directory); "none" is no cache.
std::string segment_cache_dir(const RootFs& root, const std::string& value) {
  if (value == "none" || value.empty()) return "";
  if (value != "auto") return value;
  struct stat st;
  const std::string parent = root.host_path("/var/cache");
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  return parent + "/zinitrd";
}

int cmd_build(const std::vector<std::string>& args) {
  po::options_description desc = build_options();
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: zinitrd build [options]\n" << desc;
    return kExitOk;
  }
  RootFs root(vm["root"].as<std::string>());
  read_config_files(root, config_file_options(), vm);
  po::notify(vm);

  BuildOptions opt;
  opt.root = root.root();
  opt.kver = chosen_kver(vm, root);
  opt.uki.enabled = vm["uki"].as<bool>();
  if (vm.count("output")) {
    opt.output = vm["output"].as<std::string>();
  } else if (opt.uki.enabled) {
    auto esp = default_uki_output(root, opt.kver);
    if (!esp) throw po::error(esp.error().message);
    opt.output = *esp;
  } else {
    opt.output = default_output(root, opt.kver);
  }
  opt.keymap = vm["keymap"].as<std::string>();
  auto microcode = parse_microcode_mode(vm["microcode"].as<std::string>());
  if (!microcode) throw po::error(microcode.error().message);
  opt.microcode.mode = *microcode;
  auto text = [&](const char* name, std::string& to) {
    if (vm.count(name)) to = vm[name].as<std::string>();
  };
  if (vm.count("cmdline")) opt.uki.cmdline = vm["cmdline"].as<std::string>();
  text("kernel-image", opt.uki.kernel);
  text("os-release", opt.uki.os_release);
  text("splash", opt.uki.splash);
  text("secureboot-key", opt.uki.key);
  text("secureboot-cert", opt.uki.cert);
  if (!opt.uki.enabled)
    for (const char* o : {"cmdline", "kernel-image", "os-release", "splash"})
      if (vm.count(o)) throw po::error(std::string("--") + o + " is for --uki only");
  auto compression = parse_compression(vm["compress"].as<std::string>());
  if (!compression) throw po::error(compression.error().message);
  opt.write.compression = *compression;
  opt.write.level = vm["level"].as<int>();
  opt.write.cache_dir = segment_cache_dir(root, vm["cache-dir"].as<std::string>());
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    auto mtime = source_date_epoch(epoch);
    if (!mtime) throw po::error(mtime.error().message);
    opt.write.mtime = *mtime;
  }
  opt.feature_dirs = {data_dir() / "modules.d"};  // then ROOT's /etc/zinitrd/modules.d
  opt.add = list<std::string>(vm, "add");
  opt.omit = list<std::string>(vm, "omit");
  opt.includes = list<std::string>(vm, "include");
  opt.installs = list<std::string>(vm, "install");
  opt.kmods = list<std::string>(vm, "kmod");
  opt.keyfiles = list<std::string>(vm, "keyfile");
  opt.runtime = data_dir() / "init";
  if (vm.count("init")) opt.init = vm["init"].as<std::string>();
  if (vm.count("ssh-authorized-keys"))
    opt.ssh_authorized_keys = vm["ssh-authorized-keys"].as<std::string>();
  if (vm.count("ssh-host-key")) opt.ssh_host_key = vm["ssh-host-key"].as<std::string>();
  if (vm["host-only"].as<bool>() && vm["generic"].as<bool>())
    throw po::error("--host-only and --generic exclude each other");
  opt.host_only = vm["host-only"].as<bool>();
  auto decompress = parse_decompress_modules(vm["decompress-modules"].as<std::string>());
  if (!decompress) throw po::error(decompress.error().message);
  opt.decompress_modules = *decompress;
  bool quiet = vm["quiet"].as<bool>(), verbose = vm["verbose"].as<bool>();
  bool stats = vm["stats"].as<bool>();

  auto t0 = std::chrono::steady_clock::now();
  auto report = build_image(opt);
  if (!report) {
    std::fprintf(stderr, "zinitrd: %s\n", report.error().message.c_str());
    return kExitFailed;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    for (const auto& w : report->warnings)
      std::fprintf(stderr, "zinitrd: warning: %s\n", w.c_str());
  if (!quiet)
    for (const auto& n : report->notes) std::fprintf(stderr, "zinitrd: note: %s\n", n.c_str());
  if (verbose) {
    std::fprintf(stderr, "zinitrd: features: %s; %zu kernel modules\n",
                 join(report->features, " ").c_str(), report->modules);
  }
  if ((verbose || stats) && !report->module_storage.empty())
    std::fprintf(stderr, "zinitrd: %s\n", report->module_storage.c_str());
  if (stats)
    for (const auto& p : report->passes)
      std::fprintf(stderr, "zinitrd: pass %-20s %7.3f s\n", p.name.c_str(), p.seconds);
  if (stats)
    for (const auto& seg : report->written.segments)
      std::fprintf(stderr, "zinitrd: segment %-8s %5zu entries %8.1f KB -> %8.1f KB%s\n",
                   seg.name.c_str(), seg.entries, seg.uncompressed_bytes / 1e3,
                   seg.compressed_bytes / 1e3,
                   seg.cache == SegmentStats::Cache::kReused   ? " (reused from the cache)"
                   : seg.cache == SegmentStats::Cache::kStored ? " (compressed, kept in the cache)"
                                                               : "");
  if (stats)
    for (const auto& [path, bytes] : report->largest)
      std::fprintf(stderr, "zinitrd: largest %9.1f KB %s\n", bytes / 1e3, path.c_str());
  if (verbose)
    for (const auto& n : report->written.notes) std::fprintf(stderr, "zinitrd: %s\n", n.c_str());
  if (verbose) std::fprintf(stderr, "zinitrd: early microcode: %s\n", report->microcode.c_str());
  if (verbose && !report->keymap.empty())
    std::fprintf(stderr, "zinitrd: console keymap: %s\n", report->keymap.c_str());
  std::string early;
  if (report->microcode_bytes)
    early = ", early microcode " + mb(report->microcode_bytes) + " uncompressed first";
  uint64_t initrd = report->written.compressed_bytes + report->microcode_bytes;
  if (!quiet && report->uki_bytes)
    std::printf("zinitrd: wrote %s (UKI%s, %s: initrd %s with %zu entries, %s%s) in %.2f s\n",
                opt.output.c_str(), report->uki_signed ? ", signed" : "",
                mb(report->uki_bytes).c_str(), mb(initrd).c_str(), report->written.entries,
                std::string(compression_name(opt.write.compression)).c_str(), early.c_str(), secs);
  else if (!quiet)
    std::printf("zinitrd: wrote %s (%s, %zu entries, %s, %s uncompressed%s) in %.2f s\n",
                opt.output.c_str(), mb(initrd).c_str(), report->written.entries,
                std::string(compression_name(opt.write.compression)).c_str(),
                mb(report->written.uncompressed_bytes).c_str(), early.c_str(), secs);
  return kExitOk;
}

std::string mode_string(mode_t m) {
  std::string s = S_ISDIR(m)    ? "d"
                  : S_ISLNK(m)  ? "l"
                  : S_ISCHR(m)  ? "c"
                  : S_ISBLK(m)  ? "b"
                  : S_ISFIFO(m) ? "p"
                  : S_ISSOCK(m) ? "s"
                                : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (m & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

int cmd_ls(const std::vector<std::string>& args) {
  if (args.size() != 1) throw po::error("usage: zinitrd ls IMAGE");
  auto members = list_image(args[0]);
  if (!members) {
    std::fprintf(stderr, "zinitrd: %s\n", members.error().message.c_str());
    return kExitFailed;
  }
  // One "# segment" line before the members of each cpio segment (an early-microcode archive
  // comes first, uncompressed, then the compressed main archive).
  for (size_t i = 0; i < members->size(); ++i) {
    const auto& m = (*members)[i];
    if (i == 0 || m.segment != (*members)[i - 1].segment) {
      size_t n = 0;
      while (i + n < members->size() && (*members)[i + n].segment == m.segment) ++n;
      std::printf(
          "# segment %u at byte %llu: %s cpio, %zu members\n", m.segment,
          (unsigned long long)m.segment_offset,
          m.compression == "none" ? "uncompressed" : (m.compression + "-compressed").c_str(), n);
    }
    std::printf("%s %10llu %s%s%s\n", mode_string(m.mode).c_str(), (unsigned long long)m.size,
                m.path.c_str(), m.link_target.empty() ? "" : " -> ", m.link_target.c_str());
  }
  return kExitOk;
}

int cmd_cat(const std::vector<std::string>& args) {
  if (args.size() != 2) throw po::error("usage: zinitrd cat IMAGE PATH");
  auto content = read_image_member(args[0], args[1]);
  if (!content) {
    std::fprintf(stderr, "zinitrd: %s\n", content.error().message.c_str());
    return kExitFailed;
  }
  std::fwrite(content->data(), 1, content->size(), stdout);
  return kExitOk;
}

int cmd_extract(const std::vector<std::string>& args) {
  if (args.size() != 2) throw po::error("usage: zinitrd extract IMAGE DIR");
  std::vector<std::string> warnings;
  auto st = extract_image(args[0], args[1], &warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "zinitrd: warning: %s\n", w.c_str());
  if (!st) {
    std::fprintf(stderr, "zinitrd: %s\n", st.error().message.c_str());
    return kExitFailed;
  }
  return kExitOk;
}

// `zinitrd check`: the boot chain of KVER as a checklist; exit 1 when an item would stop the boot.
int cmd_check(const std::vector<std::string>& args) {
  po::options_description desc("zinitrd check options");
  desc.add_options()("kver,k", po::value<std::string>(),
                     "kernel release (default: the running kernel; the only one under --root)")(
      "root,r", po::value<std::string>()->default_value("/"),
      "check the system mounted at DIR (an installer's target)")(
      "image", po::value<std::string>(),
      "image to inspect (default: the distribution's name under ROOT/boot, as zinitrd build "
      "writes it)")("json", po::bool_switch(), "print one JSON object")("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: zinitrd check [options]\n" << desc;
    return kExitOk;
  }
  CheckOptions opt;
  RootFs root(vm["root"].as<std::string>());
  opt.root = root.root();
  opt.target = !root.is_host();
  opt.kver = chosen_kver(vm, root);
  if (vm.count("image")) opt.image = vm["image"].as<std::string>();
  auto items = run_checks(opt, run_check_command);
  std::string out = vm["json"].as<bool>() ? format_check_json(opt.kver, items)
                                          : format_check_text(opt.kver, items);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return check_exit_status(items) == 0 ? kExitOk : kExitFailed;
}

// `zinitrd boot-test`: boot KVER with its image in a VM on the root pool's disks (read-only).
int cmd_boot_test(const std::vector<std::string>& args) {
  po::options_description desc("zinitrd boot-test options");
  desc.add_options()("kver,k", po::value<std::string>(),
                     "kernel release (default: the running kernel)")(
      "image", po::value<std::string>(),
      "image to test (default: /boot/initrd.img-KVER or /boot/initramfs-KVER.img)")(
      "kernel", po::value<std::string>(),
      "kernel to boot (default: /boot/vmlinuz-KVER, else /lib/modules/KVER/vmlinuz)")(
      "disk", po::value<std::vector<std::string>>()->composing(),
      "attach this device or disk image file instead of the root pool's members (repeatable)")(
      "cmdline", po::value<std::string>(), "kernel command line to test (default: /proc/cmdline)")(
      "timeout", po::value<int>()->default_value(300), "give up on the VM after S seconds")(
      "json", po::bool_switch(), "print one JSON object")(
      "configured", po::bool_switch(),
      "boot nothing: exit 0 when zinitrd.conf sets boot_test = yes, else 1 (for the kernel "
      "hooks)")("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: zinitrd boot-test [options]\n" << desc;
    return kExitOk;
  }
  RootFs root("/");
  if (vm["configured"].as<bool>()) {
    po::variables_map conf;
    read_config_files(root, config_file_options(), conf);
    po::notify(conf);
    bool on = conf.count("boot_test") && conf["boot_test"].as<bool>();
    std::printf("boot_test = %s\n", on ? "yes" : "no");
    return on ? kExitOk : kExitFailed;
  }
  BootTestOptions opt;
  opt.kver = vm.count("kver") ? vm["kver"].as<std::string>() : running_kernel();
  opt.image = vm.count("image") ? vm["image"].as<std::string>() : default_output(root, opt.kver);
  if (vm.count("kernel")) opt.kernel = vm["kernel"].as<std::string>();
  opt.disks = list<std::string>(vm, "disk");
  if (vm.count("cmdline")) opt.cmdline = vm["cmdline"].as<std::string>();
  opt.timeout_s = vm["timeout"].as<int>();
  if (opt.timeout_s <= 0) throw po::error("--timeout must be a positive number of seconds");
  opt.json = vm["json"].as<bool>();
  return run_boot_test(opt);
}

}  // namespace

std::string check_config_text(const std::string& text) {
  std::istringstream in(text);
  po::variables_map vm;
  try {
    po::store(po::parse_config_file(in, config_file_options()), vm);
    po::notify(vm);
    if (auto c = parse_compression(vm["compress"].as<std::string>()); !c) return c.error().message;
    if (auto d = parse_decompress_modules(vm["decompress-modules"].as<std::string>()); !d)
      return d.error().message;
    if (auto m = parse_microcode_mode(vm["microcode"].as<std::string>()); !m)
      return m.error().message;
    (void)vm["level"].as<int>();
  } catch (po::error& e) {
    return DefusedError::what_of(e);
  }
  return "";
}

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(kUsage, stdout);
      std::cout << build_options();
      return kExitOk;
    }
    if (cmd == "--version") {
      std::printf("zinitrd %s\n", ZINITRD_VERSION);
      return kExitOk;
    }
    if (cmd == "build") return cmd_build(args);
    if (cmd == "ls") return cmd_ls(args);
    if (cmd == "cat") return cmd_cat(args);
    if (cmd == "extract") return cmd_extract(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "boot-test") return cmd_boot_test(args);
    std::fprintf(stderr, "zinitrd: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return kExitUsage;
  } catch (po::error& e) {
    std::fprintf(stderr, "zinitrd: %s\n(see `zinitrd %s --help`)\n", DefusedError::what_of(e),
                 cmd.c_str());
    return kExitUsage;
  }
}

}  // namespace zinitrd::gen
