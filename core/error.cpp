#include "core/error.hpp"

#include <algorithm>
#include <vector>

namespace locus {

std::string input_error_message(const std::string& file, long line, const std::string& problem,
                                const std::string& token, const std::string& fix) {
  std::string msg = file;
  if (line > 0) msg += ":" + std::to_string(line);
  if (!msg.empty()) msg += ": ";
  msg += problem;
  if (!token.empty()) msg += " '" + token + "'";
  if (!fix.empty()) msg += ". " + fix;
  return msg;
}

void throw_input_error(const std::string& file, long line, const std::string& problem,
                       const std::string& token, const std::string& fix) {
  throw InputError(input_error_message(file, line, problem, token, fix));
}

ConfigError::ConfigError(ConfigProblem p)
    : InputError(input_error_message("config", 0, p.problem, p.token.empty() ? p.key : p.token, p.fix)),
      problem(std::move(p)) {}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  // Only suggest when the candidate is plausibly a typo: within a third of its length (min 2).
  if (best_d == std::string::npos || best_d > std::max<size_t>(2, best.size() / 3)) return {};
  return best;
}

std::string nearest(const std::string& word, const std::initializer_list<std::string>& candidates) {
  return nearest(word, std::vector<std::string>(candidates));
}

}  // namespace locus
