#include "datasets/graph_batch.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "datasets/splits.hpp"

namespace locus {

GraphIndex index_graphs(const Dataset& ds) {
  GraphIndex ix;
  if (ds.is_sentences()) {
    // Sentence b: the consecutive nodes [Σ_{c<b} len_c, Σ_{c≤b} len_c), no stored edges.
    ix.complete = true;
    ix.node_ptr.assign(1, 0);
    for (const int64_t len : ds.blocks) ix.node_ptr.push_back(ix.node_ptr.back() + len);
    check(ix.node_ptr.back() == ds.num_nodes, "index_graphs: the sentence lengths do not add up to the node count");
    ix.edge_ptr.assign(ix.node_ptr.size(), 0);
    ix.nodes.resize(static_cast<size_t>(ds.num_nodes));
    ix.local.resize(static_cast<size_t>(ds.num_nodes));
    for (size_t b = 0; b + 1 < ix.node_ptr.size(); ++b)
      for (int64_t v = ix.node_ptr[b]; v < ix.node_ptr[b + 1]; ++v) {
        ix.nodes[static_cast<size_t>(v)] = static_cast<int32_t>(v);
        ix.local[static_cast<size_t>(v)] = static_cast<int32_t>(v - ix.node_ptr[b]);
      }
    return ix;
  }
  check(ds.has_graphs() && static_cast<int64_t>(ds.graph_of.size()) == ds.num_nodes,
        "index_graphs: the dataset has no graph id per node");
  const int64_t g = ds.num_graphs;
  // Counting sorts by graph: stable, so each graph's nodes and edges stay in increasing order.
  auto bucket = [g](int64_t n, auto graph_of_item, std::vector<int64_t>& ptr, auto& items) {
    ptr.assign(static_cast<size_t>(g + 1), 0);
    for (int64_t i = 0; i < n; ++i) ++ptr[static_cast<size_t>(graph_of_item(i) + 1)];
    for (int64_t b = 0; b < g; ++b) ptr[static_cast<size_t>(b + 1)] += ptr[static_cast<size_t>(b)];
    items.resize(static_cast<size_t>(n));
    std::vector<int64_t> fill(ptr.begin(), ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      items[static_cast<size_t>(fill[static_cast<size_t>(graph_of_item(i))]++)] =
          static_cast<typename std::decay_t<decltype(items)>::value_type>(i);
  };
  bucket(ds.num_nodes, [&](int64_t v) { return ds.graph_of[static_cast<size_t>(v)]; }, ix.node_ptr, ix.nodes);
  bucket(ds.num_edges(), [&](int64_t e) { return ds.graph_of[static_cast<size_t>(ds.dst[static_cast<size_t>(e)])]; },
         ix.edge_ptr, ix.edges);
  ix.local.resize(static_cast<size_t>(ds.num_nodes));
  for (int64_t b = 0; b < g; ++b)
    for (int64_t p = ix.node_ptr[static_cast<size_t>(b)]; p < ix.node_ptr[static_cast<size_t>(b + 1)]; ++p)
      ix.local[static_cast<size_t>(ix.nodes[static_cast<size_t>(p)])] = static_cast<int32_t>(p - ix.node_ptr[static_cast<size_t>(b)]);
  return ix;
}

GraphBatch make_batch(const Dataset& ds, const GraphIndex& index, std::span<const int32_t> graphs) {
  GraphBatch b;
  b.graphs.assign(graphs.begin(), graphs.end());
  b.offset.push_back(0);
  int64_t edges = 0;
  for (const int32_t g : graphs) {
    check(g >= 0 && g < index.num_graphs(),
          "make_batch: graph " + std::to_string(g) + " is outside [0, " + std::to_string(index.num_graphs()) + ")");
    b.offset.push_back(b.offset.back() + index.num_nodes(g));
    edges += index.edge_ptr[g + 1] - index.edge_ptr[g];
  }
  const int64_t n = b.offset.back();
  b.nodes.reserve(static_cast<size_t>(n));
  b.graph_of.reserve(static_cast<size_t>(n));
  std::vector<int32_t> src, dst;
  std::vector<float> weight;
  src.reserve(static_cast<size_t>(edges)), dst.reserve(static_cast<size_t>(edges));
  const bool weighted = !ds.weight.empty();
  for (size_t k = 0; k < graphs.size(); ++k) {
    const int32_t g = graphs[k];
    const int32_t* first = index.nodes.data() + index.node_ptr[g];
    const int64_t count = index.num_nodes(g);
    b.nodes.insert(b.nodes.end(), first, first + count);
    b.graph_of.insert(b.graph_of.end(), static_cast<size_t>(count), static_cast<int32_t>(k));
    // A node's batch id: the graph's offset plus its position among the graph's nodes.
    auto local = [&](int32_t v) { return static_cast<int32_t>(b.offset[k] + index.local[static_cast<size_t>(v)]); };
    for (int64_t p = index.edge_ptr[g]; p < index.edge_ptr[g + 1]; ++p) {
      const auto e = static_cast<size_t>(index.edges[static_cast<size_t>(p)]);
      src.push_back(local(ds.src[e]));
      dst.push_back(local(ds.dst[e]));
      if (weighted) weight.push_back(ds.weight[e]);
    }
  }
  if (index.complete) {
    std::vector<int64_t> lengths(graphs.size());
    for (size_t k = 0; k < graphs.size(); ++k) lengths[k] = b.offset[k + 1] - b.offset[k];
    b.sentences = Dense::blocks(lengths);
    b.complete = true;
  }
  b.graph = Csr::from_edges(n, src, dst, weight);
  return b;
}

SpMat gather_feature_rows(const SpMat& x, std::span<const int32_t> nodes) {
  SpMat out(static_cast<Eigen::Index>(nodes.size()), x.cols());
  int64_t nnz = 0;
  for (const int32_t v : nodes)
    for (SpMat::InnerIterator it(x, v); it; ++it) ++nnz;
  out.reserve(nnz);
  for (size_t i = 0; i < nodes.size(); ++i) {
    out.startVec(static_cast<Eigen::Index>(i));
    for (SpMat::InnerIterator it(x, nodes[i]); it; ++it) out.insertBack(static_cast<Eigen::Index>(i), it.col()) = it.value();
  }
  out.finalize();
  return out;
}

std::vector<std::vector<int32_t>> batch_order(std::span<const int32_t> graphs, int64_t batch_size, uint64_t seed) {
  check(batch_size >= 1, "batch_order: batch_size must be at least 1, got " + std::to_string(batch_size));
  std::vector<int32_t> order(graphs.begin(), graphs.end());
  SplitRng rng(seed);
  shuffle_ids(order, rng);
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(batch_size))
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(i),
                     order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + static_cast<size_t>(batch_size))));
  return out;
}

}  // namespace locus
