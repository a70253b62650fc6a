// Raw message-passing kernels (no autograd): generalized sparse-dense products over a Csr or a
// Dense topology. Parallel over destination rows with OpenMP; each row is reduced by one
// thread in a fixed order, so results are bit-identical for any thread count. No allocation.
#pragma once
#include <cstdint>

#include "core/graph.hpp"

namespace locus::kernels {

// out[d,:] (= or +=) Σ_{p in row d} w_p · x[indices[p], :]   (x: [num_src, dim], out: [num_dst, dim])
// w_p = (g.weights[p] or 1) · (edge_val[p'] or 1), p' = g.perm[p] when via_perm (reverse graphs
// index the forward graph's edge values), else p. A row with no in-edges gets 0 (or is untouched).
template <class T>
void spmm_csr(const Csr& g, const T* x, int64_t dim, const T* edge_val, bool via_perm, T* out,
              bool accumulate);

// out[d,:] (= or +=) Σ_{s in block(d)} ev(d,s) · x[s,:], ev from edge_val at the dense edge id
// (1 when null). transpose_ev reads ev(s,d) instead (the backward pass). Causal blocks sum
// s ≤ d (or s ≥ d when transposed).
template <class T>
void spmm_dense(const Dense& g, const T* x, int64_t dim, const T* edge_val, bool transpose_ev, T* out,
                bool accumulate);

// Multi-head forms. x: [num_src, heads·dim]; edge_val: [E, heads] (row p' as above); head h
// of out row d (= or +=) Σ_p w_p · edge_val[p', h] · x[s, h·dim : (h+1)·dim].
template <class T>
void spmm_csr_heads(const Csr& g, const T* x, int64_t heads, int64_t dim, const T* edge_val, bool via_perm,
                    T* out, bool accumulate);
// Dense: edge_val [num_edge_slots, heads]; transpose_ev as in spmm_dense.
template <class T>
void spmm_dense_heads(const Dense& g, const T* x, int64_t heads, int64_t dim, const T* edge_val,
                      bool transpose_ev, T* out, bool accumulate);

// val[p, h] (= or +=) w_p · <a[d, h·dim:], b[s, h·dim:]>   (a: [num_dst, heads·dim], b: [num_src, heads·dim])
template <class T>
void sddmm_dot_csr_heads(const Csr& g, const T* a_dst, const T* b_src, int64_t heads, int64_t dim, T* val,
                         bool accumulate);
// Dense: val[e(d, s), h]; causal slots above the diagonal are left untouched.
template <class T>
void sddmm_dot_dense_heads(const Dense& g, const T* a_dst, const T* b_src, int64_t heads, int64_t dim, T* val,
                           bool accumulate);

}  // namespace locus::kernels
