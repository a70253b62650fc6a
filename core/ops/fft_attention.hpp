// Differentiable kernelized attention with a learnable relative-position bias, in O(n log n)
// per block through FFTs (Luo et al., NeurIPS 2021). Per head h, over each block of a Dense
// topology (positions 0..n−1 inside the block), with x̃ = d^(−1/4)·x:
//   out_i = Σ_j φ(q̃_i)ᵀφ(k̃_j)·c_{i−j}·v_j / Σ_j φ(q̃_i)ᵀφ(k̃_j)·c_{i−j},   c_r = exp(bias[h, R + clip(r, −R, R)])
// with a positive feature map φ (Performer positive random features for the softmax kernel, or
// elu + 1; see core/kernels/fft_attention.hpp for the algorithm, memory and determinism).
#pragma once

#include "core/graph.hpp"
#include "core/kernels/fft_attention.hpp"
#include "core/tape.hpp"

namespace locus::ops {

using kernels::FftAttentionOptions;
using kernels::FftFeatureMap;

// q, k, v: [N, heads·d] with N = g.num_nodes() → [N, heads·d]. bias: [heads, 2R+1], the
// relative bias table (column R + r for relative position r = i − j; |r| > R shares the end
// columns). Gradients flow to q, k, v (which may be the same Var) and bias. g must not be
// causal. The topology and the projection W are copied into the backward closure.
template <class T>
Var fft_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, Var bias, int heads,
                  const FftAttentionOptions& opt = {});

}  // namespace locus::ops
