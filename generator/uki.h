// uki.h: unified kernel images: systemd's EFI stub with the kernel, the initrd, the command line
// and the os-release added as PE sections, optionally signed for Secure Boot.
//
// systemd-stub (package systemd-boot-efi, usr/lib/systemd/boot/efi/linuxx64.efi.stub) finds its
// payload by section name: .linux (the kernel), .initrd, .cmdline (used when nothing else gives
// one), .osrel (which systemd-boot reads to name the entry), .uname (the kernel release, read by
// newer systemd-boot) and .splash (a BMP). Debian 12 has no ukify, so the sections are added with
// objcopy; each must start at a multiple of the stub's SectionAlignment (we use at least a page)
// after the stub's own sections, and none may overlap: their addresses are computed from the
// stub's headers and the sizes of the payload, never hard-coded. With a key and a certificate,
// sbsign (package sbsigntool) signs the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "result.h"
#include "root_fs.h"

namespace zinitrd::gen {

/// Where the stub lives in a root, for x86-64.
inline constexpr const char* kUkiStubPath = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// `zinitrd build --uki` and its companions, as given (paths are host paths; empty = default).
struct UkiOptions {
  bool enabled = false;
  std::string stub;                    ///< default: ROOT + kUkiStubPath
  std::string kernel;                  ///< default: ROOT/boot/vmlinuz-KVER
  std::optional<std::string> cmdline;  ///< default: see uki_cmdline()
  std::string os_release;              ///< default: ROOT/etc/os-release, ROOT/usr/lib/os-release
  std::string splash;                  ///< a BMP for .splash; none by default
  std::string key, cert;               ///< sbsign's --key and --cert; both or neither
};

/// Everything a UKI is made of, resolved to host files and texts.
struct UkiInputs {
  std::string stub, kernel, initrd, splash;  ///< host paths (initrd: the image just built)
  std::string cmdline, os_release, uname;    ///< section contents
  std::string key, cert;                     ///< sign when both are set
  uint32_t timestamp = 0;  ///< the PE TimeDateStamp (the image's mtime: SOURCE_DATE_EPOCH or 0)
};

/// The command line a UKI embeds when none is given: ROOT/etc/kernel/cmdline, else
/// ROOT/usr/lib/kernel/cmdline (kernel-install's files), else, building for this host, the
/// running kernel's /proc/cmdline without BOOT_IMAGE= and initrd=. nullopt when none is found.
std::optional<std::string> uki_cmdline(const RootFs& root);

/// Resolves OPTIONS for KVER into INPUTS (initrd left empty): every missing piece is appended
/// to PROBLEMS (with the package or option that provides it), notes to WARNINGS.
UkiInputs plan_uki(const RootFs& root, const UkiOptions& options, const std::string& kver,
                   std::vector<std::string>& problems, std::vector<std::string>& warnings);

/// The default in-root path of KVER's UKI: ESP/EFI/Linux/TOKEN-KVER.efi, ESP being the first of
/// ROOT's /efi, /boot/efi and /boot holding an EFI directory, TOKEN /etc/kernel/entry-token,
/// else the machine id, else os-release's ID (kernel-install's names). An error says to give -o.
Result<std::string> default_uki_path(const RootFs& root, const std::string& kver);

/// default_uki_path() as a host path (where `zinitrd build --uki` writes without -o).
Result<std::string> default_uki_output(const RootFs& root, const std::string& kver);

/// What assemble_uki made.
struct UkiStats {
  uint64_t bytes = 0;    ///< size of the UKI
  bool signed_ = false;  ///< sbsign signed it
};

/// What a UKI carries, read back from its sections.
struct UkiContents {
  std::string cmdline, uname, os_release;  ///< .cmdline, .uname, .osrel
  std::string_view kernel, initrd;         ///< .linux and .initrd, inside the data read
  bool has_splash = false;                 ///< a .splash section
};

/// Reads the UKI whose bytes are DATA (WHAT names it in errors): a PE32+ x86-64 image with
/// .linux, .initrd, .cmdline, .osrel and .uname, no two sections overlapping in memory or in the
/// file. Errors say which rule failed.
Result<UkiContents> read_uki(std::string_view data, std::string_view what);

/// Makes the UKI of INPUTS in WORKDIR (an empty private directory) and copies it to the open
/// file descriptor OUT_FD. Errors carry objcopy's or sbsign's own message. Before anything is
/// copied the result is read back (read_uki) and compared with INPUTS: a UKI that would not
/// boot is never written. Unsigned, the bytes depend on the inputs only; sbsign's PKCS#7
/// signature carries the signing time.
Result<UkiStats> assemble_uki(const UkiInputs& inputs, const std::string& workdir, int out_fd);

}  // namespace zinitrd::gen
