// text.h: the string helpers both programs use: splitting, trimming, joining, and showing a
// command line. Pure functions, no allocation beyond their results.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zinitrd {

/// Splits S at any of SEPS, dropping empty pieces.
std::vector<std::string> split_words(std::string_view s, std::string_view seps = " \t\n");
/// Splits S at every SEP, keeping empty pieces ("a::b" -> "a", "", "b").
std::vector<std::string> split_all(std::string_view s, char sep);
/// S without leading and trailing whitespace (space, tab, CR, LF).
std::string_view trim(std::string_view s);
/// Joins PARTS with SEP.
std::string join(const std::vector<std::string>& parts, std::string_view sep);
/// Quotes ARGV for display as one shell-like command line (words that need it in '...').
std::string format_command(const std::vector<std::string>& argv);

}  // namespace zinitrd
