// Fused multi-head scaled dot-product attention over a Dense topology (FlashAttention-2 style,
// CPU), with optional T5 relative position bias, softmax or L2 normalisation and attention
// dropout. Raw kernels, no autograd; the differentiable op is ops::dense_attention.
//
// Layout: q, k, v, out, dq, dk, dv are [N, H·d] row-major (N = g.num_nodes(), H heads of width d;
// head h of node i is the d entries from i·H·d + h·d). lse and the backward's row statistics
// are [N, H]. For each block b and head h, with i, j positions inside the block (0-based) and
//   s_ij = clamp(scale · <q_i, k_j>, −c, c) + bias[h][relative_bucket(j − i)]
// (no clamp when c ≤ 0, no bias term without a table) over the keys j of i's block (j ≤ i when
// g.causal), the normalised weights and the output are
//   softmax: a_ij = exp(s_ij − lse_i),  lse_i = log Σ_j exp(s_ij)          (Σ_j a_ij = 1)
//   l2:      a_ij = exp(s_ij − lse_i),  lse_i = ½ · log Σ_j exp(2 s_ij)    (Σ_j a_ij² = 1)
//   out_i = Σ_j z_ij a_ij v_j,  z_ij = [u_ij ≥ p] / (1 − p)  (dropout; z = 1 when p = 0),
// u_ij = Rng::uniform_at(key, dropout_counter(i, j, h)) for global node ids i, j: counter based,
// so the backward pass recomputes the same mask without storing it. The normaliser ignores the
// dropout (dropout acts on the normalised weights, like dropout on an attention matrix).
//
// Tiling: a task is (block, head, tile of kQueryTile query rows) in the forward pass and in the
// dq pass of the backward, (block, head, tile of kKeyTile key rows) in the dk/dv pass. A task
// walks over the other side's tiles with small GEMMs (Eigen, single-threaded: the build defines
// EIGEN_DONT_PARALLELIZE) and an online normaliser (running row max m and Σ exp(s − m), or
// Σ exp(2(s − m)) for l2), so no score matrix larger than one kQueryTile × kKeyTile tile exists.
// The bias of a tile row is a contiguous slice of a per-head table indexed by j − i.
//
// Memory: besides the caller's arrays the kernels allocate only per-thread tile buffers
// (O(kQueryTile·kKeyTile + (kQueryTile + kKeyTile)·d) each), a task list (O(N / tile + blocks)),
// the bias of every offset j − i (O(H · longest block)), in the backward pass the [N, H] row
// statistic D_i = <dO_i, O_i> and, for the table's gradient, one [num_buckets] partial sum per
// dq task (O(N·H·num_buckets / kQueryTile)). Nothing depends on a block's length squared.
//
// Parallel strategy and determinism: OpenMP over tasks (dynamic schedule). Every output row
// (of out, lse, dq) and every key row (of dk, dv) is written by exactly one task, the bias
// table's gradient is summed per task and the partial sums are added in task order, and a
// task's arithmetic is the same whichever thread runs it, so results are bit-identical for any
// thread count. No atomics.
//
// Edge cases: a zero-length block has no tasks; a block of length 1 gives out_i = z_ii v_i (l2
// and softmax alike). Every query attends to at least itself, so the normaliser is never zero.
#pragma once
#include <cstdint>

#include "core/graph.hpp"

namespace locus {

// How the scores of a query row become weights (see the header comment).
enum class AttnNorm { Softmax, L2 };

// T5's bucket of a relative position rel = j − i (Raffel et al. 2020, _relative_position_bucket).
// Bidirectional: buckets [0, n/2) for rel ≤ 0 and [n/2, n) for rel > 0 (n = num_buckets);
// otherwise (causal) all n buckets for rel ≤ 0 and bucket 0 for rel > 0. Within a side of m
// buckets, |rel| < m/2 has its own bucket, larger offsets share logarithmic buckets
//   m/2 + ⌊log(|rel| / (m/2)) / log(max_distance / (m/2)) · (m − m/2)⌋, at most m − 1,
// so offsets ≥ max_distance share the last one. Needs m/2 ≥ 1 and max_distance > m/2
// (ops::dense_attention checks this).
int relative_bucket(int64_t rel, bool bidirectional, int num_buckets, int max_distance);

namespace kernels {

// Query rows per forward / dq task and key rows per step (and per dk/dv task). A task's tiles
// (scores 128 × 256: 128 KiB in float, three of them in the dq pass; q/k/v/accumulator tiles of
// 32–64 KiB at d = 64) stay in a 1 MiB L2. Measured on a 2-core Zen 5 (d = 64, n = 4096, one
// thread, CPU time): 64 × 64 tiles reach ~70% of Eigen's 1024² float GEMM rate in the forward
// pass, 128 × 256 ~85–90% (fewer GEMM calls, each packing its operands, and longer softmax rows).
inline constexpr int64_t kAttnQueryTile = 128;
inline constexpr int64_t kAttnKeyTile = 256;

template <class T>
struct AttentionOptions {
  T scale = T(1);
  T clamp = T(0);  // ≤ 0: no clamp
  AttnNorm norm = AttnNorm::Softmax;
  // Relative position bias [heads, num_buckets] row-major, or null; buckets are
  // relative_bucket(j − i, !g.causal, num_buckets, max_distance).
  const T* rel_bias = nullptr;
  int num_buckets = 0;
  int max_distance = 128;
  double dropout = 0;  // probability p in [0, 1) of dropping a weight; 0: no dropout
  uint64_t key = 0;    // dropout mask key
};

// Counter of the dropout draw of (query node i, key node j, head h), global node ids: unique for
// every triple of an [N, N, H] array, so one key gives independent draws everywhere.
inline uint64_t dropout_counter(int64_t i, int64_t j, int64_t h, int64_t n, int64_t heads) {
  return (static_cast<uint64_t>(i) * static_cast<uint64_t>(n) + static_cast<uint64_t>(j)) *
             static_cast<uint64_t>(heads) +
         static_cast<uint64_t>(h);
}

// out [N, H·d] = attention(q, k, v) (overwritten); lse [N, H] = per-row log normaliser (see
// the header comment), kept for the backward pass.
template <class T>
void dense_attention_forward(const Dense& g, const T* q, const T* k, const T* v, int64_t heads, int64_t dim,
                             const AttentionOptions<T>& opt, T* out, T* lse);

// Accumulates (+=) the gradients of the loss w.r.t. q, k, v and the bias table ([heads,
// num_buckets]) given dout = dL/dout, the forward's out and lse. Any of dq, dk, dv, dbias may be
// null (not wanted). FlashAttention-2 backward: scores are recomputed tile by tile from q, k, the
// bias and lse; with G_ij = <dO_i, v_j>, dA_ij = z_ij G_ij (gradient w.r.t. a_ij) and
// D_i = Σ_j a_ij dA_ij = <dO_i, Σ_j z_ij a_ij v_j> = <dO_i, O_i> (dropout included):
//   softmax: dS_ij = a_ij (dA_ij − D_i),   l2: dS_ij = a_ij (dA_ij − a_ij D_i)
// (l2: ∂lse_i/∂s_ik = a_ik²). Then dq = scale · (dS ∘ C)·K, dk = scale · (dS ∘ C)ᵀ·Q with C the
// clamp's pass-through mask [|scale·<q,k>| < c], dv = (Z ∘ A)ᵀ·dO and
// dbias[h][b] = Σ over (i, j) with bucket b of dS_ij (one pass over query tiles for dq and
// dbias, one over key tiles for dk and dv).
template <class T>
void dense_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* out, const T* dout,
                              const T* lse, int64_t heads, int64_t dim, const AttentionOptions<T>& opt, T* dq,
                              T* dk, T* dv, T* dbias = nullptr);

// Plain softmax attention (no bias, no dropout): the calls above with {scale, clamp}.
template <class T>
void dense_attention_forward(const Dense& g, const T* q, const T* k, const T* v, int64_t heads, int64_t dim,
                             T scale, T clamp, T* out, T* lse) {
  AttentionOptions<T> o;
  o.scale = scale;
  o.clamp = clamp;
  dense_attention_forward(g, q, k, v, heads, dim, o, out, lse);
}
template <class T>
void dense_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* out, const T* dout,
                              const T* lse, int64_t heads, int64_t dim, T scale, T clamp, T* dq, T* dk, T* dv) {
  AttentionOptions<T> o;
  o.scale = scale;
  o.clamp = clamp;
  dense_attention_backward(g, q, k, v, out, dout, lse, heads, dim, o, dq, dk, dv, nullptr);
}

}  // namespace kernels
}  // namespace locus
