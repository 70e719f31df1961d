// process_test.cc: running programs with captured output, exit codes and deadlines.
#include "process.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

TEST_CASE("output of stdout and stderr is captured with the exit code") {
  auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, {"PATH=/bin"}, 10'000);
  REQUIRE(r);
  CHECK(r->exit_code == 3);
  CHECK_FALSE(r->ok());
  CHECK(r->output.find("out\n") != std::string::npos);
  CHECK(r->output.find("err\n") != std::string::npos);
  CHECK(r->describe() == "exit code 3");
  CHECK(r->command == "/bin/sh -c 'echo out; echo err >&2; exit 3'");
}

TEST_CASE("the environment is exactly what was given") {
  auto r = run_process({"/bin/sh", "-c", "echo \"$ZPOOL_IMPORT_UDEV_TIMEOUT_MS:$HOME\""},
                       {"ZPOOL_IMPORT_UDEV_TIMEOUT_MS=0"}, 10'000);
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->output == "0:\n");
}

TEST_CASE("a hung program is killed at the deadline") {
  auto r = run_process({"/bin/sleep", "30"}, {}, 300);
  REQUIRE(r);
  CHECK(r->timed_out);
  CHECK_FALSE(r->ok());
  CHECK(r->elapsed_ms < 5000);
  CHECK(r->describe().find("timed out") != std::string::npos);
}

TEST_CASE("a missing program exits 127 with a message") {
  auto r = run_process({"/nonexistent/zpool", "import"}, {}, 10'000);
  REQUIRE(r);
  CHECK(r->exit_code == 127);
  CHECK(r->output.find("cannot execute /nonexistent/zpool") != std::string::npos);
  CHECK_FALSE(run_process({}, {}, 1000));
}
