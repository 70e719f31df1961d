// process_test.cc: the generator's process runner: output, status, merged stderr, the C locale,
// programs that cannot start, and the deadline that kills a hung command with its children.
#include "process.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "test_support.h"

using namespace zinitrd::gen;

TEST_CASE("run_command captures stdout and the exit status, stderr only when merged") {
  CommandOutput o = run_command({"sh", "-c", "echo hello; echo err >&2; exit 3"});
  CHECK(o.ran);
  CHECK(o.status == 3);
  CHECK_FALSE(o.timed_out);
  CHECK_FALSE(o.ok());
  CHECK(o.out == "hello\n");
  CHECK(o.describe() == "exit status 3");
  CommandOptions merged;
  merged.merge_stderr = true;
  o = run_command({"sh", "-c", "echo hello; echo err >&2"}, merged);
  CHECK(o.ok());
  CHECK(o.out == "hello\nerr\n");
  CHECK(run_command({"sh", "-c", "echo $LC_ALL"}).out == "C\n");
  // An argument is one word whatever it holds: nothing is interpreted by a shell.
  CHECK(run_command({"printf", "%s", "a pool'; touch /tmp/x"}).out == "a pool'; touch /tmp/x");
  o = run_command({"/nonexistent/zinitrd-no-such-program"});
  CHECK_FALSE(o.ran);
  CHECK(o.describe() == "could not be started");
  o = run_command({"sh", "-c", "kill -TERM $$"});
  CHECK(o.status == 128 + SIGTERM);
  CHECK(o.describe() == "killed by signal 15");
}

TEST_CASE("run_command kills a command (and its children) that outlives the deadline") {
  zinitrd::test::TempDir t("zinitrd-process");
  std::string pidfile = (t / "child.pid").string();
  CommandOptions o;
  o.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  // A grandchild that keeps the output pipe open: without the group kill, the read would never
  // see end of file.
  CommandOutput r =
      run_command({"sh", "-c", "echo started; sleep 30 & echo $! > " + pidfile + "; wait"}, o);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(secs < 5);
  CHECK(r.ran);
  CHECK(r.timed_out);
  CHECK_FALSE(r.ok());
  CHECK(r.out == "started\n");
  CHECK(r.describe() == "gave no answer in time and was killed");
  // The grandchild was killed with its group: gone, or a zombie until its new parent reaps it.
  std::string stat = "/proc/" + zinitrd::test::slurp(pidfile);
  stat = stat.substr(0, stat.find('\n')) + "/stat";
  auto alive = [&] {
    std::string s = zinitrd::test::slurp(stat);
    return !s.empty() && s[s.rfind(')') + 2] != 'Z';
  };
  for (int i = 0; i < 100 && alive(); ++i) ::usleep(10'000);
  CHECK_FALSE(alive());
}
