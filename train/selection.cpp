#include "train/selection.hpp"

#include <algorithm>

namespace locus {

ModelSelector::Verdict ModelSelector::observe(double val, double val_loss) {
  bool keep = !has_val_, improved = !has_val_;
  const bool better = higher_ ? val > best_val : val < best_val;
  if (has_val_ && rule_ == Selection::ValAccLoss) {
    const bool as_good = better || val == best_val;
    improved = as_good || val_loss <= best_val_loss;
    keep = as_good && val_loss <= best_val_loss;
    if (better) best_val = val;
    if (improved) best_val_loss = std::min(best_val_loss, val_loss);
  } else if (has_val_) {
    keep = improved = better;
    if (keep) best_val = val;
  }
  Verdict v;
  v.keep = keep;
  if (improved) since_best = 0;
  else if (patience_ > 0 && ++since_best >= patience_) v.stop = true;
  return v;
}

}  // namespace locus
