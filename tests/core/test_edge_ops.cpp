// gsddmm, edge softmax, multi-head gspmm and the gated mean: gradients (double), Dense vs explicit Csr clique,
// rows summing to one, zero in-degree nodes.
#include <doctest/doctest.h>

#include <cmath>

#include "core/ops/basic.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/message.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck;
using locus::testing::random_matrix;
using locus::testing::check_grad;
using locus::testing::reduce_random;

namespace {
// 5 nodes; node 4 has no in-edges; a weighted edge.
Csr small_graph(bool weighted) {
  std::vector<int32_t> src{0, 1, 2, 3, 0, 2, 4, 1, 3};
  std::vector<int32_t> dst{1, 2, 0, 0, 3, 3, 3, 1, 2};
  std::vector<float> w{0.5f, 2.0f, 1.0f, -1.5f, 0.25f, 3.0f, 1.0f, 1.0f, 0.7f};
  return weighted ? Csr::from_edges(5, src, dst, w) : Csr::from_edges(5, src, dst);
}
// The full attention pattern used by GAT/Transformer layers, reduced to a scalar.
Var attention(Tape<double>& t, GraphRef g, const std::vector<Var>& v, int64_t heads) {
  Var e = ops::gsddmm_dot(t, g, v[0], v[1], heads);
  e = ops::add(t, e, ops::gsddmm_add(t, g, v[3], v[4]));
  Var a = ops::edge_softmax(t, g, e);
  return reduce_random(t, ops::gspmm(t, g, v[2], ops::Reduce::Sum, a));
}
}  // namespace

TEST_CASE("edge ops on Csr: gradients, 1 and 3 heads") {
  for (bool weighted : {false, true}) {
    const Csr g = small_graph(weighted);
    for (int64_t heads : {1, 3}) {
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gsddmm_add(t, GraphRef(g), v[0], v[1])); },
                 {random_matrix(5, heads, 1), random_matrix(5, heads, 2)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gsddmm_add(t, GraphRef(g), v[0], v[1], v[2])); },
                 {random_matrix(5, heads, 1), random_matrix(5, heads, 2), random_matrix(g.num_edges(), heads, 3)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gsddmm_dot(t, GraphRef(g), v[0], v[1], heads)); },
                 {random_matrix(5, heads * 2, 3), random_matrix(5, heads * 2, 4)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::edge_softmax(t, GraphRef(g), v[0])); },
                 {random_matrix(g.num_edges(), heads, 5)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gspmm(t, GraphRef(g), v[0], ops::Reduce::Mean, v[1])); },
                 {random_matrix(5, heads * 3, 6), random_matrix(g.num_edges(), heads, 7)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::head_dot(t, v[0], v[1], heads)); },
                 {random_matrix(4, heads * 5, 8), random_matrix(1, heads * 5, 9)});
    }
  }
}

TEST_CASE("edge ops on Dense: gradients, batched and causal") {
  std::vector<int64_t> lens{3, 1, 4};
  for (bool causal : {false, true}) {
    const Dense d = Dense::blocks(lens, causal);
    const int64_t heads = 2;
    check_grad([&](auto& t, auto& v) { return attention(t, GraphRef(d), v, heads); },
               {random_matrix(8, 4, 10), random_matrix(8, 4, 11), random_matrix(8, 6, 12), random_matrix(8, 2, 13),
                random_matrix(8, 2, 14)});
  }
}

TEST_CASE("attention on Dense equals attention on the explicit Csr clique, values and gradients") {
  std::vector<int64_t> lens{4, 1, 3};
  const Dense d = Dense::blocks(lens);
  const Csr c = d.to_csr();
  const int64_t heads = 2;
  std::vector<MatD> in{random_matrix(8, 6, 20), random_matrix(8, 6, 21), random_matrix(8, 4, 22),
                       random_matrix(8, 2, 23), random_matrix(8, 2, 24)};
  auto run = [&](GraphRef g) {
    Tape<double> t;
    std::vector<Var> v;
    for (const auto& m : in) v.push_back(t.leaf(m));
    Var out = attention(t, g, v, heads);
    t.backward(out);
    std::vector<MatD> grads;
    for (Var x : v) grads.push_back(t.grad(x));
    return std::pair{t.value(out)(0, 0), grads};
  };
  auto [vd, gd] = run(GraphRef(d));
  auto [vc, gc] = run(GraphRef(c));
  CHECK(vd == doctest::Approx(vc).epsilon(1e-12));
  for (size_t i = 0; i < gd.size(); ++i) CHECK((gd[i] - gc[i]).cwiseAbs().maxCoeff() < 1e-12);
}

// GAT's attention composed of the single ops: gsddmm_add, LeakyReLU, edge_softmax, dropout, gspmm.
Var composed_gat(Tape<double>& t, const Csr& g, Var z, Var s_src, Var s_dst, double drop, uint64_t key, bool training) {
  Var e = ops::leaky_relu(t, ops::gsddmm_add(t, GraphRef(g), s_src, s_dst), 0.2);
  Var a = ops::dropout(t, ops::edge_softmax(t, GraphRef(g), e), drop, key, training);
  return ops::gspmm(t, GraphRef(g), z, ops::Reduce::Sum, a);
}

TEST_CASE("gat_attention: gradients (double) and the composed ops' values and gradients, dropout included") {
  for (bool weighted : {false, true}) {
    const Csr g = small_graph(weighted);
    for (int64_t heads : {1, 3}) {
      for (const bool training : {false, true}) {
        CAPTURE(weighted);
        CAPTURE(heads);
        CAPTURE(training);
        const std::vector<MatD> in{random_matrix(5, heads * 4, 40), random_matrix(5, heads, 41), random_matrix(5, heads, 42)};
        check_grad([&](auto& t, auto& v) {
          return reduce_random(t, ops::gat_attention(t, g, v[0], v[1], v[2], 0.2, 0.5, 77, training));
        }, in);
        auto run = [&](bool fused) {
          Tape<double> t;
          std::vector<Var> v;
          for (const auto& m : in) v.push_back(t.leaf(m));
          Var out = fused ? ops::gat_attention(t, g, v[0], v[1], v[2], 0.2, 0.5, 77, training)
                          : composed_gat(t, g, v[0], v[1], v[2], 0.5, 77, training);
          const MatD value = t.value(out);
          t.backward(reduce_random(t, out));
          std::vector<MatD> grads;
          for (Var x : v) grads.push_back(t.grad(x));
          return std::pair{value, grads};
        };
        const auto [vf, gf] = run(true);
        const auto [vc, gc] = run(false);
        CHECK((vf - vc).cwiseAbs().maxCoeff() < 1e-12);
        for (size_t i = 0; i < gf.size(); ++i) CHECK((gf[i] - gc[i]).cwiseAbs().maxCoeff() < 1e-12);
        // Node 4 has no in-edges: 0, as gspmm gives it.
        CHECK(vf.row(4).isZero());
      }
    }
  }
}

TEST_CASE("edge softmax: each destination's in-edges sum to one; no in-edges, no slots") {
  const Csr g = small_graph(false);
  Tape<double> t;
  Var a = ops::edge_softmax(t, GraphRef(g), t.constant(random_matrix(g.num_edges(), 2, 30) * 5.0));
  auto av = t.value(a);
  for (int64_t d = 0; d < g.num_dst; ++d) {
    const int64_t deg = g.indptr[d + 1] - g.indptr[d];
    for (int64_t h = 0; h < 2; ++h) {
      double s = 0;
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) s += av(p, h);
      CHECK(s == doctest::Approx(deg ? 1.0 : 0.0));
    }
  }
  // Node 4 has no in-edges: aggregation gives it 0.
  Var y = ops::gspmm(t, GraphRef(g), t.constant(random_matrix(5, 4, 31)), ops::Reduce::Sum, a);
  CHECK(t.value(y).row(4).isZero());
  // Large scores do not overflow (the row maximum is subtracted).
  Var big = ops::edge_softmax(t, GraphRef(g), t.constant(MatD::Constant(g.num_edges(), 1, 1000.0)));
  CHECK(t.value(big).allFinite());
  // Causal Dense: row i spreads over i + 1 slots.
  const Dense causal = Dense::complete(4, true);
  Var ac = ops::edge_softmax(t, GraphRef(causal), t.constant(MatD::Zero(16, 1)));
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) CHECK(t.value(ac)(i * 4 + j, 0) == doctest::Approx(j <= i ? 1.0 / (i + 1) : 0.0));
}

TEST_CASE("gated_sum: GatedGCN's gated mean against its formula, and its gradients") {
  const Csr g = small_graph(false);  // node 4 has no in-edges: 0
  const int64_t d = 3;
  const MatD x = random_matrix(5, d, 21), e = 3.0 * random_matrix(g.num_edges(), d, 22);
  Tape<double> t;
  const MatD y = t.value(ops::gated_sum(t, g, t.constant(x), t.constant(e), 1e-6));
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t c = 0; c < d; ++c) {
      double num = 0, den = 0;
      for (int64_t p = g.indptr[i]; p < g.indptr[i + 1]; ++p) {
        const double s = 1.0 / (1.0 + std::exp(-e(p, c)));
        num += s * x(g.indices[p], c);
        den += s;
      }
      CHECK(y(i, c) == doctest::Approx(num / (den + 1e-6)).epsilon(1e-12));
    }
  CHECK(y.row(4).isZero());
  check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gated_sum(t, g, v[0], v[1], 1e-6)); },
             {random_matrix(5, d, 23), 3.0 * random_matrix(g.num_edges(), d, 24)});
  // Saturated gates (|ê| ≫ 1) stay finite: σ = 0 or 1, no NaN from e^−ê overflowing.
  Tape<double> s;
  const MatD big = MatD::Constant(g.num_edges(), d, 800.0);
  CHECK(s.value(ops::gated_sum(s, g, s.constant(x), s.constant(-big), 1e-6)).allFinite());
  CHECK(s.value(ops::gated_sum(s, g, s.constant(x), s.constant(big), 1e-6)).allFinite());
  Csr w = small_graph(true);
  CHECK_THROWS_WITH_AS(ops::gated_sum(s, w, s.constant(x), s.constant(e), 1e-6), doctest::Contains("unweighted"),
                       std::exception);
}
