// Small text helpers for messages and parsing, shared by the library and the apps: joining a list
// for an error message ("a, b and c"), trimming a token, shapes and percentages.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace locus {

// items separated by `sep`; the last two by `last` when given ("a, b and c" with last " and ").
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ", const std::string& last = "");

// s without leading and trailing spaces, tabs, CR and LF.
std::string trim(const std::string& s);

// A matrix shape for messages: "[rows, cols]".
std::string dims(int64_t rows, int64_t cols);

// A fraction as a percentage with two decimals ("81.39"); `if_nan` when it is NaN.
std::string percent(double fraction, const std::string& if_nan = "n/a");

}  // namespace locus
