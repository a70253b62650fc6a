// Fused multi-head scaled dot-product attention over a Dense topology (FlashAttention-2 style,
// CPU). Raw kernels, no autograd; the differentiable op is ops::dense_attention.
//
// Layout: q, k, v, out, dq, dk, dv are [N, H·d] row-major (N = g.num_nodes(), H heads of width d;
// head h of node i is the d entries from i·H·d + h·d). lse and the backward's row statistics
// are [N, H]. For each block b and head h, with s_ij = clamp(scale · <q_i, k_j>, −c, c) (no
// clamp when c ≤ 0) over the keys j of i's block (j ≤ i when g.causal):
//   out_i = Σ_j softmax_j(s_ij) v_j,   lse_i = log Σ_j exp(s_ij).
//
// Tiling: a task is (block, head, tile of kQueryTile query rows) in the forward pass and in the
// dq pass of the backward, (block, head, tile of kKeyTile key rows) in the dk/dv pass. A task
// walks over the other side's tiles with small GEMMs (Eigen, single-threaded: the build defines
// EIGEN_DONT_PARALLELIZE) and an online softmax (running row max and sum), so no score matrix
// larger than one kQueryTile × kKeyTile tile ever exists.
//
// Memory: besides the caller's arrays the kernels allocate only per-thread tile buffers
// (O(kQueryTile·kKeyTile + (kQueryTile + kKeyTile)·d) each), a task list (O(N / tile + blocks))
// and, in the backward pass, the [N, H] row statistic D_i = <dO_i, O_i>. No allocation depends
// on a block's length squared: memory is O(N·H·d) whatever the block lengths.
//
// Parallel strategy and determinism: OpenMP over tasks (dynamic schedule). Every output row
// (of out, lse, dq) and every key row (of dk, dv) is written by exactly one task, and a task's
// arithmetic is the same whichever thread runs it, so results are bit-identical for any thread
// count. No atomics.
//
// Edge cases: a zero-length block has no tasks; a block of length 1 gives out_i = v_i (its only
// key). Every query attends to at least itself, so the softmax denominator is never zero.
#pragma once
#include <cstdint>

#include "core/graph.hpp"

namespace locus::kernels {

// Query rows per forward / dq task and key rows per step (and per dk/dv task). A task's tiles
// (scores 128 × 256: 128 KiB in float, three of them in the dq pass; q/k/v/accumulator tiles of
// 32–64 KiB at d = 64) stay in a 1 MiB L2. Measured on a 2-core Zen 5 (d = 64, n = 4096, one
// thread, CPU time): 64 × 64 tiles reach ~70% of Eigen's 1024² float GEMM rate in the forward
// pass, 128 × 256 ~85–90% (fewer GEMM calls, each packing its operands, and longer softmax rows).
inline constexpr int64_t kAttnQueryTile = 128;
inline constexpr int64_t kAttnKeyTile = 256;

// out [N, H·d] = attention(q, k, v) (overwritten); lse [N, H] = per-row log-sum-exp of the
// (scaled, clamped) scores, kept for the backward pass.
template <class T>
void dense_attention_forward(const Dense& g, const T* q, const T* k, const T* v, int64_t heads, int64_t dim,
                             T scale, T clamp, T* out, T* lse);

// Accumulates (+=) the gradients of the loss w.r.t. q, k and v given dout = dL/dout, the
// forward's out and lse. Any of dq, dk, dv may be null (not wanted). FlashAttention-2 backward:
// scores are recomputed tile by tile from q, k and lse; with P = softmax, dP = dO·Vᵀ,
// dS = P ∘ (dP − D) (∘ the clamp's pass-through mask), D_i = <dO_i, O_i>:
//   dq = scale · dS·K (one pass over query tiles), dk = scale · dSᵀ·Q, dv = Pᵀ·dO (one pass over
// key tiles).
template <class T>
void dense_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* out, const T* dout,
                              const T* lse, int64_t heads, int64_t dim, T scale, T clamp, T* dq, T* dk, T* dv);

}  // namespace locus::kernels
