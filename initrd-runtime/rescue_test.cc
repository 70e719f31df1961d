// rescue_test.cc: the rescue_shell setting and the failure report.
#include "rescue.h"

#include <doctest/doctest.h>

using namespace zinitrd::rt;

TEST_CASE("rescue_shell setting -> argv") {
  CHECK(parse_shell_command("/usr/bin/busybox sh") ==
        std::vector<std::string>{"/usr/bin/busybox", "sh"});
  CHECK(parse_shell_command("  /bin/sh\t-i  ") == std::vector<std::string>{"/bin/sh", "-i"});
  CHECK(parse_shell_command("").empty());
  CHECK(parse_shell_command("   ").empty());
  CHECK(is_busybox({"/usr/bin/busybox", "sh"}));
  CHECK(is_busybox({"busybox"}));
  CHECK_FALSE(is_busybox({"/bin/sh"}));
  CHECK_FALSE(is_busybox({"/bin/busybox-wrapper"}));
  CHECK_FALSE(is_busybox({}));
}

TEST_CASE("find_rescue_shell: absent setting or program means no shell") {
  zinitrd::BootConfig c;
  CHECK(find_rescue_shell(c).empty());
  c.settings["rescue_shell"] = "/nonexistent/busybox sh";
  CHECK(find_rescue_shell(c).empty());
  c.settings["rescue_shell"] = "relative/sh";
  CHECK(find_rescue_shell(c).empty());
  c.settings["rescue_shell"] = "/bin/sh -i";
  CHECK(find_rescue_shell(c) == std::vector<std::string>{"/bin/sh", "-i"});
}

TEST_CASE("the failure report names stage, command, output, status and hints") {
  Failure f;
  f.stage = "import";
  f.summary = "cannot import the root pool 'rpool'";
  f.command = "/usr/sbin/zpool import -N rpool";
  f.output = "cannot import 'rpool': no such pool available\n";
  f.status = "exit code 1";
  f.hints = {"check the pool name"};
  std::string r = format_failure(f);
  CHECK(r.find("stage 'import'") != std::string::npos);
  CHECK(r.find("command: /usr/sbin/zpool import -N rpool") != std::string::npos);
  CHECK(r.find("  cannot import 'rpool': no such pool available") != std::string::npos);
  CHECK(r.find("exit code 1") != std::string::npos);
  CHECK(r.find("  - check the pool name") != std::string::npos);
  std::string big;
  for (int i = 0; i < 200; ++i) big += "line " + std::to_string(i) + "\n";
  f.output = big;
  std::string cut = format_failure(f);
  CHECK(cut.find("line 59\n") != std::string::npos);
  CHECK(cut.find("line 60\n") == std::string::npos);
  CHECK(cut.find("140 more lines") != std::string::npos);
}
