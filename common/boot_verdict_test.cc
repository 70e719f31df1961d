#include "boot_verdict.h"

#include <doctest/doctest.h>

using namespace zinitrd;

TEST_CASE("boot verdict: a PASS round-trips, with names that need escaping") {
  BootVerdict v;
  v.pass = true;
  v.stage = "switch_root";
  v.root = "rpool/ROOT/my root 100%";
  v.init = "/sbin/init";
  v.children = 2;
  v.seconds = {{"kernel", 2.31}, {"modules", 1.02}, {"import", 0.61}, {"mount", 0.05}};
  std::string line = format_boot_verdict(v);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.rfind("ZINITRD-BOOT-VERDICT result=PASS stage=switch_root ", 0) == 0);
  CHECK(line.find("root=rpool/ROOT/my%20root%20100%25 ") != std::string::npos);
  auto back = parse_boot_verdict(line);
  REQUIRE(back);
  CHECK(*back == v);
}

TEST_CASE("boot verdict: a FAIL round-trips with its summary and hints") {
  BootVerdict v;
  v.stage = "import";
  v.summary = "cannot import 'fpool': pool was previously in use from another system.";
  v.hints = {"boot with zfs_force=1", "or spl_hostid=0xdeadbeef\tthen=retry"};
  v.seconds = {{"kernel", 2.0}, {"modules", 1.5}, {"import", 0.25}, {"total", 4.0}};
  auto back = parse_boot_verdict(format_boot_verdict(v));
  REQUIRE(back);
  CHECK(*back == v);
  CHECK_FALSE(back->pass);
}

TEST_CASE("boot verdict: found behind console noise, other lines are not verdicts") {
  auto v = parse_boot_verdict(
      "[    3.1] random: crng init doneZINITRD-BOOT-VERDICT result=FAIL stage=mount x=y junk\r\n");
  REQUIRE(v);
  CHECK(v->stage == "mount");
  CHECK_FALSE(v->pass);
  CHECK_FALSE(parse_boot_verdict("zinitrd: mounted rpool/ROOT/debian on /sysroot"));
  CHECK_FALSE(parse_boot_verdict("ZINITRD-BOOT-VERDICT stage=mount"));  // no result
  CHECK_FALSE(parse_boot_verdict("ZINITRD-BOOT-VERDICT result=MAYBE stage=mount"));
  auto bad_time = parse_boot_verdict("ZINITRD-BOOT-VERDICT result=PASS t.kernel=abc t.mount=1.5");
  REQUIRE(bad_time);
  REQUIRE(bad_time->seconds.size() == 1);
  CHECK(bad_time->seconds[0].first == "mount");
  auto cut = parse_boot_verdict("ZINITRD-BOOT-VERDICT result=FAIL stage=a%2 summary=100%");
  REQUIRE(cut);
  CHECK(cut->stage == "a%2");  // a cut escape is kept as it is
  CHECK(cut->summary == "100%");
}

TEST_CASE("boot log lines are found behind their tag") {
  CHECK(parse_boot_log_line("ZINITRD-BOOT-LOG [    1.000000] zinitrd 1 starting\r") ==
        std::optional<std::string>("[    1.000000] zinitrd 1 starting"));
  CHECK(parse_boot_log_line("xxZINITRD-BOOT-LOG ") == std::optional<std::string>(""));
  CHECK_FALSE(parse_boot_log_line("zinitrd: starting"));
}
