// json_test.cc: JSON string literals from any bytes.
#include "json.h"

#include <doctest/doctest.h>

using zinitrd::json_list;
using zinitrd::json_string;

TEST_CASE("json: quotes, backslashes and control characters are escaped") {
  CHECK(json_string("a \"b\"\\") == "\"a \\\"b\\\"\\\\\"");
  CHECK(json_string("x\ny\tz\x01\x7f") == "\"x\\ny\\tz\\u0001\\u007f\"");
  CHECK(json_string("") == "\"\"");
  CHECK(json_list({}) == "[]");
  CHECK(json_list({"a", "b\"c"}) == "[\"a\",\"b\\\"c\"]");
}

TEST_CASE("json: valid UTF-8 is kept, bytes of no valid sequence become \\u00XX") {
  CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe") ==
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe\"");
  CHECK(json_string("\xe9t\xe9") == "\"\\u00e9t\\u00e9\"");                      // Latin-1
  CHECK(json_string("\xc3") == "\"\\u00c3\"");                                   // cut sequence
  CHECK(json_string("\xc0\xaf") == "\"\\u00c0\\u00af\"");                        // overlong '/'
  CHECK(json_string("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\"");             // a surrogate
  CHECK(json_string("\xf4\x90\x80\x80") == "\"\\u00f4\\u0090\\u0080\\u0080\"");  // > U+10FFFF
}
