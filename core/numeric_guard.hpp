// Numeric fault detection for training loops: a NaN or Inf in the loss, a parameter gradient or a
// parameter value stops training with a NumericFault naming the epoch, the op and the layer scope
// (Tape::scope) where it started, and a fix. The all-finite path costs one vectorised pass over
// the flat gradient / value buffers; the tape is searched only after a failure. Also global
// gradient-norm clipping (as torch.nn.utils.clip_grad_norm_).
#pragma once
#include <stdexcept>
#include <string>

#include "core/params.hpp"
#include "core/tape.hpp"

namespace locus {

struct NumericFault : std::runtime_error {
  NumericFault(const std::string& message, int epoch, std::string kind, std::string op, std::string layer,
               std::string param)
      : std::runtime_error(message),
        epoch(epoch),
        kind(std::move(kind)),
        op(std::move(op)),
        layer(std::move(layer)),
        param(std::move(param)) {}
  int epoch;
  std::string kind;   // what is non-finite: "loss" | "gradient" | "parameter" (what() is the message)
  std::string op;     // the op whose forward (loss) or backward (gradient) first made a NaN/Inf;
                      // "optimizer step" for a parameter; "" when none could be named
  std::string layer;  // that op's scope path; "" for ops outside every scope
  std::string param;  // the parameter concerned (gradient, parameter; loss when a parameter
                      // value is the first non-finite value), else ""
};

// The three checks of one training step, in this order; `epoch` (and `run`, when >= 0) head the
// message ("run 2 epoch 17: ..."). Each returns normally when everything is finite.
//
// After forward + loss: the loss is NaN/Inf → names the first tape node (execution order) with a
// non-finite value.
template <class T>
void check_loss(Tape<T>& t, Var loss, ParamStore<T>& store, int epoch, int run = -1);
// After backward(loss), before clipping and the optimizer step: a parameter gradient is NaN/Inf
// → names the (first, in store order) parameter and the op whose backward first produced a
// non-finite gradient (Tape::first_nonfinite_backward).
template <class T>
void check_gradients(Tape<T>& t, Var loss, ParamStore<T>& store, int epoch, int run = -1);
// After the optimizer step: a parameter value is NaN/Inf → names it and the scope using it.
template <class T>
void check_parameters(Tape<T>& t, ParamStore<T>& store, int epoch, int run = -1);

// Global L2 norm over all parameter gradients; when it exceeds max_norm, every gradient is
// scaled by max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_). Returns the norm before
// clipping (accumulated in double). max_norm <= 0 only measures.
template <class T>
double clip_grad_norm(ParamStore<T>& store, double max_norm);

// Whether every value of the buffer is finite (one vectorised pass).
template <class T>
bool all_finite(const T* data, int64_t n);

}  // namespace locus
