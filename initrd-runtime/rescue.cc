// rescue.cc: failure reports and the console shell (see rescue.h).
#include "rescue.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "log.h"
#include "process.h"
#include "util.h"

namespace zinitrd::rt {
namespace {

constexpr size_t kMaxOutputLines = 60;  // the console is small; boot.log keeps everything

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void install_busybox_applets(const std::string& busybox) {
  if (is_executable(std::string(kAppletDir) + "/ls")) return;  // done on an earlier visit
  if (!make_dirs(kAppletDir)) return;
  auto r = run_process({busybox, "--install", "-s", kAppletDir}, {"PATH=/usr/bin:/bin"}, 10'000);
  if (!r || !r->ok())
    log_warning("could not install busybox applet links in %s%s%s", kAppletDir, r ? ": " : "",
                r ? r->output.c_str() : "");
}

}  // namespace

std::vector<std::string> parse_shell_command(std::string_view setting) {
  return split_words(setting, " \t\n");
}

bool is_busybox(const std::vector<std::string>& argv) {
  return !argv.empty() && basename_of(argv[0]) == "busybox";
}

std::vector<std::string> find_rescue_shell(const BootConfig& config) {
  auto argv = parse_shell_command(config.setting("rescue_shell"));
  if (argv.empty() || argv[0][0] != '/' || !is_executable(argv[0])) return {};
  return argv;
}

std::string format_failure(const Failure& f) {
  const std::string rule(64, '=');
  std::string out = rule + "\n";
  out += "BOOT FAILED at stage '" + f.stage + "': " + f.summary + "\n";
  if (!f.command.empty()) out += "command: " + f.command + "\n";
  if (!f.status.empty()) out += "result:  " + f.status + "\n";
  std::string_view output = trim(f.output);
  if (!output.empty()) {
    out += "output:\n";
    auto lines = split_all(output, '\n');
    size_t shown = 0;
    for (const auto& l : lines) {
      if (shown++ == kMaxOutputLines) {
        out += "  ... (" + std::to_string(lines.size() - kMaxOutputLines) +
               " more lines in /run/zinitrd/boot.log)\n";
        break;
      }
      out += "  " + l + "\n";
    }
  }
  if (!f.hints.empty()) {
    out += "what to try:\n";
    for (const auto& h : f.hints) out += "  - " + h + "\n";
  }
  out += rule;
  return out;
}

void report_failure(const Failure& f) {
  log_text(LogLevel::kError, format_failure(f));
  if (f.output.size() > 0 && split_all(trim(f.output), '\n').size() > kMaxOutputLines)
    log_text(LogLevel::kDebug, "full output of " + f.command + ":\n" + f.output);
}

int run_rescue_shell(const std::vector<std::string>& argv, std::vector<std::string> env) {
  if (argv.empty()) return -1;
  if (is_busybox(argv)) install_busybox_applets(argv[0]);
  for (auto& e : env)
    if (starts_with(e, "PATH=")) e += std::string(":") + kAppletDir;
  env.push_back("PS1=(zinitrd) \\w # ");
  env.push_back("SHELL=" + argv[0]);
  return run_on_console(argv, env);
}

int run_on_console(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  if (argv.empty()) return -1;
  std::vector<const char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(a.c_str());
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(e.c_str());
  cenv.push_back(nullptr);
  int status = run_on_console(cargv.data(), cenv.data());
  if (status < 0) log_error("cannot start %s: fork: %s", argv[0].c_str(), strerror(errno));
  return status;
}

int run_on_console(const char* const* argv, const char* const* envp, const char* console) {
  if (!argv || !argv[0]) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // A session of its own with the console as controlling terminal: job control and Ctrl-C.
    ::setsid();
    int tty = ::open(console, O_RDWR);
    if (tty >= 0) {
      ::ioctl(tty, TIOCSCTTY, 1);
      ::dup2(tty, 0);
      ::dup2(tty, 1);
      ::dup2(tty, 2);
      if (tty > 2) ::close(tty);
    }
    for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    (void)!::chdir("/");
    ::execve(argv[0], const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    const char msg[] = "zinitrd: cannot execute ";
    (void)!::write(2, msg, sizeof msg - 1);
    (void)!::write(2, argv[0], strlen(argv[0]));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  // Anything else that exits meanwhile (orphans reparented to PID 1) is reaped too.
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(-1, &status, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
}

}  // namespace zinitrd::rt
