// A dataset of many graphs for graph regression tests, where the targets are learnable graph
// properties: random graphs of 5–15 nodes (G(n, p), p uniform in [0.15, 0.85]), no features, and
// two targets per graph, |E| / 10 (undirected edges) and n / 10 (nodes). A GNN with a sum readout
// sees both (Σ_v deg(v) = 2|E|, Σ_v 1 = n); a model that predicts one value for every graph cannot.
#pragma once
#include <cstdint>

#include "datasets/dataset.hpp"

namespace locus::testing {

// num_graphs graphs from `seed`; graphs split by id: the first 60 % train, the next 20 % val, the
// rest test.
Dataset edge_count_graphs(int32_t num_graphs, uint64_t seed);

}  // namespace locus::testing
