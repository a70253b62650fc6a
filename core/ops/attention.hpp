// Differentiable fused multi-head scaled dot-product attention over a Dense topology (a batch of
// sentences, each block a complete graph, optionally causal). Forward and backward run the
// FlashAttention-2 style kernels of core/kernels/attention.hpp: no score matrix is ever
// materialised, memory is O(N·H·d) plus per-thread tiles.
//
//   out_i = Σ_j softmax_j(s_ij) v_j over the keys j of i's block (j ≤ i when g.causal),
//   s_ij  = clamp(scale · <q_i, k_j>, −clamp, clamp)   (no clamp when clamp ≤ 0),
// per head: head h of a row is its columns [h·d, (h+1)·d).
#pragma once

#include "core/graph.hpp"
#include "core/tape.hpp"

namespace locus::ops {

// q, k, v: [N, heads·d] with N = g.num_nodes() → [N, heads·d]. Gradients flow to q, k and v
// (which may be the same Var). The clamp passes no gradient where |scale · <q_i, k_j>| ≥ clamp.
// The topology is copied into the backward closure (it need not outlive the tape).
template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, T scale, T clamp = T(0));

// The same with the standard scale 1/√d and no clamp.
template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads);

}  // namespace locus::ops
