// console_keymap_test.cc: finding the system's console keymap in a root, and compiling it.
#include "console_keymap.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_support.h"

using namespace zinitrd::gen;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

// What `loadkeys -u -b` writes for a keymap of keymap 0 only.
std::string binary_keymap() {
  std::string s = "bkeymap" + std::string(256, '\0');
  s[7] = 1;
  return s + std::string(256, '\x0b');
}

}  // namespace

TEST_CASE("vconsole.conf's KEYMAP, as a shell reads it") {
  CHECK(vconsole_keymap("KEYMAP=de-latin1\nFONT=eurlatgr\n") == "de-latin1");
  CHECK(vconsole_keymap("# KEYMAP=fr\n  KEYMAP=\"de\"\n") == "de");
  CHECK(vconsole_keymap("KEYMAP='fr'\nKEYMAP=us\n") == "us");
  CHECK(vconsole_keymap("FONT=eurlatgr\n").empty());
  CHECK(vconsole_keymap("XKBLAYOUT=de\n").empty());
}

TEST_CASE("console-setup's cached keymap is the one Debian and Ubuntu load") {
  TempDir root("zinitrd-keymap-root");
  write_file(root / "/etc/console-setup/cached_UTF-8_del.kmap.gz", "gz");
  write_file(root / "/etc/vconsole.conf", "KEYMAP=fr\n");
  auto found = find_console_keymap(RootFs(root.path().string()));
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->path == "/etc/console-setup/cached_UTF-8_del.kmap.gz");
  CHECK((*found)->origin == "console-setup");
}

TEST_CASE("console-setup's cache of another charmap or backspace is taken too") {
  TempDir root("zinitrd-keymap-root");
  write_file(root / "/etc/console-setup/cached_ISO-8859-15_del.kmap.gz", "gz");
  write_file(root / "/etc/console-setup/cached_UTF-8_bs.kmap.gz", "gz");
  auto found = find_console_keymap(RootFs(root.path().string()));
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->path == "/etc/console-setup/cached_UTF-8_bs.kmap.gz");
  TempDir latin("zinitrd-keymap-root");
  write_file(latin / "/etc/console-setup/cached_ISO-8859-15_del.kmap.gz", "gz");
  auto iso = find_console_keymap(RootFs(latin.path().string()));
  REQUIRE(iso);
  REQUIRE(iso->has_value());
  CHECK((*iso)->path == "/etc/console-setup/cached_ISO-8859-15_del.kmap.gz");
}

TEST_CASE("vconsole.conf's KEYMAP is looked up in the root's keymap directories") {
  TempDir root("zinitrd-keymap-root");
  write_file(root / "/etc/vconsole.conf", "KEYMAP=de-latin1\n");
  write_file(root / "/usr/lib/kbd/keymaps/legacy/i386/qwertz/de-latin1.map.gz", "gz");
  write_file(root / "/usr/lib/kbd/keymaps/legacy/i386/qwertz/de-latin1-nodeadkeys.map.gz", "gz");
  auto found = find_console_keymap(RootFs(root.path().string()));
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->path == "/usr/lib/kbd/keymaps/legacy/i386/qwertz/de-latin1.map.gz");
  CHECK((*found)->origin == "KEYMAP=de-latin1 in /etc/vconsole.conf");

  // Debian's console-data names its files .kmap.gz under /usr/share/keymaps.
  TempDir debian("zinitrd-keymap-root");
  write_file(debian / "/etc/vconsole.conf", "KEYMAP=fr\n");
  write_file(debian / "/usr/share/keymaps/i386/azerty/fr.kmap.gz", "gz");
  auto fr = find_console_keymap(RootFs(debian.path().string()));
  REQUIRE(fr);
  REQUIRE(fr->has_value());
  CHECK((*fr)->path == "/usr/share/keymaps/i386/azerty/fr.kmap.gz");
}

TEST_CASE("no keymap configured gives none, one named but absent an error naming it") {
  TempDir bare("zinitrd-keymap-root");
  auto none = find_console_keymap(RootFs(bare.path().string()));
  REQUIRE(none);
  CHECK_FALSE(none->has_value());

  TempDir missing("zinitrd-keymap-root");
  write_file(missing / "/etc/vconsole.conf", "KEYMAP=de-latin1\n");
  auto err = find_console_keymap(RootFs(missing.path().string()));
  REQUIRE_FALSE(err);
  CHECK(err.error().message.find("KEYMAP=de-latin1") != std::string::npos);
}

TEST_CASE("a keymap is compiled by loadkeys -u -b, and its output checked") {
  std::vector<std::string> asked;
  auto ok = compile_keymap("/r/etc/console-setup/cached_UTF-8_del.kmap.gz",
                           [&](const std::vector<std::string>& argv) {
                             asked = argv;
                             CommandOutput o;
                             o.ran = true;
                             o.status = 0;
                             o.out = binary_keymap();
                             return o;
                           });
  REQUIRE(ok);
  CHECK(*ok == binary_keymap());
  CHECK(asked == std::vector<std::string>{"loadkeys", "-u", "-b",
                                          "/r/etc/console-setup/cached_UTF-8_del.kmap.gz"});

  auto absent = compile_keymap("/k.map", [](const std::vector<std::string>&) {
    return CommandOutput{};  // could not be started
  });
  REQUIRE_FALSE(absent);
  CHECK(absent.error().message.find("loadkeys (kbd) is not installed") != std::string::npos);

  auto refused = compile_keymap("/k.map", [](const std::vector<std::string>&) {
    CommandOutput o;
    o.ran = true;
    o.status = 1;
    return o;
  });
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("exit status 1") != std::string::npos);

  auto garbage = compile_keymap("/k.map", [](const std::vector<std::string>&) {
    CommandOutput o;
    o.ran = true;
    o.status = 0;
    o.out = "keymaps 0-127\n";
    return o;
  });
  REQUIRE_FALSE(garbage);
}
