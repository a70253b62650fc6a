#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>

#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "layers/gcn.hpp"
#include "layers/gnn.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {
// A 6-node undirected graph with an isolated node (5) and one existing self loop (on 2).
Csr test_graph() {
  std::vector<int32_t> a{0, 0, 1, 2, 3, 2}, b{1, 2, 2, 3, 4, 2};
  std::vector<int32_t> src, dst;
  for (size_t i = 0; i < a.size(); ++i) {
    src.push_back(a[i]);
    dst.push_back(b[i]);
    if (a[i] != b[i]) {
      src.push_back(b[i]);
      dst.push_back(a[i]);
    }
  }
  return Csr::from_edges(6, src, dst);
}

MatD dense_gcn_adjacency(const Csr& g) {
  const int64_t n = g.num_dst;
  MatD a = MatD::Zero(n, n);
  for (int64_t d = 0; d < n; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) a(d, g.indices[p]) += 1.0;
  for (int64_t i = 0; i < n; ++i)
    if (a(i, i) == 0) a(i, i) = 1.0;  // A + I, keeping an existing self loop's weight
  Eigen::VectorXd dinv = a.rowwise().sum().array().rsqrt();
  return dinv.asDiagonal() * a * dinv.asDiagonal();
}
}  // namespace

TEST_CASE("GCN equals D^-1/2 (A+I) D^-1/2 X W + b") {
  const Csr g = test_graph();
  const Csr a_hat = gcn_normalize(g);
  const MatD ad = dense_gcn_adjacency(g);
  for (auto [in, out] : {std::pair<int64_t, int64_t>{7, 3}, {2, 5}}) {  // both product orders
    Rng rng(1);
    ParamStore<double> store;
    GcnConv<double> conv(store, rng, "gcn", in, out);
    store.value(ParamId{1}) = random_matrix(1, out, 3);  // a non-zero bias
    const MatD x = random_matrix(6, in, 2);
    Tape<double> t;
    Var y = conv.forward(t, a_hat, Features<double>{t.constant(x), nullptr});
    MatD expect = ad * x * store.value(ParamId{0});
    expect.rowwise() += store.value(ParamId{1}).row(0);
    // Loosened from 1e-12: Csr stores Â's weights in single precision (relative error ~6e-8).
    CHECK((MatD(t.value(y)) - expect).cwiseAbs().maxCoeff() < 1e-6);
  }
}

TEST_CASE("GCN and Linear layers: parameter gradients") {
  const Csr a_hat = gcn_normalize(test_graph());
  Rng rng(4);
  ParamStore<double> store;
  GcnConv<double> c1(store, rng, "c1", 5, 4);
  GcnConv<double> c2(store, rng, "c2", 4, 6);  // widening: propagate first
  Linear<double> lin(store, rng, "lin", 6, 3);
  const MatD x = random_matrix(6, 5, 5), w = random_matrix(6, 3, 6);
  auto f = [&](Tape<double>& t) {
    Var h = ops::elu(t, c1.forward(t, a_hat, Features<double>{t.constant(x), nullptr}));
    h = ops::relu(t, c2.forward(t, a_hat, Features<double>{h, nullptr}));
    return ops::weighted_sum(t, lin.forward(t, Features<double>{h, nullptr}), w);
  };
  auto r = gradcheck_params(f, store);
  CHECK(r.size() == static_cast<size_t>(store.size()));
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
}

TEST_CASE("Mlp: parameter gradients with dropout, and the two-layer formula without it") {
  Rng rng(6);
  ParamStore<double> store;
  Mlp<double> mlp(store, rng, "mlp", {5, 4, 3}, ops::Act::Elu, 0.3);
  for (auto& v : store.values()) v = rng.uniform(-1.0, 1.0);
  const MatD x = random_matrix(6, 5, 7), w = random_matrix(6, 3, 8);
  auto r = gradcheck_params(
      [&](Tape<double>& t) { return ops::weighted_sum(t, mlp.forward(t, Features<double>{t.constant(x), nullptr}, true, 3), w); },
      store);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
  // Evaluation: elu(x W0 + b0) W1 + b1, parameters in registration order.
  Tape<double> t;
  MatD y = t.value(mlp.forward(t, Features<double>{t.constant(x), nullptr}, false, 0));
  MatD h = x * store.value(ParamId{0});
  h.rowwise() += store.value(ParamId{1}).row(0);
  h = h.unaryExpr([](double v) { return v > 0 ? v : std::exp(v) - 1.0; });
  MatD expect = h * store.value(ParamId{2});
  expect.rowwise() += store.value(ParamId{3}).row(0);
  CHECK((y - expect).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("GCN with sparse input features: gradients and equality with dense input") {
  const Csr a_hat = gcn_normalize(test_graph());
  // About half the entries are zero (the negative ones clipped).
  const MatD xd = random_matrix(6, 8, 7).cwiseMax(0.0);
  SpMatT<double> xs = xd.sparseView();
  xs.makeCompressed();
  auto xsp = std::make_shared<const SpMatT<double>>(xs);
  Rng rng(8);
  ParamStore<double> store;
  GcnConv<double> conv(store, rng, "c", 8, 3);
  const MatD w = random_matrix(6, 3, 9);
  auto f = [&](Tape<double>& t) { return ops::weighted_sum(t, conv.forward(t, a_hat, Features<double>{Var{}, xsp}), w); };
  auto r = gradcheck_params(f, store);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
  Tape<double> t;
  MatD ys = t.value(conv.forward(t, a_hat, Features<double>{Var{}, xsp}));
  MatD yd = t.value(conv.forward(t, a_hat, Features<double>{t.constant(xd), nullptr}));
  CHECK((ys - yd).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("GnnClassifier: gradients through the whole stack, dropout included") {
  const Csr g = test_graph();
  std::vector<int32_t> labels{0, 1, 2, 1, 0, 2}, train{0, 1, 3, 5};
  for (const char* type : {"gcn", "mlp"}) {
    Rng rng(10);
    ParamStore<double> store;
    GnnSpec spec;
    spec.layer_type = type;
    spec.layers = 3;
    spec.in_dim = 4;
    spec.hidden = 5;
    spec.out_dim = 3;
    spec.dropout = 0.3;
    GnnClassifier<double> model(store, rng, spec, g);
    const MatD x = random_matrix(6, 4, 11);
    auto f = [&](Tape<double>& t) {
      Var logp = model.forward(t, Features<double>{t.constant(x), nullptr}, true, 77);
      return ops::nll_loss(t, logp, labels, train);
    };
    auto r = gradcheck_params(f, store);
    CHECK_MESSAGE(grad_mismatch(r).empty(), type, ": ", grad_mismatch(r));
    // Only the first layer decays by default (Kipf & Welling).
    for (const auto& p : store.params()) CHECK(p.decay == (p.name.rfind("layer0.", 0) == 0));
  }
}

TEST_CASE("a GCN with identity weight and zero bias on a graph without edges returns its input") {
  // Â = I when there are no edges, so H W + b = H for W = I, b = 0.
  const Csr empty = Csr::from_edges(4, std::vector<int32_t>{}, std::vector<int32_t>{});
  Rng rng(0);
  ParamStore<float> store;
  GcnConv<float> conv(store, rng, "c", 3, 3);
  store.value(ParamId{0}).setIdentity();
  const Mat x = random_matrix(4, 3, 12).cast<float>();
  Tape<float> t;
  Var y = conv.forward(t, gcn_normalize(empty), Features<float>{t.constant(x), nullptr});
  CHECK(Mat(t.value(y)) == x);
}
