// boot_check_test.cc: the boot test's verdicts and console report (the power-off is exercised by
// the VM tests of `zinitrd boot-test`).
#include "boot_check.h"

#include <doctest/doctest.h>

using namespace zinitrd;
using namespace zinitrd::rt;

TEST_CASE("boot check: a PASS names the root, its init, the children and the stage times") {
  BootVerdict v = pass_verdict("rpool/ROOT/debian", "/sbin/init", 1, {1020, 610, 50}, 2310, 4100);
  CHECK(v.pass);
  CHECK(v.stage == "switch_root");
  CHECK(v.root == "rpool/ROOT/debian");
  CHECK(v.init == "/sbin/init");
  CHECK(v.children == 1);
  using S = std::vector<std::pair<std::string, double>>;
  CHECK(v.seconds ==
        S{{"kernel", 2.31}, {"modules", 1.02}, {"import", 0.61}, {"mount", 0.05}, {"total", 4.1}});
  // Unknown start of /init: no kernel time rather than a wrong one.
  CHECK(pass_verdict("p/r", "/sbin/init", 0, {}, -1, 10).seconds.front().first == "modules");
}

TEST_CASE("boot check: a FAIL carries the failed stage, the summary with its status, the hints") {
  Failure f;
  f.stage = "import";
  f.summary = "cannot import 'fpool'";
  f.status = "exit code 1";
  f.hints = {"boot with zfs_force=1"};
  BootVerdict v = fail_verdict(f, {1500, 250, 0}, 2000, 4000);
  CHECK_FALSE(v.pass);
  CHECK(v.stage == "import");
  CHECK(v.summary == "cannot import 'fpool' (exit code 1)");
  CHECK(v.hints == f.hints);
  CHECK(fail_verdict(Failure{}, {}, -1, 0).stage == "unknown");
  f.output =
      "\n  cannot import 'fpool': pool was previously in use from another system.\n  Last "
      "accessed by (none) (hostid=deadbeef)\n";
  CHECK(fail_verdict(f, {}, -1, 0).summary ==
        "cannot import 'fpool' (exit code 1: cannot import 'fpool': pool was previously in use "
        "from another system.)");
  f.status.clear();
  CHECK(fail_verdict(f, {}, -1, 0).summary ==
        "cannot import 'fpool' (cannot import 'fpool': pool was previously in use from another "
        "system.)");
}

TEST_CASE("boot check: the console report is the tagged boot log, then the verdict line") {
  BootVerdict v = pass_verdict("rpool/ROOT/debian", "/sbin/init", 0, {}, 1000, 2000);
  std::string r = boot_test_report("[    1.0] zinitrd 1 starting\n[    1.5] mounted\n", v);
  CHECK(r ==
        "\nZINITRD-BOOT-LOG [    1.0] zinitrd 1 starting\nZINITRD-BOOT-LOG [    1.5] mounted\n" +
            format_boot_verdict(v) + "\n");
  // Every line of the report is found again by the generator's parsers.
  CHECK(parse_boot_verdict(format_boot_verdict(v)) == v);
  CHECK(boot_test_report("", v) == "\n" + format_boot_verdict(v) + "\n");
}

TEST_CASE("boot check: /init's start is the first boot log line's timestamp") {
  CHECK(first_log_ms("[    2.499000] zinitrd 0.1.0 starting\n[    2.5] x\n") == 2499);
  CHECK(first_log_ms("[12345.000001] x") == 12345000);
  CHECK(first_log_ms("") == -1);
  CHECK(first_log_ms("zinitrd starting") == -1);
  CHECK(first_log_ms("[  2.5] x") == -1);
  CHECK(first_log_ms("[  a.000000] x") == -1);
}
