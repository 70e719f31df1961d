// test_support.h: small helpers every unit test binary shares (linked with the doctest main):
// temporary directories, whole-file reads and writes, and the installed kernel to test against.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace zinitrd::test {

/// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "zinitrd-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// PATH joined with REL.
  std::filesystem::path operator/(std::string_view rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

/// The whole content of file P ("" when it cannot be read).
std::string slurp(const std::filesystem::path& p);
/// Writes TEXT to P, creating parent directories.
void write_file(const std::filesystem::path& p, std::string_view text);
/// The newest installed kernel release with a modules.dep and a /boot/vmlinuz, or "" if none.
std::string installed_kver();
/// The host path of the DKMS-built zfs.ko for KVER, or "" when DKMS has not built it.
std::string installed_zfs_ko(const std::string& kver);

}  // namespace zinitrd::test
