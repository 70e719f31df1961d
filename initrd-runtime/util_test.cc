// util_test.cc: string helpers, hostids, and the boot's timeouts.
#include "util.h"

#include <doctest/doctest.h>

#include "boot.h"
#include "log.h"

using namespace zinitrd::rt;

TEST_CASE("hostids parse like zgenhostid's argument and print like zpool") {
  uint32_t id = 0;
  CHECK(parse_hostid("0x8e9a1a2b", id));
  CHECK(id == 0x8e9a1a2bu);
  CHECK(parse_hostid("DEADBEEF", id));
  CHECK(id == 0xdeadbeefu);
  CHECK_FALSE(parse_hostid("", id));
  CHECK_FALSE(parse_hostid("0x", id));
  CHECK_FALSE(parse_hostid("123456789", id));
  CHECK_FALSE(parse_hostid("12g4", id));
  CHECK(format_hostid(0xbab10c) == "00bab10c");
}

TEST_CASE("time formats") {
  CHECK(format_seconds(1020) == "1.02s");
  CHECK(format_seconds(50) == "0.05s");
  CHECK(log_timestamp(1234) == "[    1.234000] ");
}

TEST_CASE("timeouts: rd.timeout, then the import_timeout setting, then the default") {
  zinitrd::BootConfig c;
  BootRequest r;
  CHECK(import_timeout_ms(r, c) == kDefaultImportTimeoutS * 1000);
  c.settings["import_timeout"] = "90";
  CHECK(import_timeout_ms(r, c) == 90'000);
  c.settings["import_timeout"] = "soon";
  CHECK(import_timeout_ms(r, c) == kDefaultImportTimeoutS * 1000);
  r.timeout_s = 0;
  CHECK(import_timeout_ms(r, c) == 0);  // forever
  r.timeout_s = 15;
  CHECK(import_timeout_ms(r, c) == 15'000);
  CHECK(give_up_ms(r) == 15'000);
  CHECK(give_up_ms(BootRequest{}) == kDefaultGiveUpS * 1000);
}
