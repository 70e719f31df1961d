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

// The boot log so far, as /run/zinitrd/boot.log holds it.
std::string boot_log() {
  auto text = read_file(kBootLogPath, kMaxBootLog);
  return text ? *text : std::string();
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
  // The command's first line of output is usually the reason ("pool was previously in use from
  // another system."): the verdict line shows it, the boot log has the whole output.
  std::string first;
  for (const auto& line : split_all(failure.output, '\n'))
    if (first.empty() && !trim(line).empty()) first = std::string(trim(line));
  if (!failure.status.empty() || !first.empty())
    v.summary +=
        " (" + failure.status + (failure.status.empty() || first.empty() ? "" : ": ") + first + ")";
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

int64_t first_log_ms(std::string_view log) {
  // "[%5lld.%06lld] " (log_timestamp in log.h).
  size_t close = log.find(']');
  if (log.empty() || log[0] != '[' || close == std::string_view::npos) return -1;
  std::string stamp(trim(log.substr(1, close - 1)));
  size_t dot = stamp.find('.');
  if (dot == std::string::npos || dot == 0 || stamp.size() - dot - 1 != 6) return -1;
  for (size_t i = 0; i < stamp.size(); ++i)
    if (i != dot && (stamp[i] < '0' || stamp[i] > '9')) return -1;
  return std::atoll(stamp.substr(0, dot).c_str()) * 1000 +
         std::atoll(stamp.substr(dot + 1).c_str()) / 1000;
}

void finish_boot_test(const BootVerdict& verdict) {
  std::string report = boot_test_report(boot_log(), verdict);
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
      "zinitrd.boot_test: %s mounted and %s found in it; powering off instead of switch_root",
      root.c_str(), init.c_str());
  finish_boot_test(
      pass_verdict(root, init, children, times, first_log_ms(boot_log()), monotonic_ms()));
}

void boot_test_fail(const Failure& failure, const StageTimes& times) {
  log_notice("zinitrd.boot_test: the boot failed at stage '%s'; powering off",
             failure.stage.c_str());
  finish_boot_test(fail_verdict(failure, times, first_log_ms(boot_log()), monotonic_ms()));
}

}  // namespace zinitrd::rt
