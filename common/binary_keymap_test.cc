// binary_keymap_test.cc: loadkeys' binary keymaps, as `loadkeys -u -b` writes them.
#include "binary_keymap.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace zinitrd;

namespace {

// A binary keymap with keymaps 0 and 1: in each, key K has the value 0x0b00 + K + 256 * table
// (a German layout's y/z: key 21 gives 0x0b7a, "z", in keymap 0).
std::string keymap(size_t keys_per_map = 128) {
  std::string s = "bkeymap";
  std::string flags(256, '\0');
  flags[0] = flags[1] = 1;
  s += flags;
  for (int table = 0; table < 2; ++table)
    for (size_t k = 0; k < keys_per_map; ++k) {
      uint16_t v = static_cast<uint16_t>(table == 0 && k == 21 ? 0x0b7a : 0x0b00 + k + 256 * table);
      s.append(reinterpret_cast<const char*>(&v), 2);
    }
  return s;
}

}  // namespace

TEST_CASE("a binary keymap gives every key of every keymap it holds") {
  auto keys = parse_binary_keymap(keymap());
  REQUIRE(keys);
  REQUIRE(keys->size() == 256);
  CHECK((*keys)[21].table == 0);
  CHECK((*keys)[21].index == 21);
  CHECK((*keys)[21].value == 0x0b7a);
  CHECK((*keys)[128 + 44].table == 1);
  CHECK((*keys)[128 + 44].index == 44);
  CHECK((*keys)[128 + 44].value == 0x0b00 + 44 + 256);
}

TEST_CASE("anything but a whole binary keymap is refused") {
  CHECK_FALSE(parse_binary_keymap(""));
  CHECK_FALSE(parse_binary_keymap("keymaps 0-127\nkeycode 1 = Escape\n"));  // the text form
  CHECK_FALSE(parse_binary_keymap(keymap(127)));                            // cut short
  CHECK_FALSE(parse_binary_keymap(keymap() + "x"));                         // trailing bytes
  std::string bad_flag = keymap();
  bad_flag[7 + 5] = 2;
  CHECK_FALSE(parse_binary_keymap(bad_flag));
  std::string no_maps = "bkeymap" + std::string(256, '\0');
  CHECK_FALSE(parse_binary_keymap(no_maps));
}
