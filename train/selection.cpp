#include "train/selection.hpp"

#include <algorithm>

namespace locus {

ModelSelector::Verdict ModelSelector::observe(double val, double val_loss) {
  bool keep = !has_val_, improved = !has_val_;
  if (has_val_ && rule_ == Selection::ValAccLoss) {
    improved = val >= best_val || val_loss <= best_val_loss;
    keep = val >= best_val && val_loss <= best_val_loss;
    if (improved) best_val = std::max(best_val, val), best_val_loss = std::min(best_val_loss, val_loss);
  } else if (has_val_) {
    keep = improved = val > best_val;
    if (keep) best_val = val;
  }
  Verdict v;
  v.keep = keep;
  if (improved) since_best = 0;
  else if (patience_ > 0 && ++since_best >= patience_) v.stop = true;
  return v;
}

}  // namespace locus
