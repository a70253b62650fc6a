// GatedGCN (layers/gated_gcn.hpp): one layer against its formula written out edge by edge (hand-set
// A..E; no norm, BatchNorm in training and with running statistics), literal numbers on a path,
// the model of `gnn.layer_type gatedgcn` against the same formulas (edge state carried between
// layers), gradients in double, 1 and 2 threads bit-identical, training, registry and memory hook.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <span>
#include <sstream>

#include "apps/config.hpp"
#include "apps/layers_command.hpp"
#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "layers/gated_gcn.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"
#include "tests/testing/gradcheck.hpp"
#include "tests/testing/threads.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {

// 3 nodes: 0 → 1, 2 → 1, 1 → 0; node 2 has no in-edges. Csr positions: 0 (1→0), 1 (0→1), 2 (2→1).
Csr three_nodes() {
  std::vector<int32_t> src{0, 2, 1}, dst{1, 1, 0};
  return Csr::from_edges(3, src, dst);
}

// 6 nodes, directed edges, node 5 without in-edges (the graph of test_mp_layers).
Csr six_nodes() {
  std::vector<int32_t> src{0, 1, 2, 3, 4, 1, 2, 0, 5, 3};
  std::vector<int32_t> dst{1, 0, 1, 2, 3, 4, 0, 3, 2, 1};
  return Csr::from_edges(6, src, dst);
}

// The maps of one layer, y = x W + b (row vectors, as Linear).
struct Maps {
  MatD w[5];  // A, B, C, D, E   [d, d]
  MatD b[5];  // their biases    [1, d]
};

// ê [E, d] and h̃ [n, d] of one layer, edge by edge: ê_p = e_p C + h_i D + h_j E (+ biases) for
// position p = (j → i); h̃_i = h_i A + b_A + Σ_p σ_p ⊙ (h_j B + b_B) / (Σ_p σ_p + 1e-6).
std::pair<MatD, MatD> reference(const Csr& g, const Maps& m, const MatD& h, const MatD& e) {
  const int64_t n = h.rows(), d = h.cols();
  MatD e_hat(g.num_edges(), d), h_tilde(n, d);
  for (int64_t i = 0; i < n; ++i) {
    const MatD ah = h.row(i) * m.w[0] + m.b[0];
    MatD num = MatD::Zero(1, d), den = MatD::Zero(1, d);
    for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) {
      const int64_t j = g.indices[p];
      e_hat.row(p) = e.row(p) * m.w[2] + m.b[2] + h.row(i) * m.w[3] + m.b[3] + h.row(j) * m.w[4] + m.b[4];
      const MatD bh = h.row(j) * m.w[1] + m.b[1];
      for (int64_t c = 0; c < d; ++c) {
        const double s = 1.0 / (1.0 + std::exp(-e_hat(p, c)));
        num(0, c) += s * bh(0, c);
        den(0, c) += s;
      }
    }
    for (int64_t c = 0; c < d; ++c) h_tilde(i, c) = ah(0, c) + num(0, c) / (den(0, c) + 1e-6);
  }
  return {h_tilde, e_hat};
}

MatD relu(const MatD& x) { return x.cwiseMax(0.0); }

// Per-column standardisation over the rows with the biased variance (BatchNorm in training, γ = 1, β = 0).
MatD standardise(const MatD& x, MatD* mean = nullptr, MatD* var = nullptr) {
  const MatD mu = x.colwise().mean();
  const MatD centred = x.rowwise() - mu.row(0);
  const MatD v = centred.array().square().colwise().mean();
  if (mean) *mean = mu;
  if (var) *var = v;
  return (centred.array().rowwise() / (v.array() + 1e-5).sqrt().row(0)).matrix();
}

ParamId param(const ParamStore<double>& store, const std::string& name) { return locus::testing::param_named(store, name); }

// Copies a layer's A..E from the store (parameters NAME.A.weight, ...).
Maps maps_of(ParamStore<double>& store, const std::string& name) {
  Maps m;
  const char* names[5] = {".A", ".B", ".C", ".D", ".E"};
  for (int k = 0; k < 5; ++k) {
    m.w[k] = store.value(param(store, name + names[k] + ".weight"));
    m.b[k] = store.value(param(store, name + names[k] + ".bias"));
  }
  return m;
}

// Sets a layer's A..E in the store.
void set_maps(ParamStore<double>& store, const std::string& name, const Maps& m) {
  const char* names[5] = {".A", ".B", ".C", ".D", ".E"};
  for (int k = 0; k < 5; ++k) {
    store.value(param(store, name + names[k] + ".weight")) = m.w[k];
    store.value(param(store, name + names[k] + ".bias")) = m.b[k];
  }
}

Features<double> dense_in(Tape<double>& t, const MatD& x) { return Features<double>{t.constant(x), nullptr}; }

GnnSpec model_spec(const std::string& norm, int layers) {
  GnnSpec spec;
  spec.layer_type = "gatedgcn";
  spec.layers = layers;
  spec.in_dim = 4;
  spec.hidden = 5;
  spec.out_dim = 3;
  spec.norm = norm;
  spec.dropout = 0;
  return spec;
}

}  // namespace

TEST_CASE("GatedGCN layer: literal numbers on a 3-node graph (A = B = 1, C = D = E = 0)") {
  // d = 1, every ê = 0, σ = 1/2: h̃_0 = h_0 + (h_1/2) / (1/2 + 1e-6), h̃_1 = h_1 + (h_0 + h_2)/2 / (1 + 1e-6),
  // h̃_2 = h_2 (no in-edges); h' = h + ReLU(h̃), e' = e + ReLU(0) = e.
  const Csr g = three_nodes();
  Rng rng(1);
  ParamStore<double> store;
  GatedGcnOptions opt;
  opt.norm = NormKind::None;
  GatedGcnLayer<double> layer(store, rng, "g", 1, opt);
  Maps m;
  for (int k = 0; k < 5; ++k) m.w[k] = MatD::Constant(1, 1, k < 2 ? 1.0 : 0.0), m.b[k] = MatD::Zero(1, 1);
  set_maps(store, "g", m);
  const MatD h = (MatD(3, 1) << 1, 2, 3).finished();
  const MatD e = (MatD(3, 1) << 0.25, -0.5, 0.75).finished();
  Tape<double> t;
  const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(e), false, 0);
  const MatD ho = t.value(s.h), eo = t.value(s.e);
  CHECK(ho(0, 0) == doctest::Approx(1 + 1 + 1 / 0.500001).epsilon(1e-14));  // 3.999996000008
  CHECK(ho(1, 0) == doctest::Approx(2 + 2 + 2 / 1.000001).epsilon(1e-14));  // 5.999998000002
  CHECK(ho(2, 0) == 6.0);
  CHECK(ho(0, 0) == doctest::Approx(3.999996000008).epsilon(1e-12));
  CHECK(eo == e);
}

TEST_CASE("GatedGCN layer: one layer equals the formula with hand-set A..E (no norm, BatchNorm train and eval)") {
  const Csr g = three_nodes();
  const int64_t d = 2;
  Maps m;
  m.w[0] = (MatD(2, 2) << 1, 0, 0, 1).finished();         // A = I
  m.w[1] = (MatD(2, 2) << 2, -1, 0.5, 1).finished();      // B
  m.w[2] = (MatD(2, 2) << 0.5, 0, 0, -0.5).finished();    // C
  m.w[3] = (MatD(2, 2) << 1, 1, -1, 0).finished();        // D (destination)
  m.w[4] = (MatD(2, 2) << 0, -2, 1, 0.25).finished();     // E (source)
  m.b[0] = (MatD(1, 2) << 0.1, -0.2).finished();
  m.b[1] = (MatD(1, 2) << 0, 0.3).finished();
  m.b[2] = (MatD(1, 2) << -0.1, 0).finished();
  m.b[3] = (MatD(1, 2) << 0.2, 0.1).finished();
  m.b[4] = (MatD(1, 2) << 0, -0.3).finished();
  const MatD h = (MatD(3, 2) << 1, -1, 2, 0.5, -0.5, 3).finished();
  const MatD e = (MatD(3, 2) << 0.3, -0.7, 1.1, 0.2, -0.4, 0.9).finished();
  const auto [h_tilde, e_hat] = reference(g, m, h, e);
  // Position 2 is 2 → 1: ê = e_2 C + h_1 D + h_2 E + biases, by hand.
  //   e_2 C + b_C = (−0.2, −0.45) + (−0.1, 0);  h_1 D + b_D = (1.5, 2) + (0.2, 0.1);  h_2 E + b_E = (3, 1.75) + (0, −0.3)
  CHECK(e_hat(2, 0) == doctest::Approx(4.4).epsilon(1e-14));
  CHECK(e_hat(2, 1) == doctest::Approx(3.1).epsilon(1e-14));
  CHECK(h_tilde.row(2).isApprox(h.row(2) * m.w[0] + m.b[0]));  // no in-edges: A h_2 + b_A

  SUBCASE("no norm") {
    Rng rng(1);
    ParamStore<double> store;
    GatedGcnOptions opt;
    opt.norm = NormKind::None;
    GatedGcnLayer<double> layer(store, rng, "g", d, opt);
    set_maps(store, "g", m);
    Tape<double> t;
    const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(e), false, 0);
    CHECK((MatD(t.value(s.h)) - (h + relu(h_tilde))).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((MatD(t.value(s.e)) - (e + relu(e_hat))).cwiseAbs().maxCoeff() < 1e-14);
  }
  SUBCASE("BatchNorm: batch statistics in training, running statistics in evaluation") {
    Rng rng(1);
    ParamStore<double> store;
    GatedGcnOptions opt;
    opt.norm = NormKind::Batch;
    GatedGcnLayer<double> layer(store, rng, "g", d, opt);
    set_maps(store, "g", m);
    MatD mu_h, var_h, mu_e, var_e;
    const MatD bn_h = standardise(h_tilde, &mu_h, &var_h), bn_e = standardise(e_hat, &mu_e, &var_e);
    {
      Tape<double> t;
      const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(e), true, 0);
      CHECK((MatD(t.value(s.h)) - (h + relu(bn_h))).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((MatD(t.value(s.e)) - (e + relu(bn_e))).cwiseAbs().maxCoeff() < 1e-12);
    }
    // After one training call: running mean 0.1 μ, running variance 0.9 + 0.1 σ² · 3/2 (unbiased).
    auto running = [](const MatD& x, const MatD& mu, const MatD& var) {
      const MatD rm = 0.1 * mu, rv = (0.9 + 0.1 * 1.5 * var.array()).matrix();
      return MatD((x.rowwise() - rm.row(0)).array().rowwise() / (rv.array() + 1e-5).sqrt().row(0));
    };
    Tape<double> t;
    const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(e), false, 0);
    CHECK((MatD(t.value(s.h)) - (h + relu(running(h_tilde, mu_h, var_h)))).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((MatD(t.value(s.e)) - (e + relu(running(e_hat, mu_e, var_e)))).cwiseAbs().maxCoeff() < 1e-12);
    // Evaluation leaves the statistics as they were: the same output again.
    Tape<double> t2;
    CHECK(MatD(t2.value(layer.forward(t2, g, t2.constant(h), t2.constant(e), false, 0).h)) == MatD(t.value(s.h)));
  }
  SUBCASE("a last layer returns no edge state") {
    Rng rng(1);
    ParamStore<double> store;
    GatedGcnOptions opt;
    opt.norm = NormKind::Batch;
    opt.update_edges = false;
    GatedGcnLayer<double> layer(store, rng, "g", d, opt);
    CHECK(store.size() == 5 * (d * d + d) + 2 * d + 2 * d);  // A..E and the node norm only (gamma, beta; running mean, var)
    CHECK(store.num_trainable() == 5 * (d * d + d) + 2 * d);
    Tape<double> t;
    const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(e), true, 0);
    CHECK(!s.e.valid());
  }
}

TEST_CASE("GatedGCN model: encoder, edge state from a learned vector carried through the layers, head") {
  const Csr g = six_nodes();
  for (int layers : {1, 3}) {
    CAPTURE(layers);
    const GnnSpec spec = model_spec("none", layers);
    Rng rng(5);
    ParamStore<double> store;
    GnnClassifier<double> model(store, rng, spec, g);
    for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
    const MatD x = random_matrix(6, 4, 6);
    Tape<double> t;
    const MatD logp = t.value(model.forward(t, dense_in(t, x), false, 0));
    // The same by the formulas: h⁰ = x W_enc + b, e⁰ = W_e + b_e on every edge, the layers, the head.
    MatD h = x * MatD(store.value(param(store, "encoder.weight")));
    h.rowwise() += MatD(store.value(param(store, "encoder.bias"))).row(0);
    const MatD e_row = MatD(store.value(param(store, "edge_encoder.weight"))) + MatD(store.value(param(store, "edge_encoder.bias")));
    MatD e = e_row.replicate(g.num_edges(), 1);
    for (int l = 0; l < layers; ++l) {
      const auto [h_tilde, e_hat] = reference(g, maps_of(store, "layer" + std::to_string(l)), h, e);
      h = h + relu(h_tilde);
      e = e + relu(e_hat);
    }
    MatD z = h * MatD(store.value(param(store, "head.weight")));
    z.rowwise() += MatD(store.value(param(store, "head.bias"))).row(0);
    for (int64_t i = 0; i < z.rows(); ++i) {
      const double mx = z.row(i).maxCoeff();
      const double lse = mx + std::log((z.row(i).array() - mx).exp().sum());
      z.row(i).array() -= lse;
    }
    CHECK((logp - z).cwiseAbs().maxCoeff() < 1e-12);
    // Parameters: encoder, edge encoder, 5 maps per layer, head (no norm).
    CHECK(store.size() == (4 * 5 + 5) + 2 * 5 + layers * 5 * (25 + 5) + (5 * 3 + 3));
  }
}

TEST_CASE("GatedGCN model: gradients in double (dropout on, training) with BatchNorm, LayerNorm and no norm") {
  const Csr g = six_nodes();
  std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  const MatD x = random_matrix(6, 4, 11);
  for (const std::string norm : {"batch", "none", "layer"})
    for (int layers : {1, 2}) {
      CAPTURE(norm);
      CAPTURE(layers);
      GnnSpec spec = model_spec(norm, layers);
      spec.hidden = 4;
      spec.dropout = 0.3;
      Rng rng(10);
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, spec, g);
      // Random values for every parameter, away from zero biases (ReLU kinks where dropout zeroes rows).
      for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
      auto f = [&](Tape<double>& t) { return ops::nll_loss(t, model.forward(t, dense_in(t, x), true, 77), labels, train); };
      const auto r = gradcheck_params(f, store);
      CHECK(r.size() == static_cast<size_t>(store.size()));
      CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
      // Dropout is on: another key gives another loss.
      Tape<double> t1, t2;
      CHECK(t1.value(ops::nll_loss(t1, model.forward(t1, dense_in(t1, x), true, 77), labels, train))(0, 0) !=
            t2.value(ops::nll_loss(t2, model.forward(t2, dense_in(t2, x), true, 78), labels, train))(0, 0));
    }
}

TEST_CASE("GatedGCN model: training on 1 and 2 threads is bit-identical (parallel kernel paths)") {
  // 6000 nodes × 48 columns and ~48k edges: the row loops, norms and gspmm run in parallel.
  const int n = 6000, c = 4;
  Rng data(21);
  std::vector<int32_t> src, dst, labels(n), train_idx;
  for (int i = 0; i < 24000; ++i) {
    const auto a = static_cast<int32_t>(data.below(n)), b = static_cast<int32_t>(data.below(n));
    if (a == b) continue;
    src.insert(src.end(), {a, b});
    dst.insert(dst.end(), {b, a});
  }
  const Csr g = Csr::from_edges(n, src, dst);
  Mat x(n, 12);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(data.uniform(-1.0, 1.0));
  for (int i = 0; i < n; ++i) {
    labels[i] = static_cast<int32_t>(data.below(c));
    if (i % 2 == 0) train_idx.push_back(i);
  }
  auto train = [&](int threads) {
    return locus::testing::with_threads(threads, [&] {
      GnnSpec spec;
      spec.layer_type = "gatedgcn";
      spec.layers = 2;
      spec.in_dim = 12;
      spec.hidden = 48;
      spec.out_dim = c;
      spec.norm = "batch";
      spec.dropout = 0.2;
      Rng rng(3);
      ParamStore<float> store;
      GnnClassifier<float> model(store, rng, spec, g);
      Optimizer<float> opt({OptimKind::Adam, 0.01, 5e-4});
      for (int epoch = 0; epoch < 3; ++epoch) {
        Tape<float> t;
        store.zero_grad();
        t.backward(ops::nll_loss(t, model.forward(t, Features<float>{t.view(x), nullptr}, true, rng.next_key()), labels, train_idx));
        opt.step(store);
      }
      Tape<float> t;  // evaluation: the running statistics
      const Mat out = t.value(model.forward(t, Features<float>{t.view(x), nullptr}, false, 0));
      return std::pair{std::vector<float>(store.values().begin(), store.values().end()), out};
    });
  };
  const auto [p1, o1] = train(1);
  const auto [p2, o2] = train(2);
  REQUIRE(g.num_edges() * 48 >= (int64_t{1} << 18));
  CHECK(p1 == p2);
  CHECK(o1 == o2);
  CHECK(o1.allFinite());
}

TEST_CASE("GatedGCN model trains: the loss falls on a generated 3-block graph") {
  // Stochastic block model: 3 blocks of 30 nodes, p_in = 0.2, p_out = 0.02; features: the block's
  // one-hot scaled by 0.5 plus U(−1, 1) noise in 4 columns, so neighbours must be read.
  const int blocks = 3, per = 30, n = blocks * per;
  Rng data(8);
  std::vector<int32_t> src, dst, labels(n), train_idx;
  for (int a = 0; a < n; ++a)
    for (int b = a + 1; b < n; ++b)
      if (data.uniform(0.0, 1.0) < (a / per == b / per ? 0.2 : 0.02)) {
        src.insert(src.end(), {a, b});
        dst.insert(dst.end(), {b, a});
      }
  const Csr g = Csr::from_edges(n, src, dst);
  MatD x(n, 4);
  for (int i = 0; i < n; ++i) {
    labels[i] = i / per;
    if (i % 2 == 0) train_idx.push_back(i);
    for (int j = 0; j < 4; ++j) x(i, j) = data.uniform(-1.0, 1.0) + (j == labels[i] ? 0.5 : 0.0);
  }
  for (const std::string norm : {"batch", "none"}) {
    CAPTURE(norm);
    GnnSpec spec = model_spec(norm, 2);
    spec.hidden = 16;
    spec.dropout = 0.1;
    Rng rng(4);
    ParamStore<double> store;
    GnnClassifier<double> model(store, rng, spec, g);
    Optimizer<double> opt({OptimKind::Adam, 0.01, 0});
    auto eval_loss = [&](std::span<const int32_t> idx) {
      Tape<double> t;
      return t.value(ops::nll_loss(t, model.forward(t, dense_in(t, x), false, 0), labels, idx))(0, 0);
    };
    const double before = eval_loss(train_idx);
    for (int epoch = 0; epoch < 80; ++epoch) {
      Tape<double> t;
      store.zero_grad();
      t.backward(ops::nll_loss(t, model.forward(t, dense_in(t, x), true, rng.next_key()), labels, train_idx));
      opt.step(store);
    }
    const double after = eval_loss(train_idx);
    MESSAGE(norm, ": training loss ", before, " → ", after);
    CHECK(after < 0.3 * before);
    CHECK(after < 0.35);
    // Accuracy on every node (half of them unseen).
    Tape<double> t;
    const MatD logp = t.value(model.forward(t, dense_in(t, x), false, 0));
    int right = 0;
    for (int i = 0; i < n; ++i) {
      Eigen::Index k;
      logp.row(i).maxCoeff(&k);
      right += k == labels[i];
    }
    CHECK(right >= 0.8 * n);
  }
}

TEST_CASE("gatedgcn is registered: locus layers, config choices, topologies, memory estimate") {
  const LayerDescriptor* d = find_layer("gatedgcn");
  REQUIRE(d != nullptr);
  CHECK(d->csr);
  CHECK(!d->dense);
  CHECK(!d->distributed);
  CHECK(d->structure == Structure::Residual);
  CHECK(d->reads("gnn.norm"));
  const std::vector<std::string> names = layer_names();
  CHECK(std::find(names.begin(), names.end(), "gatedgcn") != names.end());
  std::ostringstream listing;
  print_layers(listing, false);
  CHECK(listing.str().find("gatedgcn") != std::string::npos);
  // The config accepts it with gnn.norm, and a misspelling is refused with a hint.
  const ExperimentConfig cfg = load_config("", {"dataset.name=karate", "gnn.layer_type=gatedgcn", "gnn.norm=batch"});
  CHECK(cfg.gnn.layer_type == "gatedgcn");
  CHECK(cfg.gnn.norm == "batch");
  CHECK_THROWS_WITH_AS(load_config("", {"dataset.name=karate", "gnn.layer_type=gatedgcm"}), doctest::Contains("gatedgcn"),
                       InputError);
  // Sentences are refused with the types that run on them.
  GnnSpec spec = model_spec("batch", 2);
  Rng rng(1);
  ParamStore<float> fs;
  CHECK_THROWS_WITH_AS(GnnClassifier<float>(fs, rng, spec, Dense::complete(4)), doctest::Contains("needs an edge-list graph"),
                       InputError);
  // The memory hook counts exactly the parameters the model holds (4 floats each with Adam's state).
  for (const std::string norm : {"batch", "none"})
    for (int layers : {1, 3}) {
      CAPTURE(norm);
      CAPTURE(layers);
      GnnSpec s = model_spec(norm, layers);
      s.in_dim = 30;
      s.hidden = 8;
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, s, six_nodes());
      GraphShape shape;
      shape.num_nodes = 1000;
      shape.num_edges = 8000;
      shape.feature_nnz = 3000;
      const MemoryEstimate est = estimate_training_memory(s, shape);
      double params = -1, edge_states = -1;
      for (const auto& i : est.items) {
        if (i.kind == "params") params = i.bytes;
        if (i.what.find("edge states") != std::string::npos) edge_states = i.bytes;
      }
      CHECK(params == doctest::Approx(4.0 * 4.0 * static_cast<double>(store.size())));
      // Edge values kept per layer (C e, ê, σ; and Norm, act, dropout mask, residual sum but in the
      // last layer), the encoder's state, ~3 gradients live in backward; 4 bytes each.
      CHECK(edge_states == doctest::Approx(4.0 * (8000.0 * 8 * (3 * layers + 5 * (layers - 1) + 1 + 3) + 8000)));
    }
}

TEST_CASE("GatedGCN layer: a graph without edges gives h + act(Norm(A h)) and an empty edge state") {
  Csr g;
  g.num_dst = g.num_src = 4;
  g.indptr.assign(5, 0);
  Rng rng(2);
  ParamStore<double> store;
  GatedGcnOptions opt;
  opt.norm = NormKind::Batch;
  GatedGcnLayer<double> layer(store, rng, "g", 3, opt);
  for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
  const Maps m = maps_of(store, "g");
  const MatD h = random_matrix(4, 3, 3);
  MatD ah = h * m.w[0];
  ah.rowwise() += m.b[0].row(0);
  MatD bn = standardise(ah);
  bn = (bn.array().rowwise() * MatD(store.value(param(store, "g.norm_h.gamma"))).array().row(0)).matrix();
  bn.rowwise() += MatD(store.value(param(store, "g.norm_h.beta"))).row(0);
  Tape<double> t;
  const GatedGcnState s = layer.forward(t, g, t.constant(h), t.constant(MatD(0, 3)), true, 0);
  CHECK((MatD(t.value(s.h)) - (h + relu(bn))).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(t.rows(s.e) == 0);
}
