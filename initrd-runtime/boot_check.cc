// boot_check.cc: verdict, boot log on the console and power-off for `zinitrd boot-test` (see
// boot_check.h).
#include "boot_check.h"

#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>

#include "log.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr const char* kBootLogPath = "/run/zinitrd/boot.log";  // log.cc writes it
constexpr size_t kMaxBootLog = 1 << 20;

void add_times(BootVerdict& v, const StageTimes& t, int64_t init_start_ms, int64_t now_ms) {
  if (init_start_ms >= 0) v.seconds.emplace_back("kernel", init_start_ms / 1000.0);
  v.seconds.emplace_back("modules", t.modules_ms / 1000.0);
  v.seconds.emplace_back("import", t.import_ms / 1000.0);
  v.seconds.emplace_back("mount", t.mount_ms / 1000.0);
  v.seconds.emplace_back("total", now_ms / 1000.0);
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

int64_t init_start_ms() {
  auto stat = read_file("/proc/self/stat", 4096);
  if (!stat) return -1;
  return process_start_ms(*stat, ::sysconf(_SC_CLK_TCK));
}

}  // namespace

BootVerdict pass_verdict(const std::string& root, const std::string& init, int children,
                         const StageTimes& times, int64_t init_start_ms, int64_t now_ms) {
  BootVerdict v;
  v.pass = true;
  v.stage = "switch_root";
  v.root = root;
  v.init = init;
  v.children = children;
  add_times(v, times, init_start_ms, now_ms);
  return v;
}

BootVerdict fail_verdict(const Failure& failure, const StageTimes& times, int64_t init_start_ms,
                         int64_t now_ms) {
  BootVerdict v;
  v.stage = failure.stage.empty() ? "unknown" : failure.stage;
  v.summary = failure.summary;
  if (!failure.status.empty()) v.summary += " (" + failure.status + ")";
  v.hints = failure.hints;
  add_times(v, times, init_start_ms, now_ms);
  return v;
}

std::string boot_test_report(std::string_view boot_log, const BootVerdict& verdict) {
  std::string out = "\n";
  while (!boot_log.empty() && boot_log.back() == '\n') boot_log.remove_suffix(1);
  if (!boot_log.empty())
    for (const auto& line : split_all(boot_log, '\n')) {
      out += kBootLogTag;
      out += line;
      out += '\n';
    }
  out += format_boot_verdict(verdict);
  out += '\n';
  return out;
}

int64_t process_start_ms(std::string_view stat, long ticks_per_second) {
  // "PID (COMM) STATE ...": COMM may hold spaces and parentheses, so count from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return -1;
  std::vector<std::string> fields = split_words(stat.substr(close + 1));
  // After ")" come fields 3 (state) onwards: starttime, field 22, is the 20th of them.
  if (fields.size() < 20) return -1;
  char* end = nullptr;
  unsigned long long ticks = std::strtoull(fields[19].c_str(), &end, 10);
  if (!end || *end != '\0') return -1;
  return static_cast<int64_t>(ticks * 1000 / static_cast<unsigned long long>(ticks_per_second));
}

void finish_boot_test(const BootVerdict& verdict) {
  auto text = read_file(kBootLogPath, kMaxBootLog);
  std::string report = boot_test_report(text ? *text : std::string(), verdict);
  write_all(2, report);
  ::tcdrain(2);  // the serial port sends what the tty buffer holds before the power goes
  if (::getpid() != 1) ::_exit(verdict.pass ? 0 : 1);
  sleep_ms(100);
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) sleep_ms(60'000);  // PID 1 must not exit, even when the power-off failed
}

void boot_test_pass(const std::string& root, const std::string& init, int children,
                    const StageTimes& times) {
  log_notice(
      "zinitrd.boot_test: %s mounted and %s found in it; powering off instead of "
      "switch_root",
      root.c_str(), init.c_str());
  finish_boot_test(pass_verdict(root, init, children, times, init_start_ms(), monotonic_ms()));
}

void boot_test_fail(const Failure& failure, const StageTimes& times) {
  log_notice("zinitrd.boot_test: the boot failed at stage '%s'; powering off",
             failure.stage.c_str());
  finish_boot_test(fail_verdict(failure, times, init_start_ms(), monotonic_ms()));
}

}  // namespace zinitrd::rt
