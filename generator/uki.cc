// uki.cc: resolves what a unified kernel image is made of and assembles it with objcopy (and
// sbsign), as uki.h describes.
#include "uki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "fd.h"
#include "pe_file.h"
#include "process.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

constexpr uint64_t kMinSectionAlign = 4096;

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
  std::vector<std::string> kept;
  for (auto& word : split_words(cmdline))
    if (!word.starts_with("BOOT_IMAGE=") && !word.starts_with("initrd=")) kept.push_back(word);
  return join(kept, " ");
}

// The first line of in-root FILE without surrounding blanks, or "".
std::string first_line(const RootFs& root, const char* file) {
  auto text = root.read_file(file);
  if (!text) return "";
  return std::string(trim(std::string_view(*text).substr(0, text->find('\n'))));
}

}  // namespace

std::optional<std::string> uki_cmdline(const RootFs& root) {
  for (const char* f : {"/etc/kernel/cmdline", "/usr/lib/kernel/cmdline"}) {
    auto text = root.read_file(f);
    if (!text) continue;
    return join(split_words(*text), " ");  // kernel-install joins the lines of the file
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

Result<std::string> default_uki_path(const RootFs& root, const std::string& kver) {
  std::string esp;
  for (const char* d : {"/efi", "/boot/efi", "/boot"}) {
    auto dir = root.resolve(std::string(d) + "/EFI");  // a link in the root stays in the root
    struct stat st;
    if (dir && ::stat(root.host_path(dir->path).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
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
    for (auto& line : split_all(os ? *os : "", '\n'))
      if (line.starts_with("ID=")) token = line.substr(3);
    std::erase(token, '"');
  }
  if (token.empty()) token = "linux";
  return esp + "/EFI/Linux/" + token + "-" + kver + ".efi";
}

Result<std::string> default_uki_output(const RootFs& root, const std::string& kver) {
  auto p = default_uki_path(root, kver);
  if (!p) return p.error();
  return root.host_path(*p);
}

Result<UkiContents> read_uki(std::string_view data, std::string_view what) {
  auto pe = parse_pe(data, what);
  if (!pe) return pe.error();
  auto bad = [&](const std::string& why) {
    return Error::msg("'" + std::string(what) + "' is not a bootable UKI: " + why);
  };
  if (pe->machine != 0x8664) return bad("not an x86-64 image");
  UkiContents c;
  for (const char* name : {".linux", ".initrd", ".cmdline", ".osrel", ".uname"}) {
    const PeSection* s = pe->find(name);
    if (!s) return bad(std::string("no ") + name + " section");
    std::string_view bytes = pe_section_data(data, *s);
    if (bytes.size() != s->virtual_size)
      return bad(std::string(name) + " is cut short: the file ends inside it");
  }
  // The firmware's loader maps every section at its RVA: none may overlap another, in memory or
  // in the file (objcopy with a wrong --change-section-vma makes exactly that).
  const auto& secs = pe->sections;
  for (size_t i = 0; i < secs.size(); ++i)
    for (size_t j = i + 1; j < secs.size(); ++j) {
      const PeSection &a = secs[i], &b = secs[j];
      uint64_t a_end = a.rva + std::max<uint64_t>(a.virtual_size, 1);
      uint64_t b_end = b.rva + std::max<uint64_t>(b.virtual_size, 1);
      if (a.rva < b_end && b.rva < a_end)
        return bad("sections " + a.name + " and " + b.name + " overlap in memory");
      if (a.raw_size && b.raw_size && a.file_offset < b.file_offset + b.raw_size &&
          b.file_offset < a.file_offset + a.raw_size)
        return bad("sections " + a.name + " and " + b.name + " overlap in the file");
    }
  auto text = [&](const char* name) {
    std::string t(pe_section_data(data, *pe->find(name)));
    while (!t.empty() && t.back() == '\0') t.pop_back();
    return t;
  };
  c.cmdline = text(".cmdline");
  c.uname = text(".uname");
  c.os_release = text(".osrel");
  c.kernel = pe_section_data(data, *pe->find(".linux"));
  c.initrd = pe_section_data(data, *pe->find(".initrd"));
  c.has_splash = pe->find(".splash") != nullptr;
  return c;
}

namespace {

// The UKI in DATA carries exactly INPUTS (whose files are read again to compare).
Status verify_uki(std::string_view data, const UkiInputs& in, const std::string& what) {
  auto c = read_uki(data, what);
  if (!c) return c.error();
  auto differs = [&](const char* section) {
    return Error::msg("the UKI objcopy made (" + what + ") carries a " + section +
                      " section that differs from its input: not written; report this with the "
                      "output of `objdump -h " +
                      what + "`");
  };
  if (c->cmdline != in.cmdline) return differs(".cmdline");
  if (c->uname != in.uname) return differs(".uname");
  if (c->os_release != in.os_release) return differs(".osrel");
  for (auto [name, file, got] :
       {std::tuple{".linux", in.kernel, c->kernel}, std::tuple{".initrd", in.initrd, c->initrd}}) {
    auto want = slurp(file);
    if (!want) return want.error();
    if (*want != got) return differs(name);
  }
  return Ok{};
}

}  // namespace

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
  CommandOptions tool;
  tool.merge_stderr = true;  // their message is the error's text
  tool.timeout_ms = 120'000;
  if (auto r = run_command(argv, tool); !r.ok())
    return Error::msg("objcopy could not assemble the UKI (" + r.describe() +
                      "): " + std::string(trim(r.out)) + (r.ran ? "" : "; install binutils"));

  // objcopy stamped the time it ran into the COFF header: stamp the image's own time instead.
  auto bytes = slurp(unsigned_uki);
  if (!bytes) return bytes.error();
  if (auto st = set_pe_timestamp(*bytes, in.timestamp); !st) return st.error();
  if (auto st = write_text(unsigned_uki, *bytes); !st) return st.error();

  UkiStats stats;
  std::string result = unsigned_uki;
  if (!in.key.empty()) {
    result = workdir + "/signed.efi";
    auto r = run_command(
        {"sbsign", "--key", in.key, "--cert", in.cert, "--output", result, unsigned_uki}, tool);
    if (!r.ok())
      return Error::msg("sbsign could not sign the UKI with " + in.key + " and " + in.cert + " (" +
                        r.describe() + "): " + std::string(trim(r.out)) +
                        (r.ran ? "" : "; install sbsigntool"));
    stats.signed_ = true;
  }

  auto made = slurp(result);
  if (!made) return made.error();
  if (auto st = verify_uki(*made, in, result); !st) return st.error();
  for (size_t done = 0; done < made->size();) {
    ssize_t w = ::write(out_fd, made->data() + done, made->size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Error::sys("write UKI", "", errno);
    done += static_cast<size_t>(w);
  }
  stats.bytes = made->size();
  return stats;
}

}  // namespace zinitrd::gen
