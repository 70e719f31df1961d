// os_release.h: which distribution a root is (os-release(5)), and where it keeps its initramfs.
//
// Each distribution's boot loader configuration looks for the image under its own name, written
// by its own generator (initramfs-tools, dracut, mkinitcpio); zinitrd writes the same name so that
// a kernel upgrade hook, GRUB's scripts and the user find it where they expect it:
//   Debian, Ubuntu and their derivatives    /boot/initrd.img-KVER       (initramfs-tools)
//   Fedora, RHEL, CentOS, Rocky, Alma       /boot/initramfs-KVER.img    (dracut)
//   openSUSE, SLES                          /boot/initrd-KVER           (dracut on SUSE)
//   Arch and derivatives                    /boot/initramfs-PKGBASE.img (mkinitcpio's presets:
//                                           initramfs-linux.img for the `linux` package; PKGBASE
//                                           from /usr/lib/modules/KVER/pkgbase)
//   anything else                           /boot/initramfs-KVER.img    (dracut's default)
// The family is decided by ID, then by each word of ID_LIKE in order (Linux Mint: ID=linuxmint,
// ID_LIKE="ubuntu debian").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "root_fs.h"

namespace zinitrd::gen {

/// The fields of os-release that zinitrd uses.
struct OsRelease {
  std::string id;                    ///< ID ("debian"), lower case; "linux" when unset (spec)
  std::vector<std::string> id_like;  ///< ID_LIKE words, in order
  std::string pretty_name;           ///< PRETTY_NAME, for messages
  std::string source;                ///< in-root path read; empty when there is none
};

/// Parses os-release TEXT (KEY=VALUE lines; values unquoted, or in "..." with \-escapes, or in
/// '...'; comments and blank lines ignored).
OsRelease parse_os_release(std::string_view text, std::string source);

/// ROOT's /etc/os-release, else /usr/lib/os-release (os-release(5)'s order).
OsRelease read_os_release(const RootFs& root);

/// Distribution families that name their initramfs differently.
enum class OsFamily { kDebian, kRedHat, kSuse, kArch, kOther };

/// The family of OS (ID first, then ID_LIKE's words in order).
OsFamily os_family(const OsRelease& os);

/// The file name (no directory) of KVER's initramfs on OS. PKGBASE: the Arch package of the
/// kernel ("linux", "linux-lts"; empty when unknown: then the dracut name).
std::string default_image_name(const OsRelease& os, const std::string& kver,
                               const std::string& pkgbase);

/// The in-root path of KVER's image in ROOT (os-release and, on Arch, the kernel's pkgbase
/// read inside ROOT): "/boot/" + default_image_name().
std::string default_image_path(const RootFs& root, const std::string& kver);

}  // namespace zinitrd::gen
