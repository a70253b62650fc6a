// Differentiable normalisation ops on a Tape: LayerNorm (per row), BatchNorm (per column, with
// running statistics) and row-wise L2 normalisation. Forward stores what backward needs (the
// per-row or per-column mean and 1/σ, the row norms); backward recomputes x̂ from x.
//
// Parallel over rows when rows × cols ≥ 2^18 (see basic.hpp). Column statistics and the
// gamma / beta gradients are sums over rows taken in fixed row blocks added in block order
// (detail::reduce_rows), so every result is bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "core/tape.hpp"

namespace locus::ops {

// LayerNorm over the columns of each row, as torch.nn.functional.layer_norm on the last axis:
//   μ_r = (1/d) Σ_j x_rj,  σ²_r = (1/d) Σ_j (x_rj − μ_r)²  (biased),  x̂_rj = (x_rj − μ_r) / √(σ²_r + eps),
//   y_rj = gamma_j · x̂_rj + beta_j.
// x [n, d] (d ≥ 1), gamma [1, d], beta [1, d] → [n, d]. gamma or beta may be an invalid Var
// (Var{}), meaning no scale (1) or no shift (0). eps ≥ 0.
// Backward: dx̂ = G ⊙ gamma, dx = (1/σ) (dx̂ − mean_j dx̂ − x̂ · mean_j(dx̂ ⊙ x̂)),
// dgamma = Σ_r G ⊙ x̂, dbeta = Σ_r G.
template <class T> Var layer_norm(Tape<T>& t, Var x, Var gamma, Var beta, double eps = 1e-5);

// Running statistics of a BatchNorm, kept outside the tape (they are not trained by gradients
// and are not in a ParamStore; a layer that checkpoints them saves these fields itself).
// Starts like PyTorch's BatchNorm: running_mean = 0, running_var = 1, num_batches = 0.
template <class T>
struct BatchNormState {
  MatT<T> running_mean;      // [1, d]
  MatT<T> running_var;       // [1, d], unbiased estimates
  int64_t num_batches = 0;   // training-mode forwards so far (PyTorch's num_batches_tracked)

  BatchNormState() = default;
  explicit BatchNormState(int64_t dim)
      : running_mean(MatT<T>::Zero(1, dim)), running_var(MatT<T>::Ones(1, dim)) {}
};

// BatchNorm over the rows of each column (nodes are the batch), as torch.nn.BatchNorm1d on [n, d].
// training: normalises with the batch statistics μ_j = (1/n) Σ_r x_rj and the biased variance
//   σ²_j = (1/n) Σ_r (x_rj − μ_j)², then updates the state like PyTorch (momentum m):
//     running_mean ← (1 − m) · running_mean + m · μ
//     running_var  ← (1 − m) · running_var  + m · σ² · n / (n − 1)   (unbiased)
//     num_batches  ← num_batches + 1
//   and needs n ≥ 2 (PyTorch refuses one value per channel as well). The gradient flows through
//   μ and σ² (full batch-norm backward): dx = (1/(n σ)) (n dx̂ − Σ_r dx̂ − x̂ Σ_r dx̂ ⊙ x̂), dx̂ = G ⊙ gamma.
// evaluation (!training): normalises with the running statistics, x̂ = (x − running_mean) /
//   √(running_var + eps); the state is not changed; dx = G ⊙ gamma / √(running_var + eps).
// Both: y = gamma ⊙ x̂ + beta; dgamma = Σ_r G ⊙ x̂, dbeta = Σ_r G.
// x [n, d], gamma [1, d], beta [1, d] (either may be Var{}: no scale / no shift), state built with
// BatchNormState<T>(d). 0 ≤ momentum ≤ 1 (PyTorch's cumulative mode, momentum=None, is not
// offered), eps ≥ 0.
template <class T>
Var batch_norm(Tape<T>& t, Var x, Var gamma, Var beta, BatchNormState<T>& state, bool training,
               double momentum = 0.1, double eps = 1e-5);

// Each row divided by its Euclidean norm, clamped below: y_r = x_r / max(‖x_r‖₂, eps), as
// torch.nn.functional.normalize(x, dim=1). x [n, d] → [n, d]; eps > 0.
// Backward: ‖x_r‖ > eps: dx_r = (G_r − y_r (y_r · G_r)) / ‖x_r‖; otherwise (clamped) dx_r = G_r / eps.
template <class T> Var l2_normalize_rows(Tape<T>& t, Var x, double eps = 1e-12);

}  // namespace locus::ops
