// Differentiable ops for pair tasks (link prediction, pairwise node classification, P-GNN's
// protocol): inner-product scores of node pairs and the binary cross-entropy on logits.
// Pairs are given as two parallel index lists u, v (the u / v vectors of a datasets/tasks.hpp
// PairPart), so pair p is (u[p], v[p]).
#pragma once
#include <cstdint>
#include <span>

#include "core/tape.hpp"

namespace locus::ops {

// s_p = ⟨z[u_p], z[v_p]⟩   z [n, d], u and v of equal length P, entries in [0, n) → [P, 1].
// Forward is parallel over pairs (detail::for_each_row); backward scatters
// dz[u_p] += g_p · z[v_p], dz[v_p] += g_p · z[u_p] serially in pair order, so gradients are
// bit-identical for any thread count. u == v is allowed (s = ‖z_u‖², gradient 2 g z_u).
// The indices are copied, so u and v need not outlive the tape. P = 0 gives a [0, 1] result.
template <class T>
Var pair_dot(Tape<T>& t, Var z, std::span<const int32_t> u, std::span<const int32_t> v);

// Mean binary cross-entropy on logits, the numerically stable form (as PyTorch's
// binary_cross_entropy_with_logits): ℓ_p = max(x_p, 0) − x_p·y_p + log(1 + e^(−|x_p|)),
// loss = (1/P) Σ_p ℓ_p → [1, 1]. scores: any shape with P = rows × cols entries (row-major
// order, typically [P, 1] from pair_dot); targets: P values in {0, 1} (the `target` vector of a
// PairPart). Backward: dx_p = g · (σ(x_p) − y_p) / P. Sums in double, in entry order.
// P = 0 or a target outside {0, 1} is a ShapeError.
template <class T>
Var bce_with_logits(Tape<T>& t, Var scores, std::span<const int32_t> targets);

}  // namespace locus::ops
