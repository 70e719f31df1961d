// text_test.cc: the shared string helpers.
#include "text.h"

#include <doctest/doctest.h>

using namespace zinitrd;

TEST_CASE("text: split, trim, join, format a command") {
  CHECK(split_words("  a  b\tc\n") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_words("a,b;;c", ",;") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_all("a::b", ':') == std::vector<std::string>{"a", "", "b"});
  CHECK(trim("  x y \r\n") == "x y");
  CHECK(trim(" \t") == "");
  CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(join({}, ":") == "");
  CHECK(format_command({"/usr/sbin/zpool", "import", "-N", "my pool", "it's"}) ==
        "/usr/sbin/zpool import -N 'my pool' 'it'\\''s'");
  CHECK(format_command({"zpool", ""}) == "zpool ''");
}
