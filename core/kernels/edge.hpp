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

}  // namespace locus::kernels
