// Model selection over a run's epochs (train.select) and early stopping (train.patience): which
// epoch's scores a run reports, and when it stops. "Best" follows the metric's direction
// (MetricInfo::higher_is_better): the highest accuracy or AUC, the lowest MAE.
#pragma once
#include <limits>

#include "train/config.hpp"

namespace locus {

class ModelSelector {
 public:
  // has_val: a validation split exists; without one every epoch is kept (the last one wins) and
  // patience never runs out. higher_is_better: the metric's direction.
  ModelSelector(Selection rule, int patience, bool has_val, bool higher_is_better = true)
      : best_val(higher_is_better ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity()),
        rule_(rule),
        patience_(patience),
        has_val_(has_val),
        higher_(higher_is_better) {}

  struct Verdict {
    bool keep = false;  // this epoch is the selected one so far
    bool stop = false;  // patience ran out
  };
  // After each epoch: its validation metric and (ValAccLoss) validation loss.
  //   ValAcc: keep when val is better than the best so far (the first maximum, or minimum for a
  //   lower-is-better metric); improved = kept.
  //   ValAccLoss: keep when val is at least as good as the best and loss <= lowest; improved when
  //   either holds.
  // Patience counts consecutive epochs without improvement.
  Verdict observe(double val, double val_loss);

  // The state (checkpoints).
  double best_val;  // the best validation metric so far (±infinity before the first epoch)
  double best_val_loss = std::numeric_limits<double>::infinity();
  int since_best = 0;

 private:
  Selection rule_;
  int patience_;
  bool has_val_;
  bool higher_;
};

}  // namespace locus
