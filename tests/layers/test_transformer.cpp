// Transformer layer: gradients (double) with each norm option, Dense (fused attention) equal to
// the explicit Csr clique and to each block alone, and identity parameters.
#include <doctest/doctest.h>

#include "core/ops/basic.hpp"
#include "layers/transformer.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {
Csr test_graph() {
  std::vector<int32_t> src{0, 1, 2, 3, 4, 1, 2, 0, 5, 3};
  std::vector<int32_t> dst{1, 0, 1, 2, 3, 4, 0, 3, 2, 1};
  return transformer_graph(Csr::from_edges(6, src, dst));
}
}  // namespace

TEST_CASE("Transformer on Csr: gradients for every norm, pre/post norm, clamp, dropout") {
  const Csr g = test_graph();
  const MatD x = random_matrix(6, 4, 1), w = random_matrix(6, 4, 2);
  for (NormKind norm : {NormKind::None, NormKind::Layer, NormKind::Batch})
    for (bool pre : {false, true}) {
      TransformerOptions opt;
      opt.heads = 2;
      opt.norm = norm;
      opt.pre_norm = pre;
      opt.clamp = 0.8;  // some scores clamped, some not
      opt.dropout = 0.2;
      opt.attn_dropout = 0.3;
      Rng rng(3);
      ParamStore<double> store;
      TransformerLayer<double> layer(store, rng, "tr", 4, opt);
      for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);  // avoid ReLU kinks at zero biases
      auto f = [&](Tape<double>& t) { return ops::weighted_sum(t, layer.forward(t, GraphRef(g), t.constant(x), true, 9), w); };
      auto r = gradcheck_params(f, store);
      CHECK_MESSAGE(grad_mismatch(r).empty(), "norm ", static_cast<int>(norm), " pre ", pre, ": ", grad_mismatch(r));
    }
}

TEST_CASE("Transformer on Dense equals the explicit Csr clique; a batch equals each sentence alone") {
  std::vector<int64_t> lens{5, 3};
  const Dense d = Dense::blocks(lens);
  const Csr c = d.to_csr();
  TransformerOptions opt;
  opt.heads = 2;
  opt.clamp = 1.5;
  Rng rng(4);
  ParamStore<double> store;
  TransformerLayer<double> layer(store, rng, "tr", 6, opt);
  const MatD x = random_matrix(8, 6, 5), w = random_matrix(8, 6, 6);
  auto run = [&](GraphRef g, const MatD& xin, const MatD& win) {
    store.zero_grad();
    Tape<double> t;
    Var y = layer.forward(t, g, t.constant(xin), false, 0);
    MatD yv = t.value(y);
    t.backward(ops::weighted_sum(t, y, win));
    return std::pair{yv, std::vector<double>(store.grads().begin(), store.grads().end())};
  };
  auto [yd, gd] = run(GraphRef(d), x, w);
  auto [yc, gc] = run(GraphRef(c), x, w);
  CHECK((yd - yc).cwiseAbs().maxCoeff() < 1e-10);
  for (size_t i = 0; i < gd.size(); ++i) CHECK(gd[i] == doctest::Approx(gc[i]).epsilon(1e-9));
  const Dense a = Dense::complete(5), b = Dense::complete(3);
  auto [ya, ga] = run(GraphRef(a), x.topRows(5), w.topRows(5));
  auto [yb, gb] = run(GraphRef(b), x.bottomRows(3), w.bottomRows(3));
  CHECK((yd.topRows(5) - ya).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((yd.bottomRows(3) - yb).cwiseAbs().maxCoeff() < 1e-10);
  for (size_t i = 0; i < gd.size(); ++i) CHECK(gd[i] == doctest::Approx(ga[i] + gb[i]).epsilon(1e-9));
}

TEST_CASE("Transformer with zero output maps and no norm is the identity") {
  TransformerOptions opt;
  opt.heads = 2;
  opt.norm = NormKind::None;
  Rng rng(7);
  ParamStore<float> store;
  TransformerLayer<float> layer(store, rng, "tr", 4, opt);
  for (const auto& p : store.params())
    if (p.name.find(".o.") != std::string::npos || p.name.find(".ffn.1.") != std::string::npos)
      store.value(ParamId{static_cast<int>(&p - store.params().data())}).setZero();
  const Mat x = random_matrix(6, 4, 8).cast<float>();
  const Csr g = test_graph();
  const Dense d = Dense::complete(6);
  Tape<float> t;
  CHECK(Mat(t.value(layer.forward(t, GraphRef(g), t.constant(x), false, 0))) == x);
  CHECK(Mat(t.value(layer.forward(t, GraphRef(d), t.constant(x), false, 0))) == x);
}
