// Small text helpers for messages and parsing, shared by the library and the apps: joining a list
// for an error message ("a, b and c") and trimming whitespace around a token.
#pragma once
#include <string>
#include <vector>

namespace locus {

// items separated by `sep`; the last two by `last` when given ("a, b and c" with last " and ").
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ", const std::string& last = "");

// s without leading and trailing spaces, tabs, CR and LF.
std::string trim(const std::string& s);

}  // namespace locus
