// A batch of graphs (datasets/graph_batch.hpp: their disjoint union) gives, graph for graph, what
// each graph gives alone: for every registered layer type that runs on an edge list, the model's
// outputs (1e-12 in double) and the parameter gradients of a per-graph pooled loss (the batch's
// gradient is the sum of the graphs'), residual stacks (gnn.residual) included. Also the batch's
// layout and the epoch order of batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "core/ops/basic.hpp"
#include "core/ops/pool.hpp"
#include "datasets/graph_batch.hpp"
#include "datasets/graph_generators.hpp"
#include "layers/gnn.hpp"
#include "layers/registry.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::random_matrix;

namespace {

// 6 CLUSTER graphs (6 communities of 5–8 nodes each, so 30–48 nodes a graph), one-hot features.
Dataset small_cluster() {
  ClusterParams p;
  p.train_graphs = 4, p.val_graphs = 1, p.test_graphs = 1;
  p.min_size = 5, p.max_size = 8;
  p.seed = 3;
  return generate_cluster(p);
}

struct Run {
  MatD out;                   // the model's output rows
  std::vector<double> grads;  // every parameter's gradient, in store order
  std::vector<double> values;
};

// The model of `spec` built from Rng(7) on `g`, evaluated on x; loss Σ_b Σ_c mean_b(out)[c] · w[b][c].
Run run(const GnnSpec& spec, const Csr& g, const MatD& x, std::span<const int32_t> graph_of, int64_t graphs,
        const MatD& w) {
  Rng rng(7);
  ParamStore<double> store;
  GnnClassifier<double> model(store, rng, spec, g);
  Tape<double> t;
  store.zero_grad();
  const Var out = model.forward(t, Features<double>{t.constant(x), nullptr}, false, 11);
  const Var pooled = ops::graph_pool(t, out, graph_of, graphs, ops::Pool::Mean);
  t.backward(ops::weighted_sum(t, pooled, w));
  Run r;
  r.out = t.value(out);
  r.grads.assign(store.grads().data(), store.grads().data() + store.size());
  r.values.assign(store.values().data(), store.values().data() + store.size());
  return r;
}

}  // namespace

TEST_CASE("graph batches: layout, features and the epoch order") {
  const Dataset ds = small_cluster();
  const GraphIndex ix = index_graphs(ds);
  REQUIRE(ix.num_graphs() == 6);
  const std::vector<int32_t> pick{4, 1, 3};
  const GraphBatch b = make_batch(ds, ix, pick);
  CHECK(b.graphs == pick);
  CHECK(b.offset.size() == 4);
  int64_t edges = 0;
  for (size_t k = 0; k < pick.size(); ++k) {
    CHECK(b.offset[k + 1] - b.offset[k] == ix.num_nodes(pick[k]));
    edges += ix.edge_ptr[pick[k] + 1] - ix.edge_ptr[pick[k]];
    for (int64_t i = b.offset[k]; i < b.offset[k + 1]; ++i) {
      CHECK(b.graph_of[i] == static_cast<int32_t>(k));
      CHECK(ds.graph_of[b.nodes[i]] == pick[k]);
    }
  }
  CHECK(b.graph.num_edges() == edges);
  // Every batch edge joins two nodes of one graph, and maps back to a dataset edge.
  std::set<std::pair<int32_t, int32_t>> original;
  for (int64_t e = 0; e < ds.num_edges(); ++e) original.emplace(ds.src[e], ds.dst[e]);
  for (int64_t v = 0; v < b.graph.num_dst; ++v)
    for (int64_t p = b.graph.indptr[v]; p < b.graph.indptr[v + 1]; ++p) {
      const int32_t u = b.graph.indices[p];
      CHECK(b.graph_of[u] == b.graph_of[v]);
      CHECK(original.count({b.nodes[u], b.nodes[v]}) == 1);
    }
  const SpMat xb = gather_feature_rows(ds.features, b.nodes);
  const Mat xd(ds.features);
  CHECK(Mat(xb) == xd(std::vector<int64_t>(b.nodes.begin(), b.nodes.end()), Eigen::all));
  CHECK_THROWS_AS(make_batch(ds, ix, std::vector<int32_t>{6}), ShapeError);

  // Batches of an epoch: every graph once, sizes 4, 4, 2; the seed decides the order.
  const std::vector<int32_t> all{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto e1 = batch_order(all, 4, 1), e2 = batch_order(all, 4, 2);
  REQUIRE(e1.size() == 3);
  CHECK(e1[0].size() == 4);
  CHECK(e1[2].size() == 2);
  std::vector<int32_t> seen;
  for (const auto& batch : e1) seen.insert(seen.end(), batch.begin(), batch.end());
  std::sort(seen.begin(), seen.end());
  CHECK(seen == all);
  CHECK(e1 != e2);
  CHECK(e1 == batch_order(all, 4, 1));
}

TEST_CASE("every edge-list layer type: a batch gives each graph's outputs and the sum of their gradients") {
  const Dataset ds = small_cluster();
  const GraphIndex ix = index_graphs(ds);
  const std::vector<int32_t> pick{4, 1, 3};
  const GraphBatch b = make_batch(ds, ix, pick);
  const MatD x_all = Mat(ds.features).cast<double>();
  const MatD w = random_matrix(3, 3, 5);  // the loss weights per batch graph and output column
  int types = 0;
  for (const LayerDescriptor& d : layer_registry())
   for (const bool residual : {false, true}) {
    if (!d.csr || d.structure == Structure::AnchorOnly) continue;  // anchor models draw anchors per graph
    if (residual && d.structure != Structure::Stack) continue;    // gnn.residual: stacked types
    CAPTURE(d.name);
    CAPTURE(residual);
    ++types;
    GnnSpec spec;
    spec.layer_type = d.name;
    spec.residual = residual;  // with gnn.norm's default, LayerNorm (per node: batch-independent)
    spec.layers = 2;
    spec.in_dim = ds.num_features();
    spec.hidden = 4;
    spec.out_dim = 3;
    spec.att_heads = 2;
    const MatD xb = x_all(std::vector<int64_t>(b.nodes.begin(), b.nodes.end()), Eigen::all);
    const Run batch = run(spec, b.graph, xb, b.graph_of, b.num_graphs(), w);
    std::vector<double> summed(batch.grads.size(), 0.0);
    for (size_t k = 0; k < pick.size(); ++k) {
      const GraphBatch one = make_batch(ds, ix, std::vector<int32_t>{pick[k]});
      const MatD x1 = x_all(std::vector<int64_t>(one.nodes.begin(), one.nodes.end()), Eigen::all);
      const Run alone = run(spec, one.graph, x1, one.graph_of, 1, w.row(static_cast<Eigen::Index>(k)));
      REQUIRE(alone.values == batch.values);  // the same parameters, whatever the graph
      const MatD rows = batch.out.middleRows(b.offset[k], b.offset[k + 1] - b.offset[k]);
      CHECK((rows - alone.out).cwiseAbs().maxCoeff() <= 1e-12);
      for (size_t i = 0; i < summed.size(); ++i) summed[i] += alone.grads[i];
    }
    double worst = 0;
    for (size_t i = 0; i < summed.size(); ++i) worst = std::max(worst, std::abs(summed[i] - batch.grads[i]));
    CHECK(worst <= 1e-12);
    double norm = 0;
    for (const double gi : batch.grads) norm += gi * gi;
    CHECK(norm > 1e-6);  // the gradients are not all zero (the check above could not pass vacuously)
  }
  CHECK(types >= 12);  // gcn, sage, gin, gat, transformer, mlp, graphconv, gatedgcn; the stacked ones residual too
}
