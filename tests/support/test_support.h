// test_support.h: small helpers every unit test binary shares (linked with the doctest main):
// honest skips, temporary directories and fixture roots, whole-file reads and writes, the
// installed kernel to test against, and how doctest prints path lists.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace zinitrd::test {

/// Exit status of a test binary when no test case failed but some skipped: CTest's
/// SKIP_RETURN_CODE (the automake convention), so CTest reports Skipped, not Passed.
inline constexpr int kSkipExitCode = 77;

/// Marks the running test case as skipped and prints "SKIPPED: <test case>: REASON" to stderr;
/// the caller returns right after. REASON names what is missing and how to get it (every
/// prerequisite of the unit tests comes with scripts/setup-debian.sh, run as root, so
/// scripts/test.sh fails when anything skipped).
void skip(std::string_view reason);

/// How a child process ended, and what it wrote to stderr.
struct ChildEnd {
  int exit_code = -1;  ///< exit status, -1 when killed
  int signal = 0;      ///< the signal that killed it, 0 when it exited
  std::string err;     ///< its standard error
};
/// Runs BODY in a forked child (which exits 0 if BODY returns) with stderr captured.
ChildEnd run_in_child(const std::function<void()>& body);

/// A fresh directory under $TMPDIR (REQUIREd to be made), removed with everything in it at
/// scope exit.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "zinitrd-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// PATH joined with REL. A leading '/' stays inside the directory, so a fixture root takes
  /// in-root paths as they are ("/etc/hostid"), never the host's.
  std::filesystem::path operator/(std::string_view rel) const;

 private:
  std::filesystem::path path_;
};

/// The whole content of file P ("" when it cannot be read).
std::string slurp(const std::filesystem::path& p);
/// Writes TEXT to P, creating parent directories.
void write_file(const std::filesystem::path& p, std::string_view text);
/// Creates symlink LINK pointing at TARGET (kept as written), creating parent directories;
/// REQUIREs success.
void write_symlink(const std::filesystem::path& link, const std::string& target);
/// Every kernel release under /lib/modules with a modules.dep, sorted by name.
std::vector<std::string> installed_module_kvers();
/// The newest installed kernel release with a modules.dep and a /boot/vmlinuz, or "" if none.
std::string installed_kver();
/// The host path of the DKMS-built zfs.ko for KVER, or "" when DKMS has not built it.
std::string installed_zfs_ko(const std::string& kver);

}  // namespace zinitrd::test

// Shows both sides of a failed comparison of path lists.
namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string s = "{";
    for (const auto& e : v) s += (s.size() > 1 ? ", \"" : "\"") + e + "\"";
    return (s + "}").c_str();
  }
};
}  // namespace doctest
