// Differentiable per-edge ops for attention layers (GAT, Transformer) on Csr or Dense:
// lifting per-node score terms to edges (gsddmm add / dot), softmax over each destination's
// in-edges, per-node per-head dot products with a parameter, and GatedGCN's gated mean. Edge
// values are [num_edge_slots, H]: one row per Csr position or Dense edge id, one column per head.
#pragma once

#include <vector>

#include "core/graph.hpp"
#include "core/tape.hpp"

namespace locus::ops {

// e[p, h] = a_src[s, h] + a_dst[d, h]   a_src: [num_src, H], a_dst: [num_dst, H] → [slots, H];
// with `base` ([slots, H]), base[p, h] + that (GatedGCN's ê: one buffer instead of two).
template <class T>
Var gsddmm_add(Tape<T>& t, GraphRef g, Var a_src, Var a_dst, Var base = Var{});

// e[p, h] = w_p · <q[d, h·dim:], k[s, h·dim:]>   q: [num_dst, H·dim], k: [num_src, H·dim] → [slots, H]
template <class T>
Var gsddmm_dot(Tape<T>& t, GraphRef g, Var q, Var k, int64_t heads);

// Softmax over each destination's in-edges, per head: [slots, H] → [slots, H]. Destinations
// without in-edges have no slots (gspmm then gives them 0). Causal Dense slots above the
// diagonal are 0.
template <class T>
Var edge_softmax(Tape<T>& t, GraphRef g, Var e);

// Learnable per-class edge bias (e.g. shortest-path distance in a graph Transformer):
// out[p, h] = e[p, h] + table[h, cls[p]]   e: [E, H], table: [H, C], cls[p] in [0, C) → [E, H].
// Gradients flow to e and table (sum over the edges of each class, in edge order). `cls` must
// outlive the tape's backward pass.
template <class T>
Var edge_class_bias(Tape<T>& t, Var e, const std::vector<int32_t>& cls, Var table);

// GAT's attention in one op on a Csr (kernels::gat_attention): with z [num_src, H·F] and the score
// terms s_src [num_src, H], s_dst [num_dst, H],
//   out[d, h] = Σ_{p: s→d} w_p dropout(softmax_p(LeakyReLU_slope(s_src[s, h] + s_dst[d, h]))) z[s, h]
// → [num_dst, H·F]: the values of gsddmm_add, leaky_relu, edge_softmax, dropout (same masks for the
// same key) and gspmm, with one [E, H] buffer kept for backward (two with dropout) instead of five
// and their gradients. Gradients flow to z, s_src and s_dst.
template <class T>
Var gat_attention(Tape<T>& t, const Csr& g, Var z, Var s_src, Var s_dst, double slope, double drop, uint64_t key,
                  bool training);

// y[n, h] = Σ_j x[n, h·dim + j] · a[0, h·dim + j]   x: [n, H·dim], a: [1, H·dim] → [n, H]
template <class T>
Var head_dot(Tape<T>& t, Var x, Var a, int64_t heads);

// GatedGCN's gated mean (Bresson & Laurent 2017), per channel: with σ_p = sigmoid(ê_p) on edge p = j→i,
//   y_i = Σ_p σ_p ⊙ x_j / (Σ_p σ_p + eps)   x: [num_src, d], e_hat: [E, d] (Csr order) → [num_dst, d].
// One op instead of sigmoid, two gspmms and a ratio: only σ ([E, d]) is kept for backward. A destination
// without in-edges gets 0. The graph must be unweighted (gated_gcn_graph).
// Backward, with a_i = G_i / (den_i + eps) and b_i = −G_i ⊙ y_i / (den_i + eps):
//   dê_p += (a_i ⊙ x_j + b_i) ⊙ σ_p (1 − σ_p);   dx_j += Σ_{p out of j} σ_p ⊙ a_i.
template <class T>
Var gated_sum(Tape<T>& t, const Csr& g, Var x, Var e_hat, double eps);

}  // namespace locus::ops
