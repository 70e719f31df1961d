// process.cc: fork/exec with captured output and a deadline (see process.h).
#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "fd.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kMaxOutput = 1 << 20;
constexpr size_t kMaxInput = 64 << 10;
constexpr int64_t kKillGraceMs = 2000;  // after SIGKILL; a child stuck in D state is abandoned

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Waits for PID until DEADLINE (monotonic ms); true when it was reaped into STATUS.
bool wait_until(pid_t pid, int& status, int64_t deadline) {
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (monotonic_ms() >= deadline) return false;
    sleep_ms(10);
  }
}

Result<ProcessResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          int64_t timeout_ms, const std::string_view* input);

}  // namespace

std::string ProcessResult::describe() const {
  if (timed_out) return "timed out after " + format_seconds(elapsed_ms) + " and was killed";
  if (signal != 0)
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env, int64_t timeout_ms) {
  return run(argv, env, timeout_ms, nullptr);
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env, int64_t timeout_ms,
                                  std::string_view input) {
  return run(argv, env, timeout_ms, &input);
}

namespace {

Result<ProcessResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          int64_t timeout_ms, const std::string_view* input) {
  ProcessResult res;
  res.command = format_command(argv);
  if (argv.empty()) return Error::msg("run: empty command");
  // The input fits the pipe's buffer (64 KiB on Linux), so writing it all before reading the
  // output cannot block on a child that does not read.
  if (input && input->size() > kMaxInput) return Error::msg("run " + argv[0] + ": input too large");
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::sys("pipe2", argv[0], errno);
  Fd rd(pipefd[0]), wr(pipefd[1]);
  Fd in_rd, in_wr;
  if (input) {
    int infd[2];
    if (::pipe2(infd, O_CLOEXEC) != 0) return Error::sys("pipe2", argv[0], errno);
    in_rd.reset(infd[0]);
    in_wr.reset(infd[1]);
  }
  std::vector<char*> cargv = c_strings(argv), cenv = c_strings(env);
  const int64_t start = monotonic_ms();
  pid_t pid = ::fork();
  if (pid < 0) return Error::sys("fork for", argv[0], errno);
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    if (in_rd.valid()) {
      ::dup2(in_rd.get(), 0);
    } else {
      int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0) ::dup2(null, 0);
    }
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(cargv[0], cargv.data(), cenv.data());
    int e = errno;
    const char* msg = "zinitrd: cannot execute ";
    (void)!::write(2, msg, strlen(msg));
    (void)!::write(2, cargv[0], strlen(cargv[0]));
    (void)!::write(2, ": ", 2);
    (void)!::write(2, strerror(e), strlen(strerror(e)));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  wr.reset();
  if (input) {
    in_rd.reset();
    // SIGPIPE blocked meanwhile (and a pending one consumed): a child that exits without reading
    // must not kill the caller; its exit status says what went wrong.
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::sigprocmask(SIG_BLOCK, &pipe_set, &old);
    const char* p = input->data();
    size_t left = input->size();
    while (left > 0) {
      ssize_t n = ::write(in_wr.get(), p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EPIPE: the child exited without reading; its status says why
      p += n;
      left -= static_cast<size_t>(n);
    }
    in_wr.reset();
    const struct timespec zero {};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
  }
  const int64_t deadline = start + timeout_ms;
  char buf[4096];
  bool open = true;
  while (open) {
    int64_t left = deadline - monotonic_ms();
    if (left <= 0) {
      res.timed_out = true;
      break;
    }
    struct pollfd pfd {
      rd.get(), POLLIN, 0
    };
    int pr = ::poll(&pfd, 1, static_cast<int>(left > 1000 ? 1000 : left));
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pr == 0) continue;
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      open = false;
      break;
    }
    if (res.output.size() < kMaxOutput) res.output.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  bool reaped;
  if (res.timed_out) {
    ::kill(pid, SIGKILL);
    reaped = wait_until(pid, status, monotonic_ms() + kKillGraceMs);
  } else {
    // Output closed: the child (or a grandchild holding the pipe) is done writing.
    reaped = wait_until(pid, status, deadline);
    if (!reaped) {
      res.timed_out = true;
      ::kill(pid, SIGKILL);
      reaped = wait_until(pid, status, monotonic_ms() + kKillGraceMs);
    }
  }
  res.elapsed_ms = monotonic_ms() - start;
  if (reaped) {
    if (WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) res.signal = WTERMSIG(status);
  }
  if (res.timed_out) res.exit_code = -1;
  return res;
}

}  // namespace

void reap_zombies() {
  int status;
  while (::waitpid(-1, &status, WNOHANG) > 0) {
  }
}

}  // namespace zinitrd::rt
