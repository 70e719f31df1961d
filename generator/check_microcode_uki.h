// check_microcode_uki.h: the `zinitrd check` items of early microcode and of unified kernel
// images, each a verdict on facts already gathered (check.cc gathers them).
//
// image-microcode: the kernel's early loader reads kernel/x86/microcode/VENDOR.bin from an
// uncompressed cpio at the very start of the initrd only (find_cpio_data); anywhere else the file
// is unpacked into rootfs and ignored. uki: the UKI of the kernel, where kernel-install's uki
// layout and `zinitrd build --uki` put it, is one systemd-stub can boot (read_uki) and is of this
// kernel (.uname). Both items are left out when they do not apply (no vendor known, no UKI).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "check_items.h"

namespace zinitrd::gen {

/// This machine's CPU and its microcode package, as far as they are known.
struct MicrocodeFacts {
  std::string cpu_vendor;        ///< "GenuineIntel", "AuthenticAMD"...; "" when unknown (--root)
  std::string package;           ///< the Debian package of that vendor's microcode
  bool files_installed = false;  ///< the package's files are in the root
};

/// The image carries this CPU vendor's microcode where the kernel's early loader looks.
/// nullopt when the vendor is unknown or has no early microcode.
std::optional<CheckItem> check_image_microcode(std::string_view kver, const ImageFacts& image,
                                               const MicrocodeFacts& facts);

/// What is known about the UKI of a kernel.
struct UkiFacts {
  std::string path;  ///< host path of ESP/EFI/Linux/TOKEN-KVER.efi
  bool exists = false;
  std::string read_error;       ///< read_uki's complaint, "" when it is a bootable UKI
  std::string uname;            ///< its .uname
  std::string cmdline;          ///< its .cmdline
  bool initrd_has_zfs = false;  ///< its .initrd holds zfs.ko of the kernel
  int64_t mtime = 0;            ///< of the file
  int64_t module_mtime = 0;     ///< newest of the zfs closure's .ko files, 0 if unknown
};

/// The UKI of KVER: bootable, of KVER, carrying zfs.ko, newer than zfs.ko. nullopt when there
/// is none (a system booting plain initrds).
std::optional<CheckItem> check_uki(std::string_view kver, const UkiFacts& uki);

}  // namespace zinitrd::gen
