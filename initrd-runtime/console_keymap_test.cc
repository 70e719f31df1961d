// console_keymap_test.cc: what /init does with the image's keymap where there is no VT (the test
// host has none it may change; the VM scenario scenarios_keymap.py types on a real one).
#include "console_keymap.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

using namespace zinitrd::rt;

namespace {

std::string temp_file(const std::string& content) {
  char tmpl[] = "/tmp/console_keymap_test.XXXXXX";
  int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(tmpl, std::ios::binary) << content;
  return tmpl;
}

}  // namespace

TEST_CASE("no keymap in the image: nothing is set") {
  auto set = load_console_keymap("/nonexistent/keymap.bmap", "/dev/null");
  REQUIRE(set);
  CHECK(*set == 0);
}

TEST_CASE("a keymap that is not loadkeys' binary form is an error for the log") {
  const std::string path = temp_file("keymaps 0-127\nkeycode 21 = +z\n");
  auto set = load_console_keymap(path, "/dev/null");
  CHECK_FALSE(set);
  CHECK(set.error().message.find("not a binary keymap") != std::string::npos);
  ::unlink(path.c_str());
}

TEST_CASE("a console that is not a VT has no keyboard map to set") {
  std::string bmap = "bkeymap" + std::string(256, '\0');
  bmap[7] = 1;
  bmap += std::string(256, '\x0b');
  const std::string path = temp_file(bmap);
  for (const char* tty : {"/dev/null", "/nonexistent/tty0"}) {
    auto set = load_console_keymap(path, tty);
    REQUIRE(set);
    CHECK(*set == 0);
  }
  ::unlink(path.c_str());
}
