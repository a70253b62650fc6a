// Model selection over a run's epochs (train.select) and early stopping (train.patience): which
// epoch's scores a run reports, and when it stops.
#pragma once
#include <limits>

#include "train/config.hpp"

namespace locus {

class ModelSelector {
 public:
  // has_val: a validation split exists; without one every epoch is kept (the last one wins) and
  // patience never runs out.
  ModelSelector(Selection rule, int patience, bool has_val) : rule_(rule), patience_(patience), has_val_(has_val) {}

  struct Verdict {
    bool keep = false;  // this epoch is the selected one so far
    bool stop = false;  // patience ran out
  };
  // After each epoch: its validation metric and (ValAccLoss) validation loss.
  //   ValAcc: keep when val > the best so far (the first maximum); improved = kept.
  //   ValAccLoss: keep when val >= best and loss <= lowest; improved when either holds.
  // Patience counts consecutive epochs without improvement.
  Verdict observe(double val, double val_loss);

  // The state (checkpoints).
  double best_val = -1;
  double best_val_loss = std::numeric_limits<double>::infinity();
  int since_best = 0;

 private:
  Selection rule_;
  int patience_;
  bool has_val_;
};

}  // namespace locus
