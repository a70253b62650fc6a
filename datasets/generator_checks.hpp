// Parameter checks shared by the seeded generators (generators.cpp, graph_generators.cpp): errors
// worded with the `locus generate` option names, as InputErrors naming the option, the value and
// the fix.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace locus::gen {

// A number as the option would be typed (shortest form).
inline std::string num(double v) { return fmt::format("{}", v); }

// "KIND: --OPTION RULE, not 'VALUE'. FIX"
[[noreturn]] inline void bad(const std::string& kind, const std::string& option, const std::string& value,
                             const std::string& rule, const std::string& fix) {
  throw_input_error("", 0, kind + ": --" + option + " " + rule + ", not", value, fix);
}

inline void check_range(const std::string& kind, const std::string& option, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return;
  bad(kind, option, std::to_string(v),
      hi == INT64_MAX ? "must be at least " + std::to_string(lo)
                      : "must be between " + std::to_string(lo) + " and " + std::to_string(hi),
      "give --" + option + " " + std::to_string(std::clamp(v, lo, hi)) + " or another value in range");
}

inline void check_probability(const std::string& kind, const std::string& option, double p) {
  if (p >= 0.0 && p <= 1.0) return;  // also rejects NaN
  bad(kind, option, num(p), "is a probability and must be between 0 and 1", "give e.g. --" + option + " 0.01");
}

}  // namespace locus::gen
