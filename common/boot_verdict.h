// boot_verdict.h: the contract of `zinitrd boot-test` between the runtime and the generator.
//
// Booted with zinitrd.boot_test=1, /init stops right before switch_root (or at the first failing
// stage), prints its boot log and one verdict line on the console, and powers the VM off. The
// generator reads them from the serial console, where kernel messages may come in between, so
// each line carries its own tag and is self-contained:
//
//   ZINITRD-BOOT-LOG [    2.310000] zinitrd 0.1 starting
//   ZINITRD-BOOT-VERDICT result=PASS stage=switch_root root=rpool/ROOT/debian init=/sbin/init
//       children=1 t.kernel=2.310 t.modules=1.020 t.import=0.610 t.mount=0.050 t.total=4.100
//
// (one line). Fields are KEY=VALUE separated by spaces; in a value, '%', spaces and control
// characters are written %XX. `hint` may repeat; unknown keys are ignored (a newer runtime may add
// some). This file is the only definition of the format; boot_verdict_test.cc round-trips it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zinitrd {

/// Tag that starts the verdict line.
inline constexpr std::string_view kBootVerdictTag = "ZINITRD-BOOT-VERDICT ";
/// Tag that starts each line of the boot log as the runtime prints it at the end of a boot test.
inline constexpr std::string_view kBootLogTag = "ZINITRD-BOOT-LOG ";
/// The kernel parameter that makes /init stop before switch_root and print a verdict.
inline constexpr std::string_view kBootTestParam = "zinitrd.boot_test";

/// What a boot test found.
struct BootVerdict {
  bool pass = false;
  /// PASS: "switch_root" (where the test stopped); FAIL: the stage that failed.
  std::string stage;
  std::string summary;             ///< FAIL: one sentence, what did not work
  std::vector<std::string> hints;  ///< FAIL: what to try
  std::string root;                ///< PASS: the dataset mounted on /sysroot
  std::string init;                ///< PASS: the init program found in it
  int children = 0;                ///< PASS: child datasets mounted before init
  /// Seconds per stage, in boot order ("kernel", "modules", "import", "mount", "total").
  std::vector<std::pair<std::string, double>> seconds;

  bool operator==(const BootVerdict&) const = default;
};

/// The verdict line, starting with kBootVerdictTag, without a newline (pure).
std::string format_boot_verdict(const BootVerdict& verdict);

/// Parses a console line holding a verdict line (anything before the tag is skipped: the serial
/// console may glue a kernel message in front). nullopt when LINE has no verdict (pure).
std::optional<BootVerdict> parse_boot_verdict(std::string_view line);

/// The boot log line in a console line (the text after kBootLogTag), or nullopt (pure).
std::optional<std::string> parse_boot_log_line(std::string_view line);

}  // namespace zinitrd
