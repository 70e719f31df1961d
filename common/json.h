// json.h: JSON text for the reports zinitrd prints with --json (check, boot-test).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zinitrd {

/// S as a JSON string literal, quotes included. Valid UTF-8 is kept as it is; a byte that is not
/// part of a valid UTF-8 sequence (console noise, a Latin-1 file name) becomes \u00XX, so the
/// result is always valid JSON.
std::string json_string(std::string_view s);
/// V as a JSON array of strings.
std::string json_list(const std::vector<std::string>& v);

}  // namespace zinitrd
