// A batch of graphs (datasets/graph_batch.hpp: their disjoint union) gives, graph for graph, what
// each graph gives alone: for every registered layer type that runs on an edge list, the model's
// outputs (1e-12 in double) and the parameter gradients of a per-graph pooled loss (the batch's
// gradient is the sum of the graphs'), residual stacks (gnn.residual) included. The same for
// sentences (each a complete graph, a batch a Dense) with every sequence encoding, through the
// batched model's set_graph. Also the batch's layout and the epoch order of batches.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/ops/basic.hpp"
#include "core/ops/pool.hpp"
#include "datasets/graph_batch.hpp"
#include "datasets/graph_generators.hpp"
#include "datasets/sentence.hpp"
#include "layers/gnn.hpp"
#include "layers/positional/anchors.hpp"
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

// A 2-layer model of `type` on in_dim features: hidden `hidden`, 3 outputs, 2 attention heads.
GnnSpec small_spec(const std::string& type, int64_t in_dim, int64_t hidden = 4) {
  GnnSpec spec;
  spec.layer_type = type;
  spec.layers = 2;
  spec.in_dim = in_dim;
  spec.hidden = hidden;
  spec.out_dim = 3;
  spec.att_heads = 2;
  return spec;
}

struct Run {
  MatD out;                   // the model's output rows
  std::vector<double> grads;  // every parameter's gradient, in store order
  std::vector<double> values;
};

// Evaluates `model` (its parameters in `store`) on x; loss Σ_b Σ_c mean_b(out)[c] · w[b][c].
Run evaluate(ParamStore<double>& store, const GnnClassifier<double>& model, const MatD& x,
             std::span<const int32_t> graph_of, int64_t graphs, const MatD& w) {
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

// The model of `spec` built from Rng(7) on `g`.
Run run(const GnnSpec& spec, const Csr& g, const MatD& x, std::span<const int32_t> graph_of, int64_t graphs,
        const MatD& w) {
  Rng rng(7);
  ParamStore<double> store;
  GnnClassifier<double> model(store, rng, spec, g);
  return evaluate(store, model, x, graph_of, graphs, w);
}

// The outputs on x (evaluation, key 11) of the model of `spec` built from Rng(7) directly on
// `topology`, unbatched: what a batched model must give after set_graph(topology).
template <class Topology>
MatD direct_outputs(const GnnSpec& spec, const Topology& topology, const MatD& x) {
  Rng rng(7);
  ParamStore<double> store;
  GnnClassifier<double> model(store, rng, spec, topology);
  Tape<double> t;
  return t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 11));
}

// A batched model (spec.batched: built on an empty Dense, then set_graph) on the sentences `b`.
Run run_sentences(const GnnSpec& spec, const GraphBatch& b, const MatD& x, const MatD& w) {
  Rng rng(7);
  ParamStore<double> store;
  GnnSpec batched = spec;
  batched.batched = true;
  GnnClassifier<double> model(store, rng, batched, Dense::blocks(std::vector<int64_t>{}));
  model.set_graph(b.topology());
  return evaluate(store, model, x, b.graph_of, b.num_graphs(), w);
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
   for (const int variant : {0, 1, 2, 3}) {
    const bool residual = variant == 1 || variant == 3, spd = variant == 2, per_layer = variant == 3;
    if (!d.csr || d.structure == Structure::AnchorOnly) continue;  // anchor models draw anchors per graph
    if (residual && d.structure != Structure::Stack) continue;    // gnn.residual: stacked types
    if (spd && d.name != "transformer") continue;                 // posenc_SPD: the transformer's hop graph
    CAPTURE(d.name);
    CAPTURE(residual);
    CAPTURE(spd);
    CAPTURE(per_layer);
    ++types;
    GnnSpec spec = small_spec(d.name, ds.num_features());
    spec.residual = residual;  // with gnn.norm's default, LayerNorm (per node: batch-independent)
    if (per_layer) spec.head = "per_layer";
    spec.posenc.spd = spd;
    spec.posenc.spd_max_dist = 3;
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
  CHECK(types >= 19);  // gcn, sage, gin, gat, transformer, mlp, graphconv, gatedgcn; the stacked ones residual
                       // too, with a linear and a per-layer head; the transformer with SPD
}

TEST_CASE("sentences: a batch of sentences is a Dense of their blocks and gives each sentence's outputs and gradients") {
  SentenceParams sp;
  sp.sentences = 10, sp.length = 9, sp.min_length = 3, sp.test_length = 12, sp.seed = 4;
  const Dataset ds = sentence_lengthgen(sp);
  const GraphIndex ix = index_graphs(ds);
  REQUIRE(ix.complete);
  REQUIRE(ix.num_graphs() == 10);
  const std::vector<int32_t> pick{8, 2, 5};  // a test sentence (length 12) and two shorter ones
  const GraphBatch b = make_batch(ds, ix, pick);
  REQUIRE(b.complete);
  REQUIRE(b.topology().dense == &b.sentences);
  CHECK(b.graph.num_edges() == 0);
  int64_t first = 0;
  for (size_t k = 0; k < pick.size(); ++k) {
    CHECK(b.sentences.block_len(static_cast<int64_t>(k)) == ds.blocks[pick[k]]);
    CHECK(b.sentences.offsets[k] == b.offset[k]);
    const int64_t start = std::accumulate(ds.blocks.begin(), ds.blocks.begin() + pick[k], int64_t{0});
    for (int64_t i = 0; i < ds.blocks[pick[k]]; ++i) CHECK(b.nodes[first + i] == start + i);  // sentence order kept
    first += ds.blocks[pick[k]];
  }
  const MatD x_all = Mat(ds.features).cast<double>();
  const MatD w = random_matrix(3, 3, 5);
  const MatD xb = x_all(std::vector<int64_t>(b.nodes.begin(), b.nodes.end()), Eigen::all);
  int cases = 0;
  for (const LayerDescriptor& d : layer_registry())
    for (const char* kind : {"none", "sinusoidal", "learned", "fourier", "cape", "rope", "t5_bias", "fft_kernel"}) {
      if (!d.dense) continue;
      const std::string k = kind, name = d.name;
      if (name != "transformer" && (k == "rope" || k == "t5_bias" || k == "fft_kernel")) continue;  // attention options
      CAPTURE(name);
      CAPTURE(k);
      ++cases;
      GnnSpec spec = small_spec(name, ds.num_features(), 8);
      spec.posenc.seq = kind;
      spec.posenc.seq_dim = 4;
      const Run batch = run_sentences(spec, b, xb, w);
      // The unbatched model built on the batch's Dense gives the same: set_graph rebuilds what the
      // constructor would.
      CHECK(direct_outputs(spec, b.sentences, xb) == batch.out);
      std::vector<double> summed(batch.grads.size(), 0.0);
      for (size_t j = 0; j < pick.size(); ++j) {
        const GraphBatch one = make_batch(ds, ix, std::vector<int32_t>{pick[j]});
        const MatD x1 = x_all(std::vector<int64_t>(one.nodes.begin(), one.nodes.end()), Eigen::all);
        const Run alone = run_sentences(spec, one, x1, w.row(static_cast<Eigen::Index>(j)));
        REQUIRE(alone.values == batch.values);
        const MatD rows = batch.out.middleRows(b.offset[j], b.offset[j + 1] - b.offset[j]);
        CHECK((rows - alone.out).cwiseAbs().maxCoeff() <= 1e-12);
        for (size_t i = 0; i < summed.size(); ++i) summed[i] += alone.grads[i];
      }
      double worst = 0, norm = 0;
      for (size_t i = 0; i < summed.size(); ++i) worst = std::max(worst, std::abs(summed[i] - batch.grads[i]));
      for (const double gi : batch.grads) norm += gi * gi;
      CHECK(worst <= 1e-12);
      CHECK(norm > 1e-6);
    }
  CHECK(cases >= 13);  // transformer × 8 encodings, gat and mlp × 5
}

TEST_CASE("posenc_SPD on many graphs: the batched transformer's hop graph follows each batch") {
  const Dataset ds = small_cluster();
  const GraphIndex ix = index_graphs(ds);
  const MatD x_all = Mat(ds.features).cast<double>();
  GnnSpec spec = small_spec("transformer", ds.num_features());
  spec.posenc.spd = true;
  spec.posenc.spd_max_dist = 2;
  GnnSpec batched = spec;
  batched.batched = true;
  Rng rng(7);
  ParamStore<double> store;
  GnnClassifier<double> model(store, rng, batched, make_batch(ds, ix, {}).graph);
  for (const std::vector<int32_t>& pick : {std::vector<int32_t>{0, 5}, std::vector<int32_t>{3, 1, 2}}) {
    const GraphBatch b = make_batch(ds, ix, pick);
    model.set_graph(b.graph);
    const MatD xb = x_all(std::vector<int64_t>(b.nodes.begin(), b.nodes.end()), Eigen::all);
    Tape<double> t;
    const MatD got = t.value(model.forward(t, Features<double>{t.constant(xb), nullptr}, false, 11));
    CHECK(got == direct_outputs(spec, b.graph, xb));  // the model built on this batch: the reference
  }
}

TEST_CASE("posenc_Anchor and posenc_AnchorInd on many graphs: each graph draws its own sets, in any batch as alone") {
  const Dataset ds = small_cluster();
  const GraphIndex ix = index_graphs(ds);
  const MatD x_all = Mat(ds.features).cast<double>();
  const std::vector<int32_t> pick{4, 1, 3};
  const GraphBatch b = make_batch(ds, ix, pick);
  const MatD xb = x_all(std::vector<int64_t>(b.nodes.begin(), b.nodes.end()), Eigen::all);
  const MatD w = random_matrix(3, 3, 5);
  int cases = 0;
  for (const char* type : {"gcn", "transformer"})
    for (const int cutoff : {-1, 1}) {
      CAPTURE(type);
      CAPTURE(cutoff);
      ++cases;
      GnnSpec spec = small_spec(type, ds.num_features());
      spec.posenc.anchor = spec.posenc.indication = true;
      spec.posenc.anchor_sizes = 3;  // sets of up to 24, 12, 6 nodes: the small graphs' clamped sizes differ
      spec.posenc.indication_sizes = 2;
      spec.posenc.anchor_dim = 4;
      spec.posenc.anchor_cutoff = cutoff;
      spec.posenc_seed = 1234;
      spec.dropout = spec.att_dropout = 0;  // training calls differ by their anchor sets alone
      spec.posenc_select = Toggle::Off;       // as on many graphs: no plain path, sets resampled in training
      GnnSpec batched = spec;
      batched.batched = true;
      Rng rng(7);
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, batched, make_batch(ds, ix, {}).graph);
      CHECK(model.posenc_dim() == 4 + 4);  // dim_pe anchor columns and 2² indication columns
      pe::BatchRows rows;
      rows.offset = b.offset;
      rows.graphs = b.graphs;
      model.set_graph(b.graph, rows);
      const Run batch = evaluate(store, model, xb, b.graph_of, b.num_graphs(), w);
      Tape<double> tt;  // training draws fresh sets per graph from the call's key (dropout off)
      CHECK((tt.value(model.forward(tt, Features<double>{tt.constant(xb), nullptr}, true, 21)) - batch.out)
                .cwiseAbs()
                .maxCoeff() > 1e-6);
      // The positional columns of a training call: graph g's sets from graph_anchor_seed(key, g).
      const pe::PosEncSpec pes = resolve_posenc(spec);
      Rng prng(8);
      ParamStore<double> pstore;
      pe::PositionalInputs<double> pos(pstore, prng, pes, GraphRef(make_batch(ds, ix, {}).graph), 1234);
      pos.set_batch(b.graph, rows);
      const MatD trained = tt.value(pos.forward(tt, true, 21));
      std::vector<double> summed(batch.grads.size(), 0.0);
      for (size_t k = 0; k < pick.size(); ++k) {
        const GraphBatch one = make_batch(ds, ix, std::vector<int32_t>{pick[k]});
        const MatD x1 = x_all(std::vector<int64_t>(one.nodes.begin(), one.nodes.end()), Eigen::all);
        // Graph g alone, with the seed it has in a batch: its evaluation sets and its outputs.
        GnnSpec alone_spec = spec;
        alone_spec.posenc_seed = pe::graph_anchor_seed(spec.posenc_seed, pick[k]);
        Rng rng1(7);
        ParamStore<double> store1;
        GnnClassifier<double> alone_model(store1, rng1, alone_spec, one.graph);
        const Run alone = evaluate(store1, alone_model, x1, one.graph_of, 1, w.row(static_cast<Eigen::Index>(k)));
        REQUIRE(alone.values == batch.values);
        const auto span = [&](const MatD& m) { return m.middleRows(b.offset[k], b.offset[k + 1] - b.offset[k]); };
        CHECK((span(batch.out) - alone.out).cwiseAbs().maxCoeff() <= 1e-12);
        for (size_t i = 0; i < summed.size(); ++i) summed[i] += alone.grads[i];
        Rng prng1(8);
        ParamStore<double> pstore1;
        const pe::PositionalInputs<double> pos1(pstore1, prng1, pes, GraphRef(one.graph), alone_spec.posenc_seed);
        Tape<double> t1;
        CHECK((span(trained) - t1.value(pos1.forward(t1, true, pe::graph_anchor_seed(21, pick[k])))).cwiseAbs().maxCoeff() <= 1e-12);
      }
      double worst = 0;
      for (size_t i = 0; i < summed.size(); ++i) worst = std::max(worst, std::abs(summed[i] - batch.grads[i]));
      CHECK(worst <= 1e-12);
      // The cached evaluation rows (train/graph_posenc.hpp) are what the model draws itself.
      pe::BatchRows cached = rows;
      cached.anchor = Mat(b.graph.num_dst, 9);
      for (size_t k = 0; k < pick.size(); ++k) {
        const GraphBatch one = make_batch(ds, ix, std::vector<int32_t>{pick[k]});
        cached.anchor.middleRows(b.offset[k], one.graph.num_dst) =
            pe::anchor_distances(one.graph, pe::sample_anchor_sets(one.graph.num_dst, pe::graph_anchor_seed(1234, pick[k]), 3, 3),
                                 cutoff).value;
      }
      model.set_graph(b.graph, cached);
      CHECK(evaluate(store, model, xb, b.graph_of, b.num_graphs(), w).out == batch.out);
    }
  CHECK(cases == 4);
}
