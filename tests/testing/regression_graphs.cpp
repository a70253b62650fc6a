#include "tests/testing/regression_graphs.hpp"

#include "core/rng.hpp"

namespace locus::testing {

Dataset edge_count_graphs(int32_t num_graphs, uint64_t seed) {
  Dataset d;
  d.name = "edge_counts";
  d.source = "test:edge_counts";
  d.task = Task::GraphRegression;
  d.num_targets = 2;
  Rng rng(seed);
  int32_t node = 0;
  for (int32_t g = 0; g < num_graphs; ++g) {
    const int32_t n = 5 + static_cast<int32_t>(rng.below(11));
    const double p = rng.uniform(0.15, 0.85);
    int64_t edges = 0;
    for (int32_t a = 0; a < n; ++a)
      for (int32_t b = a + 1; b < n; ++b)
        if (rng.uniform() < p) {
          d.src.push_back(node + a), d.dst.push_back(node + b), d.src.push_back(node + b), d.dst.push_back(node + a);
          ++edges;
        }
    d.graph_of.insert(d.graph_of.end(), static_cast<size_t>(n), g);
    d.graph_targets.push_back(static_cast<float>(edges) / 10.0f);
    d.graph_targets.push_back(static_cast<float>(n) / 10.0f);
    (g < num_graphs * 6 / 10 ? d.train_graphs : g < num_graphs * 8 / 10 ? d.val_graphs : d.test_graphs).push_back(g);
    node += n;
  }
  d.num_nodes = node;
  d.num_graphs = num_graphs;
  d.features.resize(node, 0);
  return d;
}

}  // namespace locus::testing
