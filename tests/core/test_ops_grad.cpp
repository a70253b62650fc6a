// Central-difference gradient checks (double precision) for every differentiable op.
#include <doctest/doctest.h>

#include <omp.h>

#include <memory>
#include <tuple>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "core/ops/message.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck;
using locus::testing::random_matrix;
using locus::testing::check_grad;
using locus::testing::reduce_random;

namespace {
Csr small_graph() {
  // 5 nodes, weighted, with a node (4) without in-edges and a repeated edge.
  std::vector<int32_t> src{0, 1, 2, 3, 0, 2, 2, 1};
  std::vector<int32_t> dst{1, 2, 0, 0, 3, 3, 3, 1};
  std::vector<float> w{0.5f, 2.0f, 1.0f, -1.5f, 0.25f, 3.0f, 3.0f, 1.0f};
  return Csr::from_edges(5, src, dst, w);
}
}  // namespace

TEST_CASE("dense ops: gradients") {
  SUBCASE("matmul") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::matmul(t, v[0], v[1])); },
               {random_matrix(4, 3, 1), random_matrix(3, 5, 2)});
  }
  SUBCASE("add, add_bias, scale") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::scale(t, ops::add_bias(t, ops::add(t, v[0], v[1]), v[2]), 1.7)); },
               {random_matrix(4, 3, 1), random_matrix(4, 3, 2), random_matrix(1, 3, 3)});
  }
  SUBCASE("relu and elu (odd sizes)") {
    for (int64_t cols : {1, 7, 33}) {
      check_grad([](auto& t, auto& v) { return reduce_random(t, ops::relu(t, v[0])); }, {random_matrix(3, cols, 4)});
      check_grad([](auto& t, auto& v) { return reduce_random(t, ops::elu(t, v[0], 1.3)); }, {random_matrix(3, cols, 5)});
    }
  }
  SUBCASE("dropout with a fixed key") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::dropout(t, v[0], 0.4, 1234, true)); },
               {random_matrix(6, 7, 6)});
  }
  SUBCASE("log_softmax and nll_loss") {
    std::vector<int32_t> labels{0, 2, 1, 2, -1};
    std::vector<int32_t> idx{0, 1, 3};
    check_grad([&](auto& t, auto& v) { return ops::nll_loss(t, ops::log_softmax(t, v[0]), labels, idx); },
               {random_matrix(5, 3, 7)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::log_softmax(t, v[0])); }, {random_matrix(4, 6, 8)});
  }
}

TEST_CASE("l1_loss: the mean |pred − target| over the listed rows and every column, its gradient by hand") {
  // pred − target = [[0.5, −2], [1, 0], [−0.25, 3]], rows {0, 2} → (0.5 + 2 + 0.25 + 3) / (2·2) = 1.4375.
  MatD pred(3, 2), target(3, 2);
  pred << 1.5, -1.0, 4.0, 2.0, 0.75, 3.0;
  target << 1.0, 1.0, 3.0, 2.0, 1.0, 0.0;
  const std::vector<int32_t> rows{0, 2};
  Tape<double> t;
  const Var p = t.leaf(pred);
  const Var loss = ops::l1_loss(t, p, target, rows);
  CHECK(t.value(loss)(0, 0) == doctest::Approx(1.4375));
  t.backward(loss);
  // sign(pred − target) / 4 on rows 0 and 2; row 1 is not listed.
  MatD want(3, 2);
  want << 0.25, -0.25, 0.0, 0.0, -0.25, 0.25;
  CHECK(MatD(t.grad(p)) == want);
  // pred = target: the subgradient 0 (the value is 0 too).
  Tape<double> z;
  const Var pz = z.leaf(target);
  const Var lz = ops::l1_loss(z, pz, target, std::vector<int32_t>{1});
  z.backward(lz);
  CHECK(z.value(lz)(0, 0) == 0.0);
  CHECK(MatD(z.grad(pz)).isZero());
  // Central differences (random pred and target differ by far more than the step: no kink crossed),
  // odd widths, a repeated row counted twice.
  for (int64_t cols : {1, 7}) {
    const MatD y = random_matrix(5, cols, 21 + cols);
    check_grad([&](auto& tape, auto& v) { return ops::l1_loss(tape, v[0], y, std::vector<int32_t>{0, 2, 2, 4}); },
               {random_matrix(5, cols, 31 + cols)});
  }
  CHECK_THROWS_AS(ops::l1_loss(t, p, MatD(2, 2), rows), ShapeError);
  CHECK_THROWS_AS(ops::l1_loss(t, p, target, std::vector<int32_t>{3}), ShapeError);
  CHECK_THROWS_AS(ops::l1_loss(t, p, target, std::vector<int32_t>{}), ShapeError);
}

TEST_CASE("matmul over several row blocks: one product's values and gradients, the same for 1 and 2 threads") {
  // 9000 rows: three blocks of the row-split product (4096 rows each, the last one partial), large
  // enough to run them in parallel. Reference: one Eigen product over all rows in double.
  const int64_t n = 9000, k = 24, m = 20;
  const MatT<float> a = random_matrix(n, k, 11).cast<float>(), b = random_matrix(k, m, 12).cast<float>();
  const MatT<float> g = random_matrix(n, m, 13).cast<float>();
  auto run = [&](int threads) {
    omp_set_num_threads(threads);
    Tape<float> t;
    const Var va = t.leaf(a), vb = t.leaf(b);
    const Var y = ops::matmul(t, va, vb);
    t.backward(ops::weighted_sum(t, y, g));  // dY = g
    omp_set_num_threads(omp_get_num_procs());
    return std::tuple<MatT<float>, MatT<float>, MatT<float>>{t.value(y), t.grad(va), t.grad(vb)};
  };
  const auto [y1, ga1, gb1] = run(1);
  const auto [y2, ga2, gb2] = run(2);
  CHECK(y1 == y2);
  CHECK(ga1 == ga2);
  CHECK(gb1 == gb2);
  const MatT<double> ad = a.cast<double>(), bd = b.cast<double>(), gd = g.cast<double>();
  const MatT<double> y_ref = ad * bd, ga_ref = gd * bd.transpose(), gb_ref = ad.transpose() * gd;
  CHECK((y1.cast<double>() - y_ref).cwiseAbs().maxCoeff() < 1e-4);
  CHECK((ga1.cast<double>() - ga_ref).cwiseAbs().maxCoeff() < 1e-4);
  CHECK((gb1.cast<double>() - gb_ref).cwiseAbs().maxCoeff() < 1e-2);  // sums over 9000 rows
}

TEST_CASE("gspmm on Csr: gradients for x and edge values, sum and mean") {
  const Csr g = small_graph();
  for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
    check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gspmm(t, GraphRef(g), v[0], red)); },
               {random_matrix(5, 3, 10)});
    check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gspmm(t, GraphRef(g), v[0], red, v[1])); },
               {random_matrix(5, 7, 11), random_matrix(g.num_edges(), 1, 12)});
  }
}

TEST_CASE("gspmm over a co-owned Csr: the same values and gradients; the tape keeps the graph alive") {
  for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
    check_grad([&](auto& t, auto& v) {
      return reduce_random(t, ops::gspmm(t, std::make_shared<const Csr>(small_graph()), v[0], red));
    }, {random_matrix(5, 3, 13)});
    const Csr g = small_graph();
    const MatD x = random_matrix(5, 4, 14);
    Tape<double> t1, t2;
    const Var xa = t1.leaf(x), xb = t2.leaf(x);
    const Var a = ops::gspmm(t1, GraphRef(g), xa, red);
    Var b;
    {
      auto owned = std::make_shared<const Csr>(small_graph());
      b = ops::gspmm(t2, owned, xb, red);
    }  // only the tape holds the graph now
    CHECK(MatD(t1.value(a)) == MatD(t2.value(b)));
    t1.backward(reduce_random(t1, a));
    t2.backward(reduce_random(t2, b));
    CHECK(MatD(t1.grad(xa)) == MatD(t2.grad(xb)));
  }
}

TEST_CASE("gspmm on Dense: gradients, batched and causal") {
  std::vector<int64_t> lens{3, 1, 4};
  for (bool causal : {false, true}) {
    const Dense d = Dense::blocks(lens, causal);
    for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gspmm(t, GraphRef(d), v[0], red)); },
                 {random_matrix(8, 2, 13)});
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::gspmm(t, GraphRef(d), v[0], red, v[1])); },
                 {random_matrix(8, 3, 14), random_matrix(d.num_edge_slots(), 1, 15)});
    }
  }
}

TEST_CASE("spmm: sparse constant times dense parameter") {
  SpMatT<double> x(4, 6);
  std::vector<Eigen::Triplet<double>> trip{{0, 1, 2.0}, {0, 5, -1.0}, {2, 0, 0.5}, {3, 3, 1.5}, {3, 4, 1.0}};
  x.setFromTriplets(trip.begin(), trip.end());
  x.makeCompressed();
  auto xs = std::make_shared<const SpMatT<double>>(x);
  check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::spmm(t, xs, v[0])); }, {random_matrix(6, 5, 16)});
  // Value check against the dense product.
  Tape<double> t;
  MatD w = random_matrix(6, 5, 17);
  Var y = ops::spmm(t, xs, t.leaf(w));
  CHECK((MatD(t.value(y)) - MatD(x) * w).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("dropout keeps the expected fraction and scales survivors") {
  Tape<float> t;
  Var x = t.constant(Mat::Ones(200, 50));
  Var y = ops::dropout(t, x, 0.3, 42, true);
  auto yv = t.value(y);
  const double kept = (yv.array() > 0).cast<double>().mean();
  CHECK(kept == doctest::Approx(0.7).epsilon(0.03));
  CHECK(yv.maxCoeff() == doctest::Approx(1.0 / 0.7));
  CHECK(ops::dropout(t, x, 0.3, 42, false).id == x.id);  // identity at evaluation
  CHECK(MatD(t.value(ops::dropout(t, x, 0.3, 42, true)).cast<double>()) ==
        MatD(yv.cast<double>()));  // same key, same mask
}
