// gnn.residual (layers/gnn.hpp): a stack's layers as residual blocks h ← dropout(h + act(norm(layer(h))))
// between a Linear encoder and a Linear head. The model against the formula written out (GCN, no
// norm, then LayerNorm), gradients in double with dropout and each norm, GAT at heads × width, the
// config check for types that are residual already, the memory estimate's parameter count, and
// gnn.head=mlp and gnn.head=per_layer against their formulas.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "core/error.hpp"
#include "core/ops/loss.hpp"
#include "layers/gcn.hpp"
#include "layers/gnn.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::param_named;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {

// 6 nodes, undirected: a path 0-1-2-3-4 and 5 joined to 1 and 3.
Csr graph6() {
  std::vector<int32_t> src, dst;
  for (auto [a, b] : std::vector<std::pair<int32_t, int32_t>>{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {5, 1}, {5, 3}}) {
    src.insert(src.end(), {a, b});
    dst.insert(dst.end(), {b, a});
  }
  return Csr::from_edges(6, src, dst);
}

GnnSpec residual_spec(const std::string& type, const std::string& norm, int layers) {
  GnnSpec s;
  s.layer_type = type;
  s.residual = true;
  s.norm = norm;
  s.layers = layers;
  s.in_dim = 4;
  s.hidden = 5;
  s.out_dim = 3;
  s.dropout = 0;
  s.att_heads = 2;
  return s;
}

MatD value(ParamStore<double>& store, const std::string& name) { return store.value(param_named(store, name)); }

// Â as the layer stores it (its float weights, read exactly), dense.
MatD dense_a_hat(const Csr& g) {
  const Csr a = gcn_normalize(g);
  MatD d = MatD::Zero(a.num_dst, a.num_dst);
  for (int64_t v = 0; v < a.num_dst; ++v)
    for (int64_t p = a.indptr[v]; p < a.indptr[v + 1]; ++p) d(v, a.indices[p]) += a.weight(p);
  return d;
}

// x W + b with W = NAME.weight, b = NAME.bias.
MatD affine(ParamStore<double>& store, const std::string& name, const MatD& x) {
  MatD y = x * value(store, name + ".weight");
  y.rowwise() += value(store, name + ".bias").row(0);
  return y;
}

MatD log_softmax_rows(MatD z) {
  for (int64_t i = 0; i < z.rows(); ++i) {
    const double mx = z.row(i).maxCoeff();
    z.row(i).array() -= mx + std::log((z.row(i).array() - mx).exp().sum());
  }
  return z;
}

MatD layer_norm_rows(MatD y, const MatD& gamma, const MatD& beta) {
  for (int64_t i = 0; i < y.rows(); ++i) {
    const double mu = y.row(i).mean();
    const double var = (y.row(i).array() - mu).square().mean();
    y.row(i) = ((y.row(i).array() - mu) / std::sqrt(var + 1e-5)).matrix().cwiseProduct(gamma.row(0)) + beta.row(0);
  }
  return y;
}

// A residual GCN of `spec` on graph6 with parameters uniform in [-1, 1], its input x [6, 4], the
// evaluation output, and the nll loss of a training call (gradient checks).
struct RandomModel {
  Csr g = graph6();
  ParamStore<double> store;
  std::unique_ptr<GnnClassifier<double>> model;
  MatD x = random_matrix(6, 4, 9), logp;
  explicit RandomModel(const GnnSpec& spec) {
    Rng rng(8);
    model = std::make_unique<GnnClassifier<double>>(store, rng, spec, g);
    for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
    Tape<double> t;
    logp = t.value(model->forward(t, Features<double>{t.constant(x), nullptr}, false, 0));
  }
  std::string gradient_mismatch() {
    const std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 2, 3, 5};
    const auto r = gradcheck_params(
        [&](Tape<double>& tt) {
          return ops::nll_loss(tt, model->forward(tt, Features<double>{tt.constant(x), nullptr}, true, 3), labels, train);
        },
        store);
    return grad_mismatch(r);
  }
};

}  // namespace

TEST_CASE("gnn.residual: GCN blocks equal h + relu(norm(Â h W + b)) between the encoder and the head") {
  const Csr g = graph6();
  const MatD a_hat = dense_a_hat(g);
  for (const std::string norm : {"none", "layer"})
    for (int layers : {1, 3}) {
      CAPTURE(norm);
      CAPTURE(layers);
      const GnnSpec spec = residual_spec("gcn", norm, layers);
      Rng rng(5);
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, spec, g);
      for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
      const MatD x = random_matrix(6, 4, 6);
      Tape<double> t;
      const MatD logp = t.value(model.forward(t, Features<double>{t.constant(x), nullptr}, false, 0));
      MatD h = affine(store, "encoder", x);
      for (int l = 0; l < layers; ++l) {
        const std::string name = "layer" + std::to_string(l);
        MatD y = affine(store, name, a_hat * h);
        if (norm == "layer") y = layer_norm_rows(y, value(store, name + ".norm.gamma"), value(store, name + ".norm.beta"));
        h = h + y.cwiseMax(0.0);
      }
      CHECK((logp - log_softmax_rows(affine(store, "head", h))).cwiseAbs().maxCoeff() < 1e-12);
      // encoder 4 → 5, layers 5 → 5 (+ gamma, beta), head 5 → 3.
      CHECK(store.size() == (4 * 5 + 5) + layers * (5 * 5 + 5 + (norm == "none" ? 0 : 10)) + (5 * 3 + 3));
    }
}

TEST_CASE("gnn.head=mlp: the head is benchmarking-GNNs' MLPReadout d → d/2 → d/4 → out with ReLU between") {
  GnnSpec spec = residual_spec("gcn", "none", 2);
  spec.hidden = 12;
  spec.head = "mlp";
  RandomModel m(spec);
  ParamStore<double>& store = m.store;
  const MatD &x = m.x, &logp = m.logp;
  const MatD a_hat = dense_a_hat(m.g);
  MatD h = affine(store, "encoder", x);
  for (int l = 0; l < 2; ++l) h = h + affine(store, "layer" + std::to_string(l), a_hat * h).cwiseMax(0.0);
  const MatD z = affine(store, "head.2", affine(store, "head.1", affine(store, "head.0", h).cwiseMax(0.0)).cwiseMax(0.0));
  CHECK((logp - log_softmax_rows(z)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(value(store, "head.0.weight").cols() == 6);  // 12 / 2
  CHECK(value(store, "head.1.weight").cols() == 3);  // 12 / 4
  CHECK(value(store, "head.2.weight").cols() == 3);  // the classes
  CHECK(store.size() == (4 * 12 + 12) + 2 * (12 * 12 + 12) + (12 * 6 + 6) + (6 * 3 + 3) + (3 * 3 + 3));
  CHECK(head_params(spec, 12, 3) == (12 * 6 + 6) + (6 * 3 + 3) + (3 * 3 + 3));
  CHECK_MESSAGE(m.gradient_mismatch().empty(), m.gradient_mismatch());  // through the head, in double
  // Only residual structures have a head of their own.
  GnnSpec plain = spec;
  plain.residual = false;
  bool named = false;
  for (const auto& p : validate(plain)) named = named || p.key == "gnn.head";
  CHECK(named);
  spec.layer_type = "gatedgcn";
  spec.residual = false;
  CHECK(validate(spec).empty());
}

TEST_CASE("gnn.head=per_layer: the output sums a linear map of the encoder's and every layer's representation") {
  GnnSpec spec = residual_spec("gcn", "none", 2);
  spec.head = "per_layer";
  RandomModel m(spec);
  ParamStore<double>& store = m.store;
  const MatD &x = m.x, &logp = m.logp;
  const MatD a_hat = dense_a_hat(m.g);
  // log_softmax(Σ_l head_l(h_l)): h_0 the encoder's output, h_l = h_{l-1} + relu(Â h_{l-1} W_l + b_l).
  MatD h = affine(store, "encoder", x), z = affine(store, "head0", h);
  for (int l = 0; l < 2; ++l) {
    h = h + affine(store, "layer" + std::to_string(l), a_hat * h).cwiseMax(0.0);
    z += affine(store, "head" + std::to_string(l + 1), h);
  }
  CHECK((logp - log_softmax_rows(z)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(store.find("head.weight").index < 0);  // no single head
  CHECK(store.size() == (4 * 5 + 5) + 2 * (5 * 5 + 5) + 3 * (5 * 3 + 3));
  CHECK(head_params(spec, 5, 3) == 3 * (5 * 3 + 3));
  // The last layer's output is the embedding.
  Tape<double> te;
  CHECK((te.value(m.model->embed(te, Features<double>{te.constant(x), nullptr})) - h).cwiseAbs().maxCoeff() < 1e-12);
  CHECK_MESSAGE(m.gradient_mismatch().empty(), m.gradient_mismatch());
  // A fused anchor branch has one output map: refused by name.
  spec.position = "gir";
  bool named = false;
  for (const auto& p : validate(spec)) named = named || (p.key == "gnn.head" && p.problem.find("per_layer") != std::string::npos);
  CHECK(named);
}

TEST_CASE("gnn.residual: gradients in double for every stacked type, dropout on, each norm") {
  const Csr g = graph6();
  const std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  const MatD x = random_matrix(6, 4, 11);
  int types = 0;
  for (const LayerDescriptor& d : layer_registry()) {
    if (d.structure != Structure::Stack || !d.csr) continue;
    ++types;
    for (const std::string norm : {"batch", "layer", "none"}) {
      CAPTURE(d.name);
      CAPTURE(norm);
      GnnSpec spec = residual_spec(d.name, norm, 2);
      spec.dropout = 0.3;
      spec.att_dropout = 0;
      Rng rng(10);
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, spec, g);
      for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
      auto f = [&](Tape<double>& t) {
        return ops::nll_loss(t, model.forward(t, Features<double>{t.constant(x), nullptr}, true, 77), labels, train);
      };
      const auto r = gradcheck_params(f, store);
      CHECK(r.size() == static_cast<size_t>(store.size()));
      CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
    }
  }
  CHECK(types >= 5);  // gcn, sage, gin, gat, mlp, graphconv
}

TEST_CASE("gnn.residual: GAT runs at heads × width; the estimate counts the parameters the model holds (each head)") {
  const Csr g = graph6();
  for (const std::string type : {"gcn", "gat", "sage", "gin", "gatedgcn", "transformer"})
    for (const std::string norm : {"batch", "none"}) {
      CAPTURE(type);
      CAPTURE(norm);
      const bool stack = type != "gatedgcn" && type != "transformer";
      GnnSpec spec = residual_spec(type, norm, 2);
      spec.residual = stack;
      spec.head = norm == "batch" ? "mlp" : "linear";
      spec.in_dim = 30;
      if (type == "transformer") spec.hidden = 6;  // a multiple of the heads
      Rng rng(3);
      ParamStore<double> store;
      GnnClassifier<double> model(store, rng, spec, g);
      const int64_t width = type == "gat" ? spec.att_heads * spec.hidden : spec.hidden;
      if (stack) CHECK(value(store, "encoder.weight").cols() == width);
      CHECK(value(store, spec.head == "mlp" ? "head.0.weight" : "head.weight").rows() == width);
      GraphShape shape;
      shape.num_nodes = 1000;
      shape.num_edges = 8000;
      shape.feature_nnz = 3000;
      double params = -1;
      for (const auto& i : estimate_training_memory(spec, shape).items)
        if (i.kind == "params") params = i.bytes;
      CHECK(params == doctest::Approx(4.0 * 4.0 * static_cast<double>(store.size())));
    }
}

TEST_CASE("gnn.residual: refused for types that are residual already or have no stack") {
  for (const std::string type : {"transformer", "gatedgcn", "gir"}) {
    CAPTURE(type);
    GnnSpec spec = residual_spec(type, "layer", 2);
    const auto problems = validate(spec);
    bool named = false;
    for (const auto& p : problems) named = named || p.key == "gnn.residual";
    CHECK(named);
    CHECK_THROWS_WITH_AS(throw_if_invalid(spec), doctest::Contains("gnn.residual"), InputError);
  }
  CHECK(validate(residual_spec("gcn", "batch", 2)).empty());
}
