// Differentiable losses: classification (log-softmax, NLL) and regression (L1).
#pragma once
#include <cstdint>
#include <span>

#include "core/tape.hpp"

namespace locus::ops {

// Row-wise log-softmax: y_ij = x_ij − log Σ_k exp(x_ik)   [n, c] → [n, c]
template <class T> Var log_softmax(Tape<T>& t, Var x);

// Mean negative log-likelihood over the listed rows: −(1/|idx|) Σ_{i∈idx} logp[i, labels[i]] → [1, 1].
// labels has one entry per row of logp; every listed row must carry a label in [0, c).
template <class T>
Var nll_loss(Tape<T>& t, Var logp, std::span<const int32_t> labels, std::span<const int32_t> idx);

// Mean absolute error over the listed rows and every column (the benchmarking-GNNs' ZINC loss):
//   (1/(|idx|·k)) Σ_{i∈idx} Σ_j |pred[i, j] − target[i, j]|   pred, target [n, k] → [1, 1].
// Gradient sign(pred − target) / (|idx|·k) on the listed rows, 0 elsewhere; at pred = target the
// subgradient 0 is taken (no push either way). idx must be non-empty and in range; repeated rows count twice.
template <class T>
Var l1_loss(Tape<T>& t, Var pred, const MatT<T>& target, std::span<const int32_t> idx);

}  // namespace locus::ops
