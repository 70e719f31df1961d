// fatal_test.cc: what would abort /init (and panic the kernel as PID 1) is reported and taken to
// the rescue path instead. Each case installs the handlers in a forked child and breaks it the way
// the standard library or a bug would; the PID-1 path runs with fake shell, init and console.
#include "fatal.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <new>
#include <string>
#include <vector>

#include "result.h"
#include "test_support.h"

using namespace zinitrd;
using namespace zinitrd::rt;
using test::ChildEnd;
using test::run_in_child;
using test::TempDir;

namespace {

bool has(const ChildEnd& e, const std::string& text) {
  return e.err.find(text) != std::string::npos;
}

// What -fno-exceptions code does with a library exception: no handler, so std::terminate().
void out_of_range() noexcept {
  std::vector<int> v;
  (void)v.at(3);
}

void bad_result_access() noexcept {
  Result<int> r(Error::msg("no such pool"));
  (void)r.value();
}

// A real invalid access (to a page without access rights: UBSan would report a null pointer
// before the hardware did).
void invalid_write() {
  void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(page != MAP_FAILED);
  *static_cast<volatile int*>(page) = 1;
}

}  // namespace

TEST_CASE("fatal: outside PID 1 each fatal error is reported and exits 70, never aborts") {
  struct Case {
    const char* what;
    void (*breaks)();
    const char* says;
  };
  const Case cases[] = {
      {"library exception", out_of_range,
       "zinitrd: FATAL: uncaught exception std::out_of_range: vector::_M_range_check"},
      {"bad Result access", bad_result_access,
       "FATAL: internal error: value of a Result that holds an error (the error: no such pool)"},
      {"out of memory", [] { std::get_new_handler()(); }, "FATAL: out of memory"},
      {"invalid memory access", invalid_write, "FATAL: killed by SIGSEGV"},
      {"abort()", [] { ::abort(); }, "FATAL: killed by SIGABRT"},
  };
  for (const Case& c : cases) {
    ChildEnd end = run_in_child([&] {
      install_fatal_handlers(FatalConfig{});
      c.breaks();
    });
    INFO(c.what << ": " << end.err);
    CHECK(end.signal == 0);
    CHECK(end.exit_code == kFatalExitCode);
    CHECK(has(end, c.says));
    CHECK(has(end, "this is a bug in zinitrd"));
  }
}

TEST_CASE("fatal: PID 1 runs the rescue shell, then restarts the boot with its arguments") {
  TempDir t("zinitrd-fatal");
  std::string shell = (t / "shell").string(), init = (t / "init").string();
  std::string count = (t / "restarts").string();
  test::write_file(shell, "#!/bin/sh\necho shell ran >> " + (t / "trace").string() + "\n");
  test::write_file(init, "#!/bin/sh\necho \"init ran: $*\" >> " + (t / "trace").string() + "\n");
  REQUIRE(::chmod(shell.c_str(), 0755) == 0);
  REQUIRE(::chmod(init.c_str(), 0755) == 0);
  const char* shells[] = {"/nonexistent/busybox", shell.c_str(), nullptr};
  char arg0[] = "/init", arg1[] = "single";
  char* argv[] = {arg0, arg1, nullptr};
  FatalConfig config;
  config.pid1 = true;
  config.init = init.c_str();
  config.argv = argv;
  config.console = "/dev/null";
  config.shells = shells;
  config.restart_count_file = count.c_str();
  config.restart_delay_ms = 10;

  ChildEnd end = run_in_child([&] {
    install_fatal_handlers(config);
    out_of_range();
  });
  INFO(end.err);
  CHECK(end.signal == 0);
  CHECK(end.exit_code == 0);  // the restarted "init" replaced the process and exited
  CHECK(has(end, "FATAL: uncaught exception std::out_of_range"));
  CHECK(has(end, "starting a rescue shell"));
  CHECK(has(end, "restarting the boot (1 of 3)"));
  CHECK(test::slurp(t / "trace") == "shell ran\ninit ran: single\n");
  CHECK(test::slurp(count) == "1\n");

  // Without a shell it waits, then restarts; after kMaxFatalRestarts it reboots (here, not being
  // the real PID 1, it exits instead).
  const char* none[] = {"/nonexistent/sh", nullptr};
  config.shells = none;
  end = run_in_child([&] {
    install_fatal_handlers(config);
    invalid_write();
  });
  CHECK(has(end, "this image has no rescue shell"));
  CHECK(has(end, "restarting the boot (2 of 3)"));
  CHECK(test::slurp(count) == "2\n");
  test::write_file(count, "3\n");
  end = run_in_child([&] {
    install_fatal_handlers(config);
    bad_result_access();
  });
  INFO(end.err);
  CHECK(has(end, "the boot failed fatally 4 times"));
  CHECK(has(end, "rebooting in"));
  CHECK(end.exit_code == kFatalExitCode);
  CHECK(test::slurp(t / "trace") == "shell ran\ninit ran: single\ninit ran: single\n");
}

TEST_CASE("fatal: a child forked by PID 1 only reports and exits") {
  TempDir t("zinitrd-fatal");
  FatalConfig config;
  config.pid1 = true;
  config.init = "/nonexistent/init";
  std::string count = (t / "restarts").string();
  config.restart_count_file = count.c_str();
  ChildEnd end = run_in_child([&] {
    install_fatal_handlers(config);
    if (::fork() == 0) out_of_range();  // the coldplug child, say
    int status = 0;
    ::wait(&status);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 99);
  });
  CHECK(end.exit_code == kFatalExitCode);
  CHECK(has(end, "FATAL: uncaught exception"));
  CHECK_FALSE(has(end, "rescue shell"));
}
