// fatal.cc: the handlers of fatal.h and the fatal path they share.
//
// From the first line of fatal() on, nothing here allocates or calls anything that is not
// async-signal-safe: text is assembled in fixed buffers, the shell runs through the
// allocation-free run_on_console(), and the restart is a plain execve().
#include "fatal.h"

#include <cxxabi.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <typeinfo>

#include "log.h"
#include "rescue.h"
#include "result.h"

extern char** environ;

namespace zinitrd::rt {
namespace {

const char* const kDefaultShells[] = {"/usr/bin/busybox", "/bin/busybox", "/bin/sh", "/usr/bin/sh",
                                      nullptr};
constexpr int kFatalSignals[] = {SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE};

FatalConfig g_config;
pid_t g_pid = -1;  // the process the handlers were installed in (not its forked children)
std::atomic<int> g_depth{0};  // lock-free: safe in signal handlers
alignas(16) char g_alt_stack[64 * 1024];

// A line of text in a fixed buffer: appending never allocates and stops at the end.
class Line {
 public:
  Line& operator<<(const char* s) {
    for (; s && *s && n_ < sizeof buf_ - 1; ++s) buf_[n_++] = *s;
    buf_[n_] = '\0';
    return *this;
  }
  Line& operator<<(long long v) {
    char digits[24];
    int k = 0;
    bool neg = v < 0;
    unsigned long long u = neg ? 0ULL - static_cast<unsigned long long>(v) : v;
    do {
      digits[k++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u);
    if (neg) *this << "-";
    while (k) {
      char one[2] = {digits[--k], '\0'};
      *this << one;
    }
    return *this;
  }
  const char* c_str() const { return buf_; }

 private:
  char buf_[768] = {};
  size_t n_ = 0;
};

void pause_ms(int64_t ms) {
  struct timespec ts {
    static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)
  };
  while (ms > 0 && ::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool named_busybox(const char* path) {
  const char* base = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') base = p + 1;
  const char* b = "busybox";
  while (*base && *base == *b) ++base, ++b;
  return *base == '\0' && *b == '\0';
}

// Restarts of this boot so far, from the count file (0 when there is none).
int read_restarts() {
  int fd = ::open(g_config.restart_count_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[16];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  int count = 0;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i)
    count = count * 10 + buf[i] - '0';
  return count;
}

void write_restarts(int count) {
  int fd = ::open(g_config.restart_count_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  Line l;
  l << static_cast<long long>(count) << "\n";
  size_t n = 0;
  while (l.c_str()[n]) ++n;
  (void)!::write(fd, l.c_str(), n);
  ::close(fd);
}

// The environment of the rescue shell: PID 1's (the kernel gives it HOME and TERM) with a PATH.
const char* const* shell_environment() {
  static const char* env[64];
  size_t n = 0;
  for (char** e = environ; e && *e && n < 60; ++e)
    if (!((*e)[0] == 'P' && (*e)[1] == 'A' && (*e)[2] == 'T' && (*e)[3] == 'H' && (*e)[4] == '='))
      env[n++] = *e;
  env[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/bin";
  env[n++] = "PS1=(zinitrd rescue) # ";
  env[n] = nullptr;
  return env;
}

// Runs the first rescue shell that exists; false when there is none or it could not start.
bool run_shell() {
  for (const char* const* s = g_config.shells ? g_config.shells : kDefaultShells; *s; ++s) {
    if (::access(*s, X_OK) != 0) continue;
    const char* argv[] = {*s, named_busybox(*s) ? "sh" : nullptr, nullptr};
    log_emergency(
        "starting a rescue shell; when it exits the boot starts again from the beginning");
    int status = run_on_console(argv, shell_environment(), g_config.console);
    if (status >= 0 && status != 127) return true;
    log_emergency("the rescue shell could not run");
    return false;
  }
  log_emergency("this image has no rescue shell");
  return false;
}

[[noreturn]] void reboot_or_exit() {
  Line l;
  l << "rebooting in " << static_cast<long long>(g_config.restart_delay_ms / 1000) << " s";
  log_emergency(l.c_str());
  pause_ms(g_config.restart_delay_ms);
  if (::getpid() != 1) ::_exit(kFatalExitCode);  // never reboot a machine we do not own
  ::sync();
  ::reboot(RB_AUTOBOOT);
  for (;;) pause_ms(60'000);  // reboot() failed; PID 1 must not exit either way
}

// Executes init again with PID 1's arguments: a fresh process image, the same PID.
[[noreturn]] void restart_boot() {
  int restarts = read_restarts();
  if (restarts >= kMaxFatalRestarts) {
    Line l;
    l << "the boot failed fatally " << static_cast<long long>(restarts + 1) << " times";
    log_emergency(l.c_str());
    reboot_or_exit();
  }
  write_restarts(restarts + 1);
  Line l;
  l << "restarting the boot (" << static_cast<long long>(restarts + 1) << " of "
    << static_cast<long long>(kMaxFatalRestarts) << ")";
  log_emergency(l.c_str());
  const char* fallback[] = {g_config.init, nullptr};
  char* const* argv = g_config.argv ? g_config.argv : const_cast<char* const*>(fallback);
  ::execve(g_config.init, argv, environ);
  Line e;
  e << "cannot execute " << g_config.init << " again (errno " << static_cast<long long>(errno)
    << ")";
  log_emergency(e.c_str());
  reboot_or_exit();
}

void on_out_of_memory() { fatal("out of memory: operator new failed"); }

void on_terminate() {
  Line l;
  if (const std::type_info* type = abi::__cxa_current_exception_type()) {
    // No catch in a -fno-exceptions program: the exception object is found through the C++ ABI
    // (libstdc++'s exception_ptr is exactly the pointer to it), and its what() read when it is a
    // std::exception.
    int status = -1;
    char* name = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
    l << "uncaught exception " << (status == 0 && name ? name : type->name());
    std::exception_ptr current = std::current_exception();
    void* object = nullptr;
    static_assert(sizeof current == sizeof object);
    std::memcpy(&object, &current, sizeof object);
    if (object && typeid(std::exception).__do_catch(type, &object, 1))
      l << ": " << static_cast<const std::exception*>(object)->what();
  } else if (*bad_result_access_message()) {
    l << bad_result_access_message();
  } else {
    l << "std::terminate() was called";
  }
  fatal(l.c_str());
}

const char* signal_text(int sig) {
  switch (sig) {
    case SIGABRT:
      return "SIGABRT (abort)";
    case SIGSEGV:
      return "SIGSEGV (invalid memory access)";
    case SIGBUS:
      return "SIGBUS (bus error)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
  }
  return "a fatal signal";
}

void on_signal(int sig) {
  Line l;
  l << "killed by " << signal_text(sig);
  fatal(l.c_str());
}

}  // namespace

void install_fatal_handlers(const FatalConfig& config) {
  g_config = config;
  g_pid = ::getpid();
  std::set_new_handler(on_out_of_memory);
  std::set_terminate(on_terminate);
  stack_t alt{};
  alt.ss_sp = g_alt_stack;
  alt.ss_size = sizeof g_alt_stack;
  ::sigaltstack(&alt, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int sig : kFatalSignals) ::sigaction(sig, &sa, nullptr);
}

void fatal(const char* what) {
  int depth = ++g_depth;
  // Signals stay blocked while their handler runs: a second fault here must reach us too.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  Line l;
  l << (depth > 1 ? "FATAL (while handling a fatal error): " : "FATAL: ") << what;
  log_emergency(l.c_str());
  if (depth > 3) {
    if (::getpid() != 1) ::_exit(kFatalExitCode);
    for (;;) pause_ms(60'000);
  }
  if (!g_config.pid1 || ::getpid() != g_pid) {
    // A command (init load-modules), or a child PID 1 forked: only PID 1 rescues the boot.
    log_emergency("this is a bug in zinitrd: please report it with the message above");
    ::_exit(kFatalExitCode);
  }
  log_emergency(
      "this is a bug in zinitrd (please report it with the message above); PID 1 does not stop "
      "here");
  if (depth > 1 || !run_shell()) pause_ms(g_config.restart_delay_ms);
  restart_boot();
}

}  // namespace zinitrd::rt
