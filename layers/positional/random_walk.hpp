// Random-walk structural encoding (RWSE): the probability that a simple random walk on the
// (unweighted, undirected, simple) graph returns to its start after k = 1..K steps.
#pragma once
#include <cstdint>

#include "core/graph.hpp"
#include "core/tensor.hpp"

namespace locus::pe {

struct RandomWalkOptions {
  // 0: exact. > 0: walk probabilities below drop_tol are discarded after each step (a lower bound
  // on every entry, for large expander-like graphs where the exact cost is O(n E), see below).
  double drop_tol = 0.0;
};

// out[v, k-1] = (P^k)_vv for P = D^-1 A, k = 1..K; [n, K]. Isolated nodes: 0 (no walk).
// Graph as in undirected_simple (no self loops, so column 0 is 0).
//
// Method: for each start node i (in parallel, one node per task, each thread with its own
// buffers, so the result is the same for every thread count) the walk distributions
// p_t = e_i^T P^t are propagated for t <= H = ceil(K/2) steps as sparse vectors, and
//   (P^k)_ii = sum_j (P^a)_ij (P^b)_ji = sum_j p_a(j) p_b(j) d_i / d_j,   a = floor(k/2), b = k - a,
// using reversibility d_j (P^b)_ji = d_i (P^b)_ij. Cost: sum over i of the edges leaving the
// H-hop ball around i, at most n * H * E (an expander's ball is the whole graph after a few hops:
// then use drop_tol); for sparse low-degree graphs (grids, meshes, molecules) about n * |ball|.
// Memory: (H + 1) * n doubles per thread.
Mat random_walk_pe(const Csr& g, int K, const RandomWalkOptions& opt = {});

}  // namespace locus::pe
