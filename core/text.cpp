#include "core/text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace locus {

std::string join(const std::vector<std::string>& items, const std::string& sep, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i)
    out += (i == 0 ? "" : i + 1 == items.size() && !last.empty() ? last : sep) + items[i];
  return out;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string dims(int64_t rows, int64_t cols) { return fmt::format("[{}, {}]", rows, cols); }

std::string percent(double fraction, const std::string& if_nan) {
  return std::isnan(fraction) ? if_nan : fmt::format("{:.2f}", 100.0 * fraction);
}

}  // namespace locus
