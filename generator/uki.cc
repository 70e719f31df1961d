// uki.cc: resolves what a unified kernel image is made of and assembles it with objcopy (and
// sbsign), as uki.h describes.
#include "uki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fd.h"
#include "pe_file.h"

namespace zinitrd::gen {
namespace {

constexpr uint64_t kMinSectionAlign = 4096;

struct ToolOutput {
  int status = -1;     // exit status; 127: could not be started
  std::string output;  // standard output and standard error, interleaved
};

// Runs ARGV (argv[0] from PATH) with stdin on /dev/null, capturing what it prints.
ToolOutput run_tool(const std::vector<std::string>& argv) {
  ToolOutput r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return r;
  Fd rd(p[0]), wr(p[1]);
  pid_t pid = ::fork();
  if (pid < 0) return r;
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, 0);
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    ::setenv("LC_ALL", "C", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  wr.reset();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0)
      r.output.append(buf, static_cast<size_t>(n));
    else if (!(n < 0 && errno == EINTR))
      break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// True when PROGRAM is an executable in PATH.
bool in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t b = 0;
  while (b <= dirs.size()) {
    size_t e = dirs.find(':', b);
    if (e == std::string::npos) e = dirs.size();
    std::string dir = dirs.substr(b, e - b);
    if (::access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0) return true;
    b = e + 1;
  }
  return false;
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::sys("read", path, errno);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error::sys("write", path, errno);
  return Ok{};
}

// The command line without what only a boot loader's own entry means (BOOT_IMAGE=, initrd=).
std::string strip_loader_words(const std::string& cmdline) {
  std::istringstream in(cmdline);
  std::string word, out;
  while (in >> word) {
    if (word.rfind("BOOT_IMAGE=", 0) == 0 || word.rfind("initrd=", 0) == 0) continue;
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

// The first line of in-root FILE without surrounding blanks, or "".
std::string first_line(const RootFs& root, const char* file) {
  auto text = root.read_file(file);
  if (!text) return "";
  std::string line = text->substr(0, text->find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
  return line;
}

}  // namespace

std::optional<std::string> uki_cmdline(const RootFs& root) {
  for (const char* f : {"/etc/kernel/cmdline", "/usr/lib/kernel/cmdline"}) {
    auto text = root.read_file(f);
    if (!text) continue;
    std::string joined;  // kernel-install joins the lines of the file
    std::istringstream in(*text);
    for (std::string w; in >> w;) joined += (joined.empty() ? "" : " ") + w;
    return joined;
  }
  if (!root.is_host()) return std::nullopt;
  auto proc = slurp("/proc/cmdline");
  if (!proc) return std::nullopt;
  return strip_loader_words(*proc);
}

UkiInputs plan_uki(const RootFs& root, const UkiOptions& o, const std::string& kver,
                   std::vector<std::string>& problems, std::vector<std::string>& warnings) {
  UkiInputs in;
  in.stub = o.stub.empty() ? root.host_path(kUkiStubPath) : o.stub;
  if (!is_file(in.stub))
    problems.push_back("the systemd EFI stub " + in.stub +
                       " is missing, and a UKI is built on it: install systemd-boot-efi (`apt-get "
                       "install systemd-boot-efi`), or build a plain initrd without --uki");
  else if (auto pe = read_pe(in.stub); !pe)
    problems.push_back(pe.error().message + ": reinstall systemd-boot-efi");

  in.kernel = o.kernel.empty() ? root.host_path("/boot/vmlinuz-" + kver) : o.kernel;
  if (!is_file(in.kernel))
    problems.push_back("the kernel image " + in.kernel + " is missing: install the kernel " + kver +
                       ", or name its image with --kernel-image FILE");

  std::optional<std::string> cmdline = o.cmdline ? o.cmdline : uki_cmdline(root);
  if (!cmdline) {
    problems.push_back("no kernel command line for the UKI: write it to " +
                       root.host_path("/etc/kernel/cmdline") +
                       " (e.g. root=zfs:rpool/ROOT/debian) or give --cmdline");
  } else {
    in.cmdline = *cmdline;
    std::string padded = " " + in.cmdline;
    if (padded.find(" root=") == std::string::npos && padded.find(" zfs=") == std::string::npos)
      warnings.push_back("the UKI's command line '" + in.cmdline +
                         "' names no root: the image will boot the pool's bootfs (as "
                         "root=zfs:AUTO); add root=zfs:POOL/DATASET to choose");
  }

  if (!o.os_release.empty()) {
    auto text = slurp(o.os_release);
    if (!text)
      problems.push_back(text.error().message + " (--os-release)");
    else
      in.os_release = *text;
  } else {
    for (const char* f : {"/etc/os-release", "/usr/lib/os-release"})
      if (auto text = root.read_file(f)) {
        in.os_release = *text;
        break;
      }
    if (in.os_release.empty())
      problems.push_back("no os-release in " + root.root() +
                         " (/etc/os-release, /usr/lib/os-release): systemd-boot names a UKI "
                         "entry after it; give one with --os-release FILE");
  }
  in.uname = kver;

  if (!o.splash.empty()) {
    in.splash = o.splash;
    if (!is_file(in.splash))
      problems.push_back("--splash " + in.splash + ": no such file (a BMP image is expected)");
  }

  if (!in_path("objcopy"))
    problems.push_back("objcopy is not installed and assembles the UKI: install binutils");
  if (o.key.empty() != o.cert.empty()) {
    problems.push_back(
        "signing a UKI takes both --secureboot-key and --secureboot-cert; only one was given");
  } else if (!o.key.empty()) {
    in.key = o.key;
    in.cert = o.cert;
    for (const auto& f : {in.key, in.cert})
      if (!is_file(f)) problems.push_back("Secure Boot key or certificate " + f + ": no such file");
    if (!in_path("sbsign"))
      problems.push_back("sbsign is not installed and signs the UKI: install sbsigntool");
  }
  return in;
}

Result<std::string> default_uki_output(const RootFs& root, const std::string& kver) {
  std::string esp;
  for (const char* d : {"/efi", "/boot/efi", "/boot"}) {
    struct stat st;
    if (::stat(root.host_path(std::string(d) + "/EFI").c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      esp = d;
      break;
    }
  }
  if (esp.empty())
    return Error::msg("no EFI system partition found (no EFI directory in " +
                      root.host_path("/efi") + ", " + root.host_path("/boot/efi") + " or " +
                      root.host_path("/boot") + "): give the UKI's path with -o FILE.efi");
  std::string token = first_line(root, "/etc/kernel/entry-token");
  if (token.empty()) token = first_line(root, "/etc/machine-id");
  if (token.empty()) {
    auto os = root.read_file("/etc/os-release");
    std::istringstream in(os ? *os : "");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("ID=", 0) == 0) token = line.substr(3);
    std::erase(token, '"');
  }
  if (token.empty()) token = "linux";
  return root.host_path(esp + "/EFI/Linux/" + token + "-" + kver + ".efi");
}

Result<UkiStats> assemble_uki(const UkiInputs& in, const std::string& workdir, int out_fd) {
  auto stub = read_pe(in.stub);
  if (!stub) return stub.error();
  const uint64_t align = std::max<uint64_t>(stub->section_alignment, kMinSectionAlign);

  // The sections, in the order they are placed: small texts first, the kernel and the initrd last.
  struct Section {
    const char* name;
    std::string file;
  };
  std::vector<Section> sections;
  auto text_section = [&](const char* name, const std::string& text) -> Status {
    std::string f = workdir + "/" + (name + 1);
    if (auto st = write_text(f, text); !st) return st;
    sections.push_back({name, f});
    return Ok{};
  };
  if (auto st = text_section(".osrel", in.os_release); !st) return st.error();
  if (auto st = text_section(".cmdline", in.cmdline); !st) return st.error();
  if (auto st = text_section(".uname", in.uname); !st) return st.error();
  if (!in.splash.empty()) sections.push_back({".splash", in.splash});
  sections.push_back({".linux", in.kernel});
  sections.push_back({".initrd", in.initrd});

  std::vector<std::string> argv = {"objcopy"};
  uint64_t rva = stub->end_rva(align);
  for (const auto& s : sections) {
    struct stat st;
    if (::stat(s.file.c_str(), &st) != 0) return Error::sys("stat", s.file, errno);
    char vma[32];
    std::snprintf(vma, sizeof vma, "0x%llx",
                  static_cast<unsigned long long>(stub->image_base + rva));
    argv.insert(argv.end(), {"--add-section", std::string(s.name) + "=" + s.file,
                             "--change-section-vma", std::string(s.name) + "=" + vma});
    uint64_t size = static_cast<uint64_t>(st.st_size);
    rva = (rva + std::max<uint64_t>(size, 1) + align - 1) & ~(align - 1);
  }
  std::string unsigned_uki = workdir + "/unsigned.efi";
  argv.insert(argv.end(), {in.stub, unsigned_uki});
  if (auto r = run_tool(argv); r.status != 0)
    return Error::msg("objcopy could not assemble the UKI (exit status " +
                      std::to_string(r.status) + "): " + r.output +
                      (r.status == 127 ? " install binutils" : ""));

  UkiStats stats;
  std::string result = unsigned_uki;
  if (!in.key.empty()) {
    result = workdir + "/signed.efi";
    auto r =
        run_tool({"sbsign", "--key", in.key, "--cert", in.cert, "--output", result, unsigned_uki});
    if (r.status != 0)
      return Error::msg("sbsign could not sign the UKI with " + in.key + " and " + in.cert +
                        " (exit status " + std::to_string(r.status) + "): " + r.output);
    stats.signed_ = true;
  }

  Fd src(::open(result.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.valid()) return Error::sys("open", result, errno);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(src.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys("read", result, errno);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out_fd, buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Error::sys("write UKI", "", errno);
      done += w;
    }
    stats.bytes += static_cast<uint64_t>(n);
  }
  return stats;
}

}  // namespace zinitrd::gen
