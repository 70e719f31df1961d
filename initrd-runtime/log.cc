// log.cc: kmsg, boot.log and console output (see log.h).
#include "log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "fd.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr const char* kBootLog = "/run/zinitrd/boot.log";
constexpr size_t kMaxPending = 256 << 10;  // lines kept until /run exists

struct LogState {
  LogMode mode = LogMode::kTool;
  bool debug = false;
  int file = -1;
  std::string pending;  // boot.log lines written before the file could be opened
};

LogState& state() {
  static LogState s;
  return s;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// The kernel's current console_loglevel (first field of /proc/sys/kernel/printk): messages with
// a level below it appear on the console without our help.
int console_loglevel() {
  auto text = read_file("/proc/sys/kernel/printk", 256);
  if (!text) return 7;
  int level = atoi(text->c_str());
  return level > 0 ? level : 7;
}

void to_file(std::string_view line) {
  LogState& s = state();
  std::string rec = log_timestamp(monotonic_ms());
  rec += line;
  rec += '\n';
  if (s.file >= 0)
    write_all(s.file, rec);
  else if (s.pending.size() < kMaxPending)
    s.pending += rec;
}

bool to_kmsg(LogLevel level, std::string_view line) {
  // One open per record: the rate limit of /dev/kmsg is per open file (devkmsg_open()).
  Fd fd(::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return false;
  std::string rec = "<" + std::to_string(static_cast<int>(level)) + ">zinitrd: ";
  rec += line;
  rec += '\n';
  return ::write(fd.get(), rec.data(), rec.size()) == static_cast<ssize_t>(rec.size());
}

void log_line(LogLevel level, std::string_view line) {
  LogState& s = state();
  if (s.mode == LogMode::kTool) {
    if (level == LogLevel::kDebug && !s.debug) return;
    std::string rec = "zinitrd: ";
    if (level == LogLevel::kError) rec += "error: ";
    if (level == LogLevel::kWarning) rec += "warning: ";
    rec += line;
    rec += '\n';
    write_all(2, rec);
    return;
  }
  to_file(line);
  bool in_kmsg = false;
  if (level != LogLevel::kDebug || s.debug) in_kmsg = to_kmsg(level, line);
  bool important = level <= LogLevel::kNotice;
  if (!in_kmsg ? important || level == LogLevel::kInfo
               : important && static_cast<int>(level) >= console_loglevel()) {
    std::string rec = "zinitrd: ";
    rec += line;
    rec += '\n';
    write_all(2, rec);
  }
}

void log_va(LogLevel level, const char* fmt, va_list ap) {
  char buf[4096];
  vsnprintf(buf, sizeof buf, fmt, ap);
  log_text(level, buf);
}

}  // namespace

void log_setup(LogMode mode, bool debug) {
  state().mode = mode;
  state().debug = debug;
}

void log_open_file() {
  LogState& s = state();
  if (s.file >= 0 || s.mode != LogMode::kBoot) return;
  if (!make_dirs("/run/zinitrd")) return;
  s.file = ::open(kBootLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (s.file >= 0) {
    write_all(s.file, s.pending);
    s.pending.clear();
    s.pending.shrink_to_fit();
  }
}

void log_close_file() {
  LogState& s = state();
  if (s.file >= 0) ::close(s.file);
  s.file = -1;
}

void log_text(LogLevel level, std::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  for (const auto& line : split_all(text, '\n')) log_line(level, line);
}

#define ZINITRD_LOG_FN(name, level) \
  void name(const char* fmt, ...) { \
    va_list ap;                     \
    va_start(ap, fmt);              \
    log_va(level, fmt, ap);         \
    va_end(ap);                     \
  }
ZINITRD_LOG_FN(log_error, LogLevel::kError)
ZINITRD_LOG_FN(log_warning, LogLevel::kWarning)
ZINITRD_LOG_FN(log_notice, LogLevel::kNotice)
ZINITRD_LOG_FN(log_info, LogLevel::kInfo)
ZINITRD_LOG_FN(log_debug, LogLevel::kDebug)
#undef ZINITRD_LOG_FN

void console_text(std::string_view text) {
  write_all(2, text);
  if (state().mode != LogMode::kBoot) return;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  for (const auto& line : split_all(text, '\n')) to_file(line);
}

void log_emergency(const char* line) {
  // Fixed buffers and plain system calls only (see log.h): no std::string, no stdio.
  char rec[1024];
  size_t n = 0;
  auto put = [&](const char* text) {
    for (; *text && n < sizeof rec - 1; ++text) rec[n++] = *text;
  };
  put("zinitrd: ");
  size_t body = n;
  for (size_t i = 0; line[i] && i < 900; ++i) rec[n++] = line[i];
  rec[n++] = '\n';
  write_all(2, std::string_view(rec, n));
  LogState& s = state();
  if (s.mode != LogMode::kBoot) return;
  if (s.file >= 0) write_all(s.file, std::string_view(rec + body, n - body));
  int kmsg = ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (kmsg < 0) return;
  char head[] = "<3>";
  char out[sizeof head - 1 + sizeof rec];
  size_t m = 0;
  for (size_t i = 0; i < sizeof head - 1; ++i) out[m++] = head[i];
  for (size_t i = 0; i < n; ++i) out[m++] = rec[i];
  (void)!::write(kmsg, out, m);
  ::close(kmsg);
}

std::string log_timestamp(long long t_ms) {
  if (t_ms < 0) t_ms = 0;
  char buf[40];
  snprintf(buf, sizeof buf, "[%5lld.%06lld] ", t_ms / 1000, (t_ms % 1000) * 1000);
  return buf;
}

}  // namespace zinitrd::rt
