// Raw per-edge kernels (no autograd) for attention: per-head score terms lifted to edges
// (gsddmm add), softmax over each destination's in-edges and its backward, and per-edge sums
// back onto nodes. Edge values are [num_edge_slots, heads] row-major, indexed by Csr position
// or Dense edge id; on both topologies a destination's in-edges are one contiguous slot range
// (causal Dense rows stop at the diagonal; the slots above it are written as 0 and ignored).
#pragma once
#include <cstdint>

#include "core/graph.hpp"

namespace locus::kernels {

// e[p, h] (+)= a_src[s, h] + a_dst[d, h]   (a_src: [num_src, heads], a_dst: [num_dst, heads]); accumulate adds to e
template <class T>
void sddmm_add(GraphRef g, const T* a_src, const T* a_dst, int64_t heads, T* e, bool accumulate = false);

// out_dst[d, h] += Σ_{p into d} e[p, h];  out_src[s, h] += Σ_{p out of s} e[p, h] (either may be null)
template <class T>
void edge_sums(GraphRef g, const T* e, int64_t heads, T* out_dst, T* out_src);

// a[p, h] = exp(e[p, h] − m) / Σ_q exp(e[q, h] − m) over the in-edges q of p's destination
// (m their maximum). A destination without in-edges has no slots: nothing to write.
template <class T>
void edge_softmax(GraphRef g, const T* e, int64_t heads, T* a);

// de[p, h] += a[p, h] · (ga[p, h] − Σ_q a[q, h] ga[q, h])   (the softmax Jacobian, per row and head)
template <class T>
void edge_softmax_backward(GraphRef g, const T* a, const T* ga, int64_t heads, T* de);

// The fused GAT kernels keep per-head sums on the stack: at most this many heads.
inline constexpr int64_t kMaxFusedHeads = 64;

// GAT's attention on a Csr in one kernel (heads H ≤ kMaxFusedHeads, width F per head), per
// destination d and head h:
//   A[p, h] = softmax_{p into d}(LeakyReLU_slope(s_src[src p, h] + s_dst[d, h]))
//   D[p, h] = A[p, h] · keep[p, h],  keep = 1/(1 − drop) or 0 by Rng::uniform_at(key, p·H + h) ≥ drop
//             (ops::dropout's masks on an [E, H] matrix); D may be A when drop is 0 (no mask)
//   out[d, h·F:(h+1)·F] = Σ_p w_p D[p, h] z[src p, h·F:(h+1)·F]
// A, D: [E, H]; z: [num_src, H·F]; out: [num_dst, H·F] (written).
template <class T>
void gat_attention(const Csr& g, const T* z, const T* s_src, const T* s_dst, int64_t heads, int64_t dim, T slope,
                   double drop, uint64_t key, T* A, T* D, T* out);

// Its backward up to the score terms, given G = dL/dout: per edge dD = w_p <G[d, h], z[src p, h]>,
// dA = dD · keep (keep = D ≠ 0 ? keep_scale : 0; keep_scale 1 and D = A without dropout),
// de = A (dA − Σ_q A dA) over d's in-edges, and dpre = de · (pre > 0 ? 1 : slope) with
// pre = s_src[src p, h] + s_dst[d, h]; writes dpre [E, H] and adds Σ_p dpre into g_dst (may be null).
template <class T>
void gat_attention_scores_backward(const Csr& g, const T* G, const T* z, const T* s_src, const T* s_dst,
                                   const T* A, const T* D, int64_t heads, int64_t dim, T slope, T keep_scale, T* dpre,
                                   T* g_dst);

}  // namespace locus::kernels
