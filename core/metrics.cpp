#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus {

double roc_auc(std::span<const double> scores, std::span<const int> labels) {
  const size_t n = scores.size();
  if (labels.size() != n)
    throw InputError("roc_auc: " + std::to_string(n) + " scores but " + std::to_string(labels.size()) + " labels");
  int64_t pos = 0;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw InputError("roc_auc: label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                       "; labels must be 0 (negative) or 1 (positive)");
    if (std::isnan(scores[i])) throw InputError("roc_auc: score " + std::to_string(i) + " is NaN");
    pos += labels[i];
  }
  const int64_t neg = static_cast<int64_t>(n) - pos;
  if (pos == 0 || neg == 0)
    throw InputError("roc_auc: undefined with " + std::to_string(pos) + " positives and " + std::to_string(neg) +
                     " negatives; both classes must be present");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Walk groups of equal scores; each member gets the group's average 1-based rank.
  double rank_sum = 0;  // ranks are half-integers ≤ n, so the sum is exact below 2^52
  for (size_t i = 0; i < n;) {
    size_t j = i;
    int64_t group_pos = 0;
    while (j < n && scores[order[j]] == scores[order[i]]) group_pos += labels[order[j++]];
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // mean of i+1 .. j
    rank_sum += avg_rank * static_cast<double>(group_pos);
    i = j;
  }
  const double p = static_cast<double>(pos);
  return (rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(neg));
}

double roc_auc(std::span<const float> scores, std::span<const int> labels) {
  std::vector<double> s(scores.begin(), scores.end());
  return roc_auc(std::span<const double>(s), labels);
}

double class_weighted_accuracy(std::span<const int64_t> correct, std::span<const int64_t> total) {
  if (correct.size() != total.size())
    throw InputError("class_weighted_accuracy: " + std::to_string(correct.size()) + " correct counts but " +
                     std::to_string(total.size()) + " totals");
  double sum = 0;
  int64_t present = 0;
  for (size_t c = 0; c < total.size(); ++c) {
    if (total[c] <= 0) continue;
    sum += static_cast<double>(correct[c]) / static_cast<double>(total[c]);
    ++present;
  }
  return present ? sum / static_cast<double>(present) : std::nan("");
}

}  // namespace locus
