// SAGE, GIN and GAT: parameter gradients (double), identity parameters, the dense formulas,
// and GAT on Dense equal to GAT on the explicit Csr clique.
#include <doctest/doctest.h>

#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "layers/gat.hpp"
#include "layers/gin.hpp"
#include "layers/gnn.hpp"
#include "layers/registry.hpp"
#include "layers/sage.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {
// 6 nodes, directed edges, node 5 without in-edges.
Csr test_graph() {
  std::vector<int32_t> src{0, 1, 2, 3, 4, 1, 2, 0, 5, 3};
  std::vector<int32_t> dst{1, 0, 1, 2, 3, 4, 0, 3, 2, 1};
  return Csr::from_edges(6, src, dst);
}
MatD dense_adj(const Csr& g) {
  MatD a = MatD::Zero(g.num_dst, g.num_src);
  for (int64_t d = 0; d < g.num_dst; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) a(d, g.indices[p]) += 1.0;
  return a;
}
Features<double> dense_in(Tape<double>& t, const MatD& x) { return Features<double>{t.constant(x), nullptr}; }
}  // namespace

TEST_CASE("SAGE equals W_l mean(neighbours) + W_r x + b, both product orders, and has correct gradients") {
  const Csr g = test_graph();
  MatD a = dense_adj(g);
  for (int64_t d = 0; d < a.rows(); ++d)
    if (a.row(d).sum() > 0) a.row(d) /= a.row(d).sum();
  for (auto [in, out] : {std::pair<int64_t, int64_t>{5, 3}, {2, 4}}) {
    Rng rng(1);
    ParamStore<double> store;
    SageConv<double> conv(store, rng, "sage", in, out);
    store.value(ParamId{1}) = random_matrix(1, out, 2);
    const MatD x = random_matrix(6, in, 3);
    Tape<double> t;
    MatD y = t.value(conv.forward(t, g, dense_in(t, x)));
    MatD expect = a * x * store.value(ParamId{0}) + x * store.value(ParamId{2});
    expect.rowwise() += store.value(ParamId{1}).row(0);
    CHECK((y - expect).cwiseAbs().maxCoeff() < 1e-12);
    const MatD w = random_matrix(6, out, 4);
    auto r = gradcheck_params([&](Tape<double>& t) { return ops::weighted_sum(t, conv.forward(t, g, dense_in(t, x)), w); },
                              store);
    CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
  }
}

TEST_CASE("GIN equals MLP((1+eps) x + A x) and has correct gradients (eps included)") {
  const Csr g = test_graph();
  Rng rng(5);
  ParamStore<double> store;
  GinConv<double> conv(store, rng, "gin", 4, 3);
  store.value(conv.eps()) << 0.3;
  const MatD x = random_matrix(6, 4, 6);
  Tape<double> t;
  MatD y = t.value(conv.forward(t, g, dense_in(t, x)));
  // Parameters in registration order: eps, W1, b1, W2, b2.
  MatD h = (1.3 * x + dense_adj(g) * x) * store.value(ParamId{1});
  h.rowwise() += store.value(ParamId{2}).row(0);
  MatD expect = h.cwiseMax(0.0) * store.value(ParamId{3});
  expect.rowwise() += store.value(ParamId{4}).row(0);
  CHECK((y - expect).cwiseAbs().maxCoeff() < 1e-12);
  const MatD w = random_matrix(6, 3, 7);
  auto r = gradcheck_params([&](Tape<double>& t) { return ops::weighted_sum(t, conv.forward(t, g, dense_in(t, x)), w); },
                            store);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
}

TEST_CASE("GAT: gradients with concat and mean heads, dropout on and off") {
  const Csr g = gat_graph(test_graph());
  for (bool concat : {true, false}) {
    Rng rng(8);
    ParamStore<double> store;
    GatOptions opt;
    opt.heads = 3;
    opt.concat = concat;
    opt.attn_dropout = 0.3;
    GatConv<double> conv(store, rng, "gat", 4, 2, opt);
    const MatD x = random_matrix(6, 4, 9);
    const MatD w = random_matrix(6, conv.out_dim(), 10);
    for (bool training : {false, true}) {
      auto r = gradcheck_params(
          [&](Tape<double>& t) { return ops::weighted_sum(t, conv.forward(t, GraphRef(g), dense_in(t, x), training, 42), w); },
          store);
      CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
    }
  }
}

TEST_CASE("GAT on Dense equals GAT on the explicit Csr clique; batched equals each block alone") {
  std::vector<int64_t> lens{4, 3};
  const Dense d = Dense::blocks(lens);
  const Csr c = d.to_csr();
  Rng rng(11);
  ParamStore<double> store;
  GatOptions opt;
  opt.heads = 2;
  GatConv<double> conv(store, rng, "gat", 5, 3, opt);
  const MatD x = random_matrix(7, 5, 12), w = random_matrix(7, 6, 13);
  auto run = [&](GraphRef g, const MatD& xin, const MatD& win) {
    store.zero_grad();
    Tape<double> t;
    Var y = conv.forward(t, g, dense_in(t, xin), false, 0);
    MatD yv = t.value(y);
    t.backward(ops::weighted_sum(t, y, win));
    return std::pair{yv, std::vector<double>(store.grads().begin(), store.grads().end())};
  };
  auto [yd, gd] = run(GraphRef(d), x, w);
  auto [yc, gc] = run(GraphRef(c), x, w);
  CHECK((yd - yc).cwiseAbs().maxCoeff() < 1e-12);
  for (size_t i = 0; i < gd.size(); ++i) CHECK(gd[i] == doctest::Approx(gc[i]).epsilon(1e-10));
  // Each block alone.
  const Dense first = Dense::complete(4), second = Dense::complete(3);
  auto [y1, g1] = run(GraphRef(first), x.topRows(4), w.topRows(4));
  auto [y2, g2] = run(GraphRef(second), x.bottomRows(3), w.bottomRows(3));
  CHECK((yd.topRows(4) - y1).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((yd.bottomRows(3) - y2).cwiseAbs().maxCoeff() < 1e-12);
  for (size_t i = 0; i < gd.size(); ++i) CHECK(gd[i] == doctest::Approx(g1[i] + g2[i]).epsilon(1e-10));
}

TEST_CASE("identity parameters give back the input") {
  const MatD x = random_matrix(6, 3, 14).cwiseAbs();  // non-negative, so GIN's ReLU passes it
  const Csr empty = Csr::from_edges(6, std::vector<int32_t>{}, std::vector<int32_t>{});
  SUBCASE("SAGE: W_l = 0, W_r = I") {
    Rng rng(0);
    ParamStore<double> store;
    SageConv<double> conv(store, rng, "s", 3, 3);
    store.value(ParamId{0}).setZero();
    store.value(ParamId{2}).setIdentity();
    Tape<double> t;
    CHECK(MatD(t.value(conv.forward(t, test_graph(), dense_in(t, x)))) == x);
  }
  SUBCASE("GIN: no edges, eps = 0, both linear maps I") {
    Rng rng(0);
    ParamStore<double> store;
    GinConv<double> conv(store, rng, "g", 3, 3);
    store.value(ParamId{1}).setIdentity();
    store.value(ParamId{3}).setIdentity();
    Tape<double> t;
    CHECK(MatD(t.value(conv.forward(t, empty, dense_in(t, x)))) == x);
  }
  SUBCASE("GAT: self loops only, one head, W = I") {
    Rng rng(0);
    ParamStore<double> store;
    GatOptions opt;
    opt.heads = 1;
    GatConv<double> conv(store, rng, "a", 3, 3, opt);
    store.value(ParamId{0}).setIdentity();
    const Csr loops = gat_graph(empty);
    Tape<double> t;
    CHECK((MatD(t.value(conv.forward(t, GraphRef(loops), dense_in(t, x), false, 0))) - x).cwiseAbs().maxCoeff() < 1e-15);
  }
}

TEST_CASE("GnnClassifier: every registered layer type trains end to end with correct gradients") {
  const Csr g = test_graph();
  std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  for (const std::string& type : layer_names()) {
    Rng rng(10);
    ParamStore<double> store;
    GnnSpec spec;
    spec.layer_type = type;
    spec.layers = 2;
    spec.in_dim = 4;
    spec.hidden = 4;
    spec.out_dim = 3;
    spec.att_heads = 2;
    spec.att_heads_out = 2;
    spec.dropout = 0.3;
    spec.att_dropout = 0.2;
    GnnClassifier<double> model(store, rng, spec, g);
    // Random values for every parameter: zero biases would put ReLU inputs exactly on the kink
    // wherever dropout removes a whole row, and central differences are wrong there.
    for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
    const MatD x = random_matrix(6, 4, 11);
    auto f = [&](Tape<double>& t) {
      return ops::nll_loss(t, model.forward(t, dense_in(t, x), true, 77), labels, train);
    };
    auto r = gradcheck_params(f, store);
    CHECK_MESSAGE(grad_mismatch(r).empty(), type, ": ", grad_mismatch(r));
  }
}
