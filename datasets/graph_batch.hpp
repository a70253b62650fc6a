// Mini-batches of graphs from a dataset of many graphs: a batch is the disjoint union of its
// graphs, one block-diagonal Csr plus the graph of each node, so every message-passing layer runs
// on it unchanged (no edge joins two graphs) and a readout (ops::graph_pool) pools it per graph.
// A sentence dataset is the complete-graph case: each sentence is a graph, a batch a Dense.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/graph.hpp"
#include "datasets/dataset.hpp"

namespace locus {

// Each graph's nodes and edges, found once per dataset: graph g holds the nodes at positions
// [node_ptr[g], node_ptr[g+1]) of `nodes` and the edges at [edge_ptr[g], edge_ptr[g+1]) of `edges`
// (indices into ds.src / ds.dst), both in increasing order. O(nodes + edges). On sentences graph g
// is sentence g (ds.blocks), a complete graph with no stored edges.
struct GraphIndex {
  std::vector<int64_t> node_ptr, edge_ptr;
  std::vector<int32_t> nodes;
  std::vector<int64_t> edges;
  std::vector<int32_t> local;  // node v's position in its graph's node list
  bool complete = false;       // sentences: every graph is complete (batches are Dense)
  int64_t num_graphs() const { return static_cast<int64_t>(node_ptr.size()) - 1; }
  int64_t num_nodes(int64_t g) const { return node_ptr[g + 1] - node_ptr[g]; }
};
// ds.has_graphs() or ds.is_sentences() must hold (ShapeError otherwise).
GraphIndex index_graphs(const Dataset& ds);

struct GraphBatch {
  std::vector<int32_t> graphs;    // the dataset's graph ids, in batch order (b = 0..B-1)
  std::vector<int32_t> nodes;     // the dataset node of each batch node: graph after graph, each in increasing id
  std::vector<int32_t> graph_of;  // b of each batch node (ops::graph_pool's ids)
  std::vector<int64_t> offset;    // batch graph b is batch nodes [offset[b], offset[b+1])
  Csr graph;                      // the union on batch node ids: graph b's edges, in the dataset's order
  Dense sentences;                // complete graphs (GraphIndex::complete): block b is graph b; graph is then empty
  bool complete = false;
  int64_t num_graphs() const { return static_cast<int64_t>(graphs.size()); }
  // What the layers run on: the Csr, or the Dense of a batch of sentences.
  GraphRef topology() const { return complete ? GraphRef(sentences) : GraphRef(graph); }
};
// The batch of `graphs` (distinct ids in [0, ds.num_graphs), any order), with the dataset's edge
// weights. ShapeError for a bad id.
GraphBatch make_batch(const Dataset& ds, const GraphIndex& index, std::span<const int32_t> graphs);

// Rows `nodes` of x, in that order: the batch's input features.
SpMat gather_feature_rows(const SpMat& x, std::span<const int32_t> nodes);

// One epoch's batches: `graphs` shuffled by a Fisher–Yates draw from `seed` (datasets/splits.hpp's
// generator, the same on every platform) and cut into consecutive batches of batch_size (the last
// one shorter). batch_size ≥ 1.
std::vector<std::vector<int32_t>> batch_order(std::span<const int32_t> graphs, int64_t batch_size, uint64_t seed);

}  // namespace locus
