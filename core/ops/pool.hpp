// Per-graph pooling (readout) for a batch of many graphs: the rows of x are the nodes of all graphs,
// graph[i] names the graph of row i, and each graph's rows are reduced to one row (sum, mean or max),
// e.g. for graph-level classification and regression.
// Shapes are in the comments; each op checks them and throws ShapeError naming the op.
#pragma once
#include <cstdint>
#include <span>

#include "core/tape.hpp"

namespace locus::ops {

enum class Pool { Sum, Mean, Max };

// x [n, d], graph [n] with 0 ≤ graph[i] < num_graphs (any order) → [num_graphs, d]:
//   Sum:  out[g] = Σ_{i : graph[i] = g} x[i], summed in increasing i;   dx[i] = G[graph[i]]
//   Mean: out[g] = Sum[g] / count_g;                                      dx[i] = G[graph[i]] / count_g
//   Max:  out[g, c] = max_{i : graph[i] = g} x[i, c], at row a(g, c), the smallest such i attaining
//         it;                                                              dx[a(g, c), c] = G[g, c]
// A graph without rows gives a zero row and passes no gradient. Max with NaN: a NaN in a graph's
// column makes that entry NaN and its first NaN row the argmax (as torch.max).
// A stable counting sort of the rows by graph; each graph's row (forward) and each row of dx (backward)
// is written by one thread in a fixed order, in parallel when n · d ≥ 2^18: bit-identical for any
// thread count. graph is copied.
template <class T>
Var graph_pool(Tape<T>& t, Var x, std::span<const int32_t> graph, int64_t num_graphs, Pool kind);

}  // namespace locus::ops
