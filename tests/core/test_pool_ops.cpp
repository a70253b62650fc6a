// Per-graph pooling (ops::graph_pool): hand values, gradients, thread-count invariance, batching, errors.
#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/pool.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::random_matrix;
using locus::testing::reduce_random;

namespace {
constexpr ops::Pool kKinds[] = {ops::Pool::Sum, ops::Pool::Mean, ops::Pool::Max};

// Value of graph_pool and the gradient of x under loss Σ out ⊙ w.
std::pair<MatD, MatD> pool_and_grad(const MatD& x, const std::vector<int32_t>& graph, int64_t num_graphs,
                                    ops::Pool kind, const MatD& w) {
  Tape<double> t;
  const Var vx = t.leaf(x);
  const Var y = ops::graph_pool(t, vx, graph, num_graphs, kind);
  t.backward(ops::weighted_sum(t, y, w));
  return {MatD(t.value(y)), MatD(t.grad(vx))};
}

// [n, d] with all entries distinct and at least 2 / (n·d) apart (a permutation of a grid in (−1, 1)):
// no ties for max, even within the gradient check's step.
MatD distinct_matrix(int64_t n, int64_t d) {
  const int64_t size = n * d;  // 37 is coprime to the sizes used here
  MatD x(n, d);
  for (int64_t k = 0; k < size; ++k) x.data()[k] = 2.0 * static_cast<double>((k * 37) % size) / size - 1.0 + 0.5 / size;
  return x;
}

std::string shape_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("graph_pool: hand example with unsorted ids, empty graphs and ties") {
  // Rows of graphs 2, 0, 2, 0, 2, 3; graphs 1 and 4 have no rows.
  MatD x(6, 2);
  x << 1, 5,   //
      2, -1,   //
      3, 5,    // ties row 0 in column 1: the max stays at row 0
      -4, 0,   //
      3, 2,    // ties row 2 in column 0: the max stays at row 2
      7, -3;
  const std::vector<int32_t> graph{2, 0, 2, 0, 2, 3};
  MatD w(5, 2);
  w << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10;
  SUBCASE("sum") {
    const auto [y, gx] = pool_and_grad(x, graph, 5, ops::Pool::Sum, w);
    MatD ey(5, 2), eg(6, 2);
    ey << -2, -1, 0, 0, 7, 12, 7, -3, 0, 0;
    eg << 5, 6, 1, 2, 5, 6, 1, 2, 5, 6, 7, 8;
    CHECK(y == ey);
    CHECK(gx == eg);
  }
  SUBCASE("mean") {
    const auto [y, gx] = pool_and_grad(x, graph, 5, ops::Pool::Mean, w);
    MatD ey(5, 2), eg(6, 2);
    ey << -1, -0.5, 0, 0, 7.0 / 3, 4, 7, -3, 0, 0;
    eg << 5.0 / 3, 2, 0.5, 1, 5.0 / 3, 2, 0.5, 1, 5.0 / 3, 2, 7, 8;
    CHECK(y == ey);
    CHECK(gx == eg);
  }
  SUBCASE("max: the gradient goes to the first row attaining the max") {
    const auto [y, gx] = pool_and_grad(x, graph, 5, ops::Pool::Max, w);
    MatD ey(5, 2), eg(6, 2);
    ey << 2, 0, 0, 0, 3, 5, 7, -3, 0, 0;
    eg << 0, 6, 1, 0, 5, 0, 0, 2, 0, 0, 7, 8;
    CHECK(y == ey);
    CHECK(gx == eg);
  }
  SUBCASE("no rows, no graphs") {
    for (ops::Pool kind : kKinds) {
      const auto [y, gx] = pool_and_grad(MatD(0, 3), {}, 2, kind, MatD::Ones(2, 3));
      CHECK(y == MatD::Zero(2, 3));
      CHECK(gx.rows() == 0);
      Tape<double> t;
      const Var none = ops::graph_pool(t, t.constant(MatD(0, 3)), std::vector<int32_t>{}, 0, kind);
      CHECK(t.rows(none) == 0);
      CHECK(t.cols(none) == 3);
    }
  }
  SUBCASE("max with NaN: the entry is NaN, its argmax the first NaN row") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    MatD xn(4, 2);
    xn << 1, 0, nan, 2, 5, nan, nan, 9;
    const auto [y, gx] = pool_and_grad(xn, {0, 0, 0, 0}, 1, ops::Pool::Max, MatD::Ones(1, 2));
    CHECK(std::isnan(y(0, 0)));
    CHECK(std::isnan(y(0, 1)));
    MatD eg(4, 2);
    eg << 0, 0, 1, 0, 0, 1, 0, 0;
    CHECK(gx == eg);
  }
}

TEST_CASE("graph_pool: gradients (sum, mean, max; odd widths, an empty graph)") {
  const std::vector<int32_t> graph{1, 0, 3, 1, 1, 0, 3};  // graph 2 has no rows
  for (int64_t d : {1, 7}) {
    for (ops::Pool kind : kKinds) {
      CAPTURE(d);
      CAPTURE(static_cast<int>(kind));
      const MatD x = kind == ops::Pool::Max ? distinct_matrix(7, d) : random_matrix(7, d, 40 + d);
      check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::graph_pool(t, v[0], graph, 4, kind)); }, {x});
    }
  }
}

TEST_CASE("graph_pool: 1 and 2 threads give the same bits, values and gradients") {
  // 40000 × 9 entries: above the 2^18 from which the loops run in parallel.
  const int64_t n = 40000, d = 9, num_graphs = 301;
  std::vector<int32_t> graph(n);
  uint64_t s = 12345;
  for (auto& g : graph) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    g = static_cast<int32_t>((s >> 33) % (num_graphs - 1));  // the last graph stays empty
  }
  const MatT<float> x = random_matrix(n, d, 50).cast<float>();
  const MatT<float> w = random_matrix(num_graphs, d, 51).cast<float>();
  for (ops::Pool kind : kKinds) {
    CAPTURE(static_cast<int>(kind));
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      Tape<float> t;
      const Var vx = t.leaf(x);
      const Var y = ops::graph_pool(t, vx, graph, num_graphs, kind);
      t.backward(ops::weighted_sum(t, y, w));
      omp_set_num_threads(omp_get_num_procs());
      return std::pair<MatT<float>, MatT<float>>{t.value(y), t.grad(vx)};
    };
    const auto [y1, g1] = run(1);
    const auto [y2, g2] = run(2);
    CHECK(y1 == y2);
    CHECK(g1 == g2);
    if (kind == ops::Pool::Sum) {  // a plain loop in increasing row order gives the same bits
      MatT<float> ref = MatT<float>::Zero(num_graphs, d);
      for (int64_t i = 0; i < n; ++i) ref.row(graph[i]) += x.row(i);
      CHECK(y1 == ref);
    }
  }
}

TEST_CASE("graph_pool: pooling a concatenated batch equals pooling each part alone") {
  // Batch a: 6 rows in 3 graphs; batch b: 5 rows in 2 graphs, ids shifted by 3 in the concatenation.
  const std::vector<int32_t> ga{2, 0, 0, 2, 1, 0}, gb{1, 0, 1, 1, 0};
  const int64_t d = 4;
  const MatD xa = random_matrix(6, d, 60), xb = random_matrix(5, d, 61), w = random_matrix(5, d, 62);
  MatD x(11, d);
  x << xa, xb;
  std::vector<int32_t> g = ga;
  for (int32_t id : gb) g.push_back(id + 3);
  for (ops::Pool kind : kKinds) {
    CAPTURE(static_cast<int>(kind));
    const auto [y, gx] = pool_and_grad(x, g, 5, kind, w);
    const auto [ya, gxa] = pool_and_grad(xa, ga, 3, kind, w.topRows(3));
    const auto [yb, gxb] = pool_and_grad(xb, gb, 2, kind, w.bottomRows(2));
    CHECK((y.topRows(3) - ya).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((y.bottomRows(2) - yb).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((gx.topRows(6) - gxa).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK((gx.bottomRows(5) - gxb).cwiseAbs().maxCoeff() <= 1e-12);
    CHECK(gx.cwiseAbs().sum() > 0);
  }
}

TEST_CASE("graph_pool: bad input throws ShapeError naming the op") {
  Tape<double> t;
  const Var x = t.constant(random_matrix(4, 2, 70));
  const std::string len = shape_error_of([&] { ops::graph_pool(t, x, std::vector<int32_t>{0, 1, 0}, 2, ops::Pool::Sum); });
  CHECK(len.find("graph_pool") != std::string::npos);
  CHECK(len.find("3 graph ids") != std::string::npos);
  const std::string high = shape_error_of([&] { ops::graph_pool(t, x, std::vector<int32_t>{0, 1, 7, 0}, 2, ops::Pool::Max); });
  CHECK(high.find("graph_pool") != std::string::npos);
  CHECK(high.find("graph id 7 at position 2") != std::string::npos);
  const std::string low = shape_error_of([&] { ops::graph_pool(t, x, std::vector<int32_t>{0, -1, 1, 0}, 2, ops::Pool::Mean); });
  CHECK(low.find("graph id -1 at position 1") != std::string::npos);
  const std::string negative = shape_error_of([&] { ops::graph_pool(t, x, std::vector<int32_t>{0, 0, 0, 0}, -1, ops::Pool::Sum); });
  CHECK(negative.find("graph_pool: num_graphs") != std::string::npos);
  CHECK(shape_error_of([&] { ops::graph_pool(t, x, std::vector<int32_t>{0, 0, 0, 0}, 0, ops::Pool::Sum); }) != "");
}
