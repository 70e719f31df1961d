// boot_test_report.h: the outcome of `zinitrd boot-test`, judged from the VM's console, for
// humans and as JSON.
//
// The runtime's verdict line decides when there is one (PASS, or FAIL at its stage). Without
// one the boot never reached zinitrd's verdict: a kernel panic (stage "kernel"), a hang (stage
// "timeout"), QEMU refusing to start (stage "qemu"), or an /init that is not zinitrd's runtime.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "boot_test_plan.h"

namespace zinitrd::gen {

/// Everything `zinitrd boot-test` reports.
struct BootTestReport {
  bool pass = false;
  /// Neither PASS nor FAIL: the boot waits for what a test cannot give (a passphrase typed at
  /// the console). `zinitrd boot-test` then exits 2, like a test that cannot run.
  bool untested = false;
  std::string stage;  ///< PASS: switch_root; FAIL: cmdline, modules, import, mount, switch_root,
                      ///< kernel, timeout or qemu
  std::string summary;
  std::vector<std::string> hints;
  // What was booted.
  std::string kver, kernel, image, accel, bus, cmdline;
  std::vector<std::string> disks;
  std::vector<std::string> notes;  ///< disks left out, command-line words dropped, warnings
  // PASS: what the boot reached.
  std::string root, init;
  int children = 0;
  /// Seconds per stage from the runtime, then "qemu": the VM's whole run.
  std::vector<std::pair<std::string, double>> seconds;
  std::vector<std::string> boot_log;      ///< zinitrd's boot log lines
  std::vector<std::string> console_tail;  ///< the console's last lines, when there is no verdict
};

/// How the QEMU run ended.
struct QemuRun {
  int status = 0;          ///< QEMU's exit status
  bool timed_out = false;  ///< killed after TIMEOUT_S
  int timeout_s = 0;
  std::string messages;  ///< what QEMU printed (errors, warnings)
  double seconds = 0;    ///< wall time
};

/// Fills the outcome fields of REPORT (pass, stage, summary, hints, root, init, children,
/// seconds, boot_log, console_tail) from the console's FINDINGS and the QEMU RUN (pure).
void judge_boot_test(const ConsoleFindings& findings, const QemuRun& run, BootTestReport& report);

/// "PASS", "FAIL" or "UNTESTED" (pure).
const char* boot_test_result(const BootTestReport& report);

/// The report for a terminal: context, boot log, stage times, then PASS/FAIL/UNTESTED as the
/// last line (pure).
std::string format_boot_test_text(const BootTestReport& report);

/// The report as one JSON object (pure).
std::string format_boot_test_json(const BootTestReport& report);

}  // namespace zinitrd::gen
