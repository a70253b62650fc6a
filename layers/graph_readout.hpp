// The graph-level head of graph classification and regression: each graph's node representations
// pooled into one row (ops::graph_pool: sum, mean or max), then an MLP to the outputs (class logits,
// or the regression targets' values), as benchmarking-GNNs' MLPReadout (widths d → d/2 → d/4 →
// out, ReLU between, none after the last).
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "core/ops/pool.hpp"
#include "layers/linear.hpp"

namespace locus {

// gnn.readout's values, in the order of ops::Pool.
const std::vector<std::string>& readout_names();

template <class T>
class GraphReadout {
 public:
  // in: the node representations' width d; out: the classes or targets. The MLP's hidden widths halve from d
  // (at least 1 each).
  GraphReadout(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, ops::Pool pool);
  // h [n, d] of a batch, graph_of [n] in [0, num_graphs) → [num_graphs, out] (logits or values).
  Var forward(Tape<T>& t, Var h, std::span<const int32_t> graph_of, int64_t num_graphs) const;

 private:
  ops::Pool pool_;
  Mlp<T> mlp_;
};

}  // namespace locus
