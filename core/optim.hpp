// Optimizers over a ParamStore's flat buffers: SGD (momentum), Adam (L2 decay added to the
// gradient, as torch.optim.Adam) and AdamW (decoupled decay). Decay applies only to
// parameters registered with decay = true.
#pragma once
#include <string>
#include <vector>

#include "core/params.hpp"

namespace locus {

enum class OptimKind { Sgd, Adam, AdamW };

struct OptimOptions {
  OptimKind kind = OptimKind::Adam;
  double lr = 0.01;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam/AdamW
  double momentum = 0.0;                          // SGD
};

OptimKind parse_optim_kind(const std::string& name);  // "adam" | "adamw" | "sgd"
const std::vector<std::string>& optim_kind_names();   // in that order
const char* optim_kind_name(OptimKind k);

template <class T>
class Optimizer {
 public:
  explicit Optimizer(OptimOptions opt) : opt_(opt) {}
  // One update from the gradients in the store (which it leaves untouched).
  void step(ParamStore<T>& store);
  const OptimOptions& options() const { return opt_; }
  void set_lr(double lr) { opt_.lr = lr; }  // a schedule's step (train/trainer.cpp)
  int64_t steps() const { return t_; }

  // The whole state (checkpoints): step count and moment buffers (empty before the first step).
  struct State {
    int64_t steps = 0;
    std::vector<T> m, v;
  };
  State state() const { return {t_, m_, v_}; }
  void set_state(State s) {
    t_ = s.steps;
    m_ = std::move(s.m);
    v_ = std::move(s.v);
  }

 private:
  OptimOptions opt_;
  int64_t t_ = 0;
  std::vector<T> m_, v_;  // first/second moments (Adam) or momentum buffer (SGD, in m_)
};

}  // namespace locus
