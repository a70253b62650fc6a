// GraphConv (Morris et al. 2019): the formula W₁ h_v + W₂ Σ_{u→v} w_uv h_u + b against a dense
// reference in both product orders, weighted and unweighted, sparse input, and its parameter
// gradients by central differences (double).
#include <doctest/doctest.h>

#include "core/ops/basic.hpp"
#include "layers/graph_conv.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;

namespace {
// 6 nodes, directed edges with weights, node 5 without in-edges.
Csr test_graph(bool weighted) {
  std::vector<int32_t> src{0, 1, 2, 3, 4, 1, 2, 0, 5, 3};
  std::vector<int32_t> dst{1, 0, 1, 2, 3, 4, 0, 3, 2, 1};
  std::vector<float> w{0.5f, 2.0f, 1.5f, 1.0f, 0.25f, 3.0f, 1.0f, 2.5f, 0.75f, 1.25f};
  return Csr::from_edges(6, src, dst, weighted ? w : std::vector<float>{});
}
MatD dense_adj(const Csr& g) {
  MatD a = MatD::Zero(g.num_dst, g.num_src);
  for (int64_t d = 0; d < g.num_dst; ++d)
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) a(d, g.indices[p]) += g.weight(p);
  return a;
}
}  // namespace

TEST_CASE("GraphConv equals W1 x + W2 (A x) + b, both product orders, weighted or not, with correct gradients") {
  for (bool weighted : {false, true})
    for (const auto& dims : {std::pair<int64_t, int64_t>{5, 3}, {2, 4}}) {
      // (no structured binding: clang 14 cannot capture one in the lambdas below)
      const int64_t in = dims.first, out = dims.second;
      CAPTURE(weighted);
      CAPTURE(in);
      const Csr g = test_graph(weighted);
      const MatD a = dense_adj(g);
      Rng rng(1);
      ParamStore<double> store;
      GraphConv<double> conv(store, rng, "gc", in, out);
      REQUIRE(store.size() == 2 * in * out + out);  // W1 (root, no bias), W2, b
      store.value(ParamId{2}) = random_matrix(1, out, 2);
      const MatD x = random_matrix(6, in, 3);
      Tape<double> t;
      const MatD y = t.value(conv.forward(t, g, Features<double>{t.constant(x), nullptr}));
      MatD expect = x * store.value(ParamId{0}) + a * x * store.value(ParamId{1});
      expect.rowwise() += store.value(ParamId{2}).row(0);
      CHECK((y - expect).cwiseAbs().maxCoeff() < 1e-12);
      // Node 5 has no in-neighbours: its output is its root term and the bias alone.
      CHECK((y.row(5) - (x.row(5) * store.value(ParamId{0}) + store.value(ParamId{2}))).cwiseAbs().maxCoeff() < 1e-12);
      const MatD w = random_matrix(6, out, 4);
      auto r = gradcheck_params(
          [&](Tape<double>& tt) {
            return ops::weighted_sum(tt, conv.forward(tt, g, Features<double>{tt.constant(x), nullptr}), w);
          },
          store);
      CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
    }
}

TEST_CASE("GraphConv on a sparse input equals the dense input's result") {
  const Csr g = test_graph(true);
  MatD x = random_matrix(6, 7, 5);
  for (int64_t i = 0; i < x.rows(); ++i)
    for (int64_t j = 0; j < x.cols(); ++j)
      if ((i + j) % 3) x(i, j) = 0;  // two thirds zeros
  auto sparse = std::make_shared<const SpMatT<double>>(x.sparseView());
  Rng rng(2);
  ParamStore<double> store;
  GraphConv<double> conv(store, rng, "gc", 7, 3);
  Tape<double> t;
  const MatD dense_out = t.value(conv.forward(t, g, Features<double>{t.constant(x), nullptr}));
  const MatD sparse_out = t.value(conv.forward(t, g, Features<double>{Var{}, sparse}));
  CHECK((dense_out - sparse_out).cwiseAbs().maxCoeff() < 1e-12);
}
