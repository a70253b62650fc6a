// Differentiable classification losses.
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

}  // namespace locus::ops
