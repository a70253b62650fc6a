// Differentiable message passing: gspmm over a Csr or Dense topology, and the product of a
// constant sparse feature matrix with a dense parameter. Backward of gspmm is gspmm on the
// reversed topology (for x) and a per-edge dot product (gsddmm, for edge values).
#pragma once
#include <memory>

#include <vector>

#include "core/graph.hpp"
#include "core/rng.hpp"
#include "core/tape.hpp"

namespace locus::ops {

enum class Reduce { Sum, Mean };

// out[d,:] = reduce_{s→d} w_e · x[s,:]   x: [num_src, dim] → [num_dst, dim]
// w_e = the graph's edge weight (Csr; 1 when absent) times edge[e] when `edge` is valid
// (edge: [num_edges, H] indexed by Csr position, or [num_edge_slots, H] by dense edge id).
// With H > 1 heads, x is [num_src, H·d] and head h's slice is weighted by edge[e, h].
// Mean divides by the number of in-edges; a destination without in-edges gets 0.
// The graph must outlive the tape's backward pass.
// On a partitioned graph (Csr::halo set) without `edge`, x holds the owned rows only
// ([num_dst, dim]): the halo rows are fetched while the owned part is multiplied, and in
// backward the halo's gradients go back to their owners. With `edge`, x must already span the
// sources (halo_extend). Every rank must make the same calls (dist::HaloExchange).
template <class T>
Var gspmm(Tape<T>& t, GraphRef g, Var x, Reduce reduce = Reduce::Sum, Var edge = Var{});

// Partitioned graph g: [x; halo rows of x]   x: [num_dst, dim] → [num_src, dim]. Backward adds
// the halo rows' gradients into their owners' rows. Without a halo, the identity.
template <class T>
Var halo_extend(Tape<T>& t, const Csr& g, Var x);

// The same over a graph the tape co-owns until its backward pass (graphs built per forward, e.g.
// GIR's hop graphs).
template <class T>
Var gspmm(Tape<T>& t, std::shared_ptr<const Csr> g, Var x, Reduce reduce = Reduce::Sum);

// x [n, f] (constant, sparse) · w [f, h] → [n, h]. x is shared with the backward closure.
template <class T>
Var spmm(Tape<T>& t, std::shared_ptr<const SpMatT<T>> x, Var w);

// Inverted dropout on the stored values of a sparse matrix (its pattern is kept; dropped
// values become 0). Counter-based from `key` at the value's position, like ops::dropout;
// nnz_start (one per row): row r's values sit at nnz_start[r] + k of a larger matrix (a
// partitioned rank's rows of the whole feature matrix).
template <class T>
SpMatT<T> sparse_dropout(const SpMatT<T>& x, double p, uint64_t key, const std::vector<int64_t>* nnz_start = nullptr);

}  // namespace locus::ops
