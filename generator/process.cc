// process.cc: see process.h. posix_spawnp() starts the program (it reports a program that cannot
// be executed as an error, instead of a child exiting 127); poll() reads its output against the
// deadline; at the deadline SIGKILL goes to the child's whole process group.
#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fd.h"

extern char** environ;

namespace zinitrd::gen {
namespace {

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

// This process's environment with LC_ALL=C: the output of zfs, zpool and dkms is parsed.
std::vector<std::string> c_locale_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "LC_ALL=", 7) != 0) env.emplace_back(*e);
  env.emplace_back("LC_ALL=C");
  return env;
}

// Frees the posix_spawn objects on every path out of run_command.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::string CommandOutput::describe() const {
  if (!ran) return "could not be started";
  if (timed_out) return "gave no answer in time and was killed";
  if (status > 128) return "killed by signal " + std::to_string(status - 128);
  return "exit status " + std::to_string(status);
}

CommandOutput run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  CommandOutput result;
  if (argv.empty()) return result;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return result;
  Fd rd(p[0]), wr(p[1]);

  SpawnSetup s;
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&s.actions, wr.get(), 1);
  if (options.merge_stderr)
    posix_spawn_file_actions_adddup2(&s.actions, wr.get(), 2);
  else
    posix_spawn_file_actions_addopen(&s.actions, 2, "/dev/null", O_WRONLY, 0);
  // Its own process group (killed as one at the deadline), default signal dispositions, no
  // blocked signals: whatever this process set up for itself does not leak into the command.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&s.attr, 0);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setflags(&s.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args, env;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_text = c_locale_environment();
  for (auto& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);

  pid_t pid = -1;
  if (::posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), env.data()) != 0)
    return result;
  result.ran = true;
  wr.reset();

  const int64_t deadline = options.timeout_ms > 0 ? now_ms() + options.timeout_ms : -1;
  char buf[4096];
  for (;;) {
    int wait_ms = -1;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      if (left <= 0) {
        // The group, then the child itself in case it left the group; its output so far is kept.
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    struct pollfd pfd {
      rd.get(), POLLIN, 0
    };
    int n = ::poll(&pfd, 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (n == 0) continue;  // the deadline: handled at the top
    ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // end of file: the command (and every child holding the pipe) is done
    result.out.append(buf, static_cast<size_t>(got));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace zinitrd::gen
