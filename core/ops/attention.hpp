// Differentiable fused multi-head scaled dot-product attention over a Dense topology (a batch of
// sentences, each block a complete graph, optionally causal). Forward and backward run the
// FlashAttention-2 style kernels of core/kernels/attention.hpp: no score matrix is ever
// materialised, memory is O(N·H·d) plus per-thread tiles.
//
//   out_i = Σ_j z_ij a_ij v_j over the keys j of i's block (j ≤ i when g.causal),
//   s_ij  = clamp(scale · <q_i, k_j>, −clamp, clamp) + bias[h][relative_bucket(j − i)],
//   a_ij  = softmax_j(s_ij), or exp(s_ij) / √(Σ_j exp(2 s_ij)) for AttnNorm::L2,
//   z_ij  = attention dropout multiplier (training only), see the kernel header;
// per head: head h of a row is its columns [h·d, (h+1)·d); i, j are positions in the block.
#pragma once

#include <string>

#include "core/graph.hpp"
#include "core/kernels/attention.hpp"
#include "core/tape.hpp"

namespace locus {

// "softmax" or "l2" (InputError otherwise).
AttnNorm parse_attn_norm(const std::string& name);
const std::vector<std::string>& attn_norm_names();  // "softmax", "l2"

// Options of ops::dense_attention beyond q, k, v and the heads.
struct AttnConfig {
  double scale = 0;  // ≤ 0: the standard 1/√d
  double clamp = 0;  // ≤ 0: no clamp of scale·<q, k>
  AttnNorm norm = AttnNorm::Softmax;
  int max_distance = 128;  // relative bias: offsets ≥ this share the last bucket (T5: 128)
  double dropout = 0;      // attention dropout probability in [0, 1), applied when training
};

}  // namespace locus

namespace locus::ops {

// q, k, v: [N, heads·d] with N = g.num_nodes() → [N, heads·d]. Gradients flow to q, k, v (which
// may be the same Var) and to rel_bias, an optional [heads, num_buckets] table (usually a
// parameter; T5 uses 32 buckets) whose buckets are relative_bucket(j − i, !g.causal, num_buckets,
// cfg.max_distance); it needs num_buckets ≥ 4 (bidirectional) or ≥ 2 (causal) and max_distance
// above a quarter (half when causal) of num_buckets. Dropout (cfg.dropout, when training) uses
// the counter-based mask of `key`, recomputed in the backward pass. The clamp passes no gradient
// to q, k where |scale · <q_i, k_j>| ≥ clamp (the bias still gets it). The topology and the bias
// table are copied into the backward closure (they need not outlive the tape).
template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, const AttnConfig& cfg,
                    Var rel_bias = {}, bool training = false, uint64_t key = 0);

// Softmax attention with the given scale and clamp (no clamp when clamp ≤ 0), no bias, no dropout.
template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, T scale, T clamp = T(0));

// The same with the standard scale 1/√d and no clamp.
template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads);

}  // namespace locus::ops
