// Fused dense attention (ops::dense_attention, kernels/attention): central-difference gradients
// on small batched blocks, values and gradients against a naive reference that materialises
// each block's scores, block lengths around the tile size, determinism across thread counts,
// edge cases (empty blocks, blocks of length 1) and shape errors.
//
// Memory: the kernels allocate nothing whose size depends on a block's length squared (see
// core/kernels/attention.hpp); only the reference below materialises len × len scores.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/attention.hpp"
#include "core/ops/attention.hpp"
#include "core/ops/basic.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck;
using locus::testing::random_matrix;

namespace {

struct Reference {
  MatD out, dq, dk, dv;
};

// Naive attention in double: per block and head, the full score matrix S = scale · Q Kᵀ (clamped),
// causal entries masked, row softmax P, out = P V. With dout given, the gradients by the
// materialised formulas dP = dO Vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)) ∘ [|scale·qk| < c],
// dQ = scale · dS K, dK = scale · dSᵀ Q, dV = Pᵀ dO.
Reference naive_attention(const Dense& g, const MatD& q, const MatD& k, const MatD& v, int heads, double scale,
                          double clamp, const MatD* dout = nullptr) {
  const int64_t d = q.cols() / heads;
  Reference r{MatD::Zero(q.rows(), q.cols()), MatD::Zero(q.rows(), q.cols()), MatD::Zero(q.rows(), q.cols()),
              MatD::Zero(q.rows(), q.cols())};
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b);
    if (len == 0) continue;
    for (int h = 0; h < heads; ++h) {
      const MatD qb = q.block(o, h * d, len, d), kb = k.block(o, h * d, len, d), vb = v.block(o, h * d, len, d);
      const MatD raw = scale * qb * kb.transpose();
      MatD s = raw, p = MatD::Zero(len, len);
      if (clamp > 0) s = s.cwiseMax(-clamp).cwiseMin(clamp);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t nk = g.causal ? i + 1 : len;
        const double mx = s.row(i).head(nk).maxCoeff();
        for (int64_t j = 0; j < nk; ++j) p(i, j) = std::exp(s(i, j) - mx);
        p.row(i) /= p.row(i).sum();
      }
      r.out.block(o, h * d, len, d) = p * vb;
      if (!dout) continue;
      const MatD dob = dout->block(o, h * d, len, d);
      const MatD dp = dob * vb.transpose();
      MatD ds = p.cwiseProduct(dp);
      const Eigen::VectorXd rowsum = ds.rowwise().sum();
      ds = p.cwiseProduct(dp.colwise() - rowsum);
      if (clamp > 0)
        for (int64_t i = 0; i < len; ++i)
          for (int64_t j = 0; j < len; ++j)
            if (std::abs(raw(i, j)) >= clamp) ds(i, j) = 0;
      r.dq.block(o, h * d, len, d) = scale * ds * kb;
      r.dk.block(o, h * d, len, d) = scale * ds.transpose() * qb;
      r.dv.block(o, h * d, len, d) = p.transpose() * dob;
    }
  }
  return r;
}

double max_rel_err(const MatD& a, const MatD& b) {
  if (a.size() == 0) return 0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

void check_grad(const locus::testing::GradFn& f, std::vector<MatD> inputs) {
  auto r = gradcheck(f, std::move(inputs));
  CHECK(r.size() > 0);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));
}

// Runs the op on a tape of T: out and the gradients of Σ w ∘ out, as double matrices.
template <class T>
Reference run_op(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& w, int heads, double scale,
                 double clamp) {
  Tape<T> t;
  Var qv = t.leaf(q.cast<T>()), kv = t.leaf(k.cast<T>()), vv = t.leaf(v.cast<T>());
  Var out = ops::dense_attention(t, g, qv, kv, vv, heads, static_cast<T>(scale), static_cast<T>(clamp));
  t.backward(ops::weighted_sum(t, out, MatT<T>(w.cast<T>())));
  return {t.value(out).template cast<double>(), t.grad(qv).template cast<double>(),
          t.grad(kv).template cast<double>(), t.grad(vv).template cast<double>()};
}

}  // namespace

TEST_CASE("dense attention: gradients on batched blocks (causal, clamp, empty and single blocks)") {
  const std::vector<int64_t> lens{3, 1, 0, 5};
  const int heads = 2, d = 3;
  const int64_t n = 9;
  for (bool causal : {false, true})
    for (double clamp : {0.0, 0.4}) {
      CAPTURE(causal);
      CAPTURE(clamp);
      const Dense g = Dense::blocks(lens, causal);
      const MatD w = random_matrix(n, heads * d, 20);
      check_grad(
          [&](auto& t, auto& x) {
            return ops::weighted_sum(t, ops::dense_attention(t, g, x[0], x[1], x[2], heads, 1.3, clamp), w);
          },
          {random_matrix(n, heads * d, 21), random_matrix(n, heads * d, 22), random_matrix(n, heads * d, 23)});
    }
}

TEST_CASE("dense attention: gradient when q, k and v are one Var (default scale 1/sqrt(d))") {
  const std::vector<int64_t> lens{3, 1, 0, 5};
  const int heads = 2, d = 3;
  for (bool causal : {false, true}) {
    const Dense g = Dense::blocks(lens, causal);
    const MatD w = random_matrix(9, heads * d, 24);
    check_grad(
        [&](auto& t, auto& x) { return ops::weighted_sum(t, ops::dense_attention(t, g, x[0], x[0], x[0], heads), w); },
        {random_matrix(9, heads * d, 25)});
  }
}

TEST_CASE("dense attention: values and gradients equal the naive reference around the tile size") {
  // Block lengths on both sides of the query and key tile sizes, and spanning several tiles
  // (partial last tiles, causal diagonals that cut through a key tile).
  constexpr int64_t bq = kernels::kAttnQueryTile, bk = kernels::kAttnKeyTile;
  const std::vector<std::vector<int64_t>> batches{
      {1}, {63}, {64}, {65}, {130}, {bq - 1}, {bq + 1}, {bk}, {bk + 1}, {2 * bk + bq / 2 + 3},
      {1, 63, 0, 64, 65, 130, bq, bk - 1, 2}};
  const int heads = 2;
  for (int64_t d : {5, 16})
    for (const auto& lens : batches)
      for (bool causal : {false, true})
        for (double clamp : {0.0, 0.5}) {
          const Dense g = Dense::blocks(lens, causal);
          const int64_t n = g.num_nodes(), cols = heads * d;
          CAPTURE(d);
          CAPTURE(n);
          CAPTURE(causal);
          CAPTURE(clamp);
          // Entries U(-2, 2) so that scores spread and the softmax is far from uniform.
          const MatD q = 2 * random_matrix(n, cols, 30), k = 2 * random_matrix(n, cols, 31),
                     v = random_matrix(n, cols, 32), w = random_matrix(n, cols, 33);
          const double scale = 1.0 / std::sqrt(static_cast<double>(d));
          const Reference ref = naive_attention(g, q, k, v, heads, scale, clamp, &w);
          const Reference rd = run_op<double>(g, q, k, v, w, heads, scale, clamp);
          CHECK(max_rel_err(rd.out, ref.out) < 1e-12);
          CHECK(max_rel_err(rd.dq, ref.dq) < 1e-12);
          CHECK(max_rel_err(rd.dk, ref.dk) < 1e-12);
          CHECK(max_rel_err(rd.dv, ref.dv) < 1e-12);
          // Float against the double reference: sums over up to 130 keys in single precision.
          const Reference rf = run_op<float>(g, q, k, v, w, heads, scale, clamp);
          CHECK(max_rel_err(rf.out, ref.out) < 1e-5);
          CHECK(max_rel_err(rf.dq, ref.dq) < 1e-4);
          CHECK(max_rel_err(rf.dk, ref.dk) < 1e-4);
          CHECK(max_rel_err(rf.dv, ref.dv) < 1e-4);
        }
}

TEST_CASE("dense attention: a block of length 1 returns its value row; an empty graph works") {
  const std::vector<int64_t> lens{1, 0, 1};
  const Dense g = Dense::blocks(lens, false);
  Tape<double> t;
  const MatD v = random_matrix(2, 6, 40);
  Var out = ops::dense_attention(t, g, t.leaf(random_matrix(2, 6, 41)), t.leaf(random_matrix(2, 6, 42)),
                                 t.leaf(v), 3);
  CHECK((MatD(t.value(out)) - v).cwiseAbs().maxCoeff() < 1e-15);

  const Dense empty = Dense::blocks(std::vector<int64_t>{0, 0}, true);
  Tape<float> te;
  Var z = te.leaf(Mat(0, 8));
  Var oz = ops::dense_attention(te, empty, z, z, z, 2);
  CHECK(te.rows(oz) == 0);
  CHECK(te.cols(oz) == 8);
  te.backward(ops::weighted_sum(te, oz, Mat(0, 8)));
  CHECK(te.grad(z).size() == 0);
}

TEST_CASE("dense attention: bit-identical for a thread count, 1 and 2 threads agree") {
  // Several query and key tiles per block, so that both passes run many tasks.
  const std::vector<int64_t> lens{130, 64, 1, 0, 200, 3 * kernels::kAttnKeyTile + 5};
  const int heads = 2, d = 16;
  for (bool causal : {false, true}) {
    const Dense g = Dense::blocks(lens, causal);
    const int64_t n = g.num_nodes();
    const MatD q = 2 * random_matrix(n, heads * d, 50), k = 2 * random_matrix(n, heads * d, 51),
               v = random_matrix(n, heads * d, 52), w = random_matrix(n, heads * d, 53);
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      return run_op<float>(g, q, k, v, w, heads, 0.25, 0.0);
    };
    const Reference a = run(2), b = run(2), c = run(1);
    omp_set_num_threads(omp_get_num_procs());
    for (auto m : {&Reference::out, &Reference::dq, &Reference::dk, &Reference::dv}) {
      CHECK(a.*m == b.*m);
      CHECK(max_rel_err(a.*m, c.*m) < 1e-5);
      // Every row is computed by one task whatever the thread count, so even 1 vs 2 threads match.
      CHECK(a.*m == c.*m);
    }
  }
}

TEST_CASE("dense attention: shape errors") {
  const Dense g = Dense::complete(4);
  Tape<float> t;
  Var q = t.leaf(Mat::Zero(4, 6)), k5 = t.leaf(Mat::Zero(5, 6)), k7 = t.leaf(Mat::Zero(4, 7));
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, k5, q, 2), ShapeError);
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, k7, q, 2), ShapeError);
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 4), ShapeError);  // 6 columns, 4 heads
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 0), ShapeError);
  CHECK_THROWS_AS(ops::dense_attention(t, g, k5, k5, k5, 2), ShapeError);  // 5 rows, 4 nodes
}
