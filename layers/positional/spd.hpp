// Shortest-path-distance (SPD) attention bias for a Transformer on a sparse graph, in the spirit
// of Graphormer but restricted to K hops: every node attends to the nodes within K hops of it
// (itself included), and each score gets a learnt per-head bias indexed by the hop distance.
#pragma once
#include <cstdint>
#include <vector>

#include "core/graph.hpp"

namespace locus::pe {

// graph: row d lists every node s with dist(s, d) ≤ max_dist in the undirected simple version of
// g (undirected_simple), d itself included, sorted by s; dist[p] is the hop distance of entry p
// (0 for the node itself). Cost: one BFS of depth max_dist per node, parallel over nodes.
struct HopGraph {
  Csr graph;
  std::vector<int32_t> dist;
};
HopGraph hop_graph(const Csr& g, int max_dist);

}  // namespace locus::pe
