// gspmm on Dense equals gspmm on the explicit Csr clique (values and gradients); zero
// in-degree destinations get 0; 1 and 2 threads give identical results.
#include <doctest/doctest.h>
#include <omp.h>

#include "core/ops/basic.hpp"
#include "core/ops/message.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::random_matrix;

namespace {
struct Out {
  MatD y, gx, ge;
};
Out run(GraphRef g, const MatD& x, const MatD* edge, ops::Reduce red) {
  Tape<double> t;
  Var xv = t.leaf(x);
  Var ev = edge ? t.leaf(*edge) : Var{};
  Var y = ops::gspmm(t, g, xv, red, ev);
  MatD w = random_matrix(t.rows(y), t.cols(y), 5);
  t.backward(ops::weighted_sum(t, y, w));
  return {MatD(t.value(y)), MatD(t.grad(xv)), edge ? MatD(t.grad(ev)) : MatD()};
}
}  // namespace

TEST_CASE("Dense equals Csr clique") {
  std::vector<int64_t> lens{4, 2, 5};
  const Dense d = Dense::blocks(lens);
  const Csr c = d.to_csr();
  const MatD x = random_matrix(d.num_nodes(), 7, 1);
  const MatD e = random_matrix(d.num_edge_slots(), 1, 2);  // non-causal: position == edge id
  for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
    for (const MatD* ev : {static_cast<const MatD*>(nullptr), &e}) {
      Out a = run(GraphRef(d), x, ev, red), b = run(GraphRef(c), x, ev, red);
      CHECK((a.y - b.y).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((a.gx - b.gx).cwiseAbs().maxCoeff() < 1e-12);
      if (ev) CHECK((a.ge - b.ge).cwiseAbs().maxCoeff() < 1e-12);
    }
  }
}

TEST_CASE("causal Dense equals the lower-triangular clique") {
  const Dense d = Dense::complete(6, true);
  const Csr c = d.to_csr();
  const MatD x = random_matrix(6, 3, 3);
  for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
    Out a = run(GraphRef(d), x, nullptr, red), b = run(GraphRef(c), x, nullptr, red);
    CHECK((a.y - b.y).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((a.gx - b.gx).cwiseAbs().maxCoeff() < 1e-12);
  }
  // With edge values: map the causal Csr positions to dense edge ids.
  MatD e = random_matrix(36, 1, 4), ec(c.num_edges(), 1);
  for (int64_t dd = 0; dd < 6; ++dd)
    for (int64_t p = c.indptr[dd]; p < c.indptr[dd + 1]; ++p) ec(p, 0) = e(dd * 6 + c.indices[p], 0);
  Out a = run(GraphRef(d), x, &e, ops::Reduce::Sum), b = run(GraphRef(c), x, &ec, ops::Reduce::Sum);
  CHECK((a.y - b.y).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((a.gx - b.gx).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("zero in-degree destinations get zero, for sum and mean") {
  std::vector<int32_t> src{0, 1}, dst{1, 1};
  const Csr g = Csr::from_edges(3, src, dst);
  const MatD x = random_matrix(3, 4, 6);
  for (auto red : {ops::Reduce::Sum, ops::Reduce::Mean}) {
    Out o = run(GraphRef(g), x, nullptr, red);
    CHECK(o.y.row(0).isZero());
    CHECK(o.y.row(2).isZero());
    const MatD expect = red == ops::Reduce::Sum ? MatD(x.row(0) + x.row(1)) : MatD(0.5 * (x.row(0) + x.row(1)));
    CHECK((o.y.row(1) - expect).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(o.gx.row(2).isZero());  // node 2 sends nothing
  }
}

TEST_CASE("gspmm is bit-identical across thread counts") {
  // A larger random graph so the parallel path is taken.
  const int n = 3000;
  std::vector<int32_t> src, dst;
  Rng rng(7);
  for (int i = 0; i < 40000; ++i) {
    src.push_back(static_cast<int32_t>(rng.below(n)));
    dst.push_back(static_cast<int32_t>(rng.below(n)));
  }
  const Csr g = Csr::from_edges(n, src, dst);
  const Mat x = random_matrix(n, 16, 8).cast<float>();
  auto once = [&](int threads) {
    omp_set_num_threads(threads);
    Tape<float> t;
    Var xv = t.leaf(x);
    Var y = ops::gspmm(t, GraphRef(g), xv, ops::Reduce::Mean);
    t.backward(ops::weighted_sum(t, y, Mat(Mat::Ones(n, 16))));
    return std::pair{Mat(t.value(y)), Mat(t.grad(xv))};
  };
  auto one = once(1), two = once(2);
  omp_set_num_threads(omp_get_num_procs());
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}
