// os_release_test.cc: os-release files as distributions ship them, and the image name each
// family's boot configuration expects.
#include "os_release.h"

#include <doctest/doctest.h>

#include "test_support.h"

using namespace zinitrd;
using namespace zinitrd::gen;
using test::TempDir;

namespace {

// Excerpts of real /etc/os-release files.
constexpr const char* kDebian13 =
    "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"13\"\n"
    "VERSION=\"13 (trixie)\"\nVERSION_CODENAME=trixie\nDEBIAN_VERSION_FULL=13.2\nID=debian\n"
    "HOME_URL=\"https://www.debian.org/\"\n";
constexpr const char* kUbuntu =
    "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\n"
    "ID_LIKE=debian\nUBUNTU_CODENAME=noble\n";
constexpr const char* kMint = "NAME=\"Linux Mint\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\n";
constexpr const char* kFedora =
    "NAME=\"Fedora Linux\"\nVERSION=\"41 (Server Edition)\"\nID=fedora\nVERSION_ID=41\n"
    "PRETTY_NAME=\"Fedora Linux 41 (Server Edition)\"\n";
constexpr const char* kRocky =
    "NAME=\"Rocky Linux\"\nVERSION=\"9.5 (Blue Onyx)\"\nID=\"rocky\"\n"
    "ID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.5\"\n";
constexpr const char* kAlma =
    "NAME=\"AlmaLinux\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.5\"\n";
constexpr const char* kRhel =
    "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.5\"\n";
constexpr const char* kArch =
    "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n";
constexpr const char* kEndeavour = "NAME='EndeavourOS'\nID='endeavouros'\nID_LIKE='arch'\n";
constexpr const char* kOpenSuse =
    "NAME=\"openSUSE Tumbleweed\"\nID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n";
constexpr const char* kGentoo = "NAME=Gentoo\nID=gentoo\nPRETTY_NAME=\"Gentoo Linux\"\n";

std::string name_for(const char* os_release, const std::string& pkgbase = "") {
  return default_image_name(parse_os_release(os_release, "/etc/os-release"), "6.12.0-1", pkgbase);
}

}  // namespace

TEST_CASE("os-release: values unquoted, double-quoted with escapes, single-quoted") {
  auto os = parse_os_release(
      "# comment\n\nID=\"Debian\"\nID_LIKE='a b'\nPRETTY_NAME=\"say \\\"hi\\\" \\\\ \\$x\"\n"
      "BROKEN LINE\n",
      "/etc/os-release");
  CHECK(os.id == "debian");  // lower-cased, as os-release(5) requires IDs to be
  CHECK(os.id_like == std::vector<std::string>{"a", "b"});
  CHECK(os.pretty_name == "say \"hi\" \\ $x");
  CHECK(os.source == "/etc/os-release");
  CHECK(parse_os_release("", "").id == "linux");  // os-release(5): ID defaults to "linux"
  CHECK(parse_os_release(kEndeavour, "").id_like == std::vector<std::string>{"arch"});
}

TEST_CASE("families: ID first, then ID_LIKE in order") {
  CHECK(os_family(parse_os_release(kDebian13, "")) == OsFamily::kDebian);
  CHECK(os_family(parse_os_release(kUbuntu, "")) == OsFamily::kDebian);
  CHECK(os_family(parse_os_release(kMint, "")) == OsFamily::kDebian);
  CHECK(os_family(parse_os_release(kFedora, "")) == OsFamily::kRedHat);
  CHECK(os_family(parse_os_release(kRocky, "")) == OsFamily::kRedHat);
  CHECK(os_family(parse_os_release(kAlma, "")) == OsFamily::kRedHat);
  CHECK(os_family(parse_os_release(kRhel, "")) == OsFamily::kRedHat);
  CHECK(os_family(parse_os_release(kArch, "")) == OsFamily::kArch);
  CHECK(os_family(parse_os_release(kEndeavour, "")) == OsFamily::kArch);
  CHECK(os_family(parse_os_release(kOpenSuse, "")) == OsFamily::kSuse);
  CHECK(os_family(parse_os_release(kGentoo, "")) == OsFamily::kOther);
}

TEST_CASE("default image names by distribution") {
  CHECK(name_for(kDebian13) == "initrd.img-6.12.0-1");
  CHECK(name_for(kUbuntu) == "initrd.img-6.12.0-1");
  CHECK(name_for(kMint) == "initrd.img-6.12.0-1");
  CHECK(name_for(kFedora) == "initramfs-6.12.0-1.img");
  CHECK(name_for(kRocky) == "initramfs-6.12.0-1.img");
  CHECK(name_for(kAlma) == "initramfs-6.12.0-1.img");
  CHECK(name_for(kRhel) == "initramfs-6.12.0-1.img");
  CHECK(name_for(kArch, "linux") == "initramfs-linux.img");
  CHECK(name_for(kArch, "linux-lts") == "initramfs-linux-lts.img");
  CHECK(name_for(kEndeavour, "linux-zen") == "initramfs-linux-zen.img");
  CHECK(name_for(kArch) == "initramfs-6.12.0-1.img");  // a kernel no package owns
  CHECK(name_for(kOpenSuse) == "initrd-6.12.0-1");
  CHECK(name_for(kGentoo) == "initramfs-6.12.0-1.img");
  CHECK(name_for("") == "initramfs-6.12.0-1.img");
}

TEST_CASE("default image path read inside the root: os-release, /usr/lib fallback, Arch pkgbase") {
  TempDir root("zinitrd-osrel");
  RootFs fs(root.path().string());
  CHECK(default_image_path(fs, "6.12.0-1") == "/boot/initramfs-6.12.0-1.img");  // nothing known
  test::write_file(root / "usr/lib/os-release", kArch);
  test::write_file(root / "usr/lib/modules/6.12.0-1/pkgbase", "linux\n");
  test::write_symlink(root / "lib", "usr/lib");
  CHECK(read_os_release(fs).source == "/usr/lib/os-release");
  CHECK(default_image_path(fs, "6.12.0-1") == "/boot/initramfs-linux.img");
  test::write_file(root / "etc/os-release", kDebian13);  // /etc wins over /usr/lib
  CHECK(read_os_release(fs).source == "/etc/os-release");
  CHECK(default_image_path(fs, "6.12.0-1") == "/boot/initrd.img-6.12.0-1");
}
