// Fused dense attention (ops::dense_attention, kernels/attention): central-difference gradients
// on small batched blocks, values and gradients against a naive reference that materialises
// each block's scores, block lengths around the tile size, determinism across thread counts,
// edge cases (empty blocks, blocks of length 1) and shape errors. The options (T5 relative
// position bias, l2 normalisation, attention dropout) are checked the same way, plus T5 bucket
// values, the dropout's kept fraction and the l2 "counting" property.
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
#include "core/rng.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck;
using locus::testing::random_matrix;

namespace {

struct Reference {
  MatD out, dq, dk, dv, dbias;
};

// Options of the naive reference beyond scale and clamp.
struct RefOptions {
  AttnNorm norm = AttnNorm::Softmax;
  const MatD* bias = nullptr;  // [heads, num_buckets]
  int max_distance = 128;
  double dropout = 0;
  uint64_t key = 0;
};

// Naive attention in double: per block and head, the full score matrix
// S = clamp(scale · Q Kᵀ) + B with B_ij = bias[h][relative_bucket(j − i)], causal entries masked,
// row-normalised A (softmax, or l2: exp(S) / √(Σ_j exp(2S))), the dropout multipliers
// Z_ij = [uniform_at(key, dropout_counter(i, j, h)) ≥ p] / (1 − p), out = (Z ∘ A) V. With dout
// given, the gradients by the materialised formulas G = dO Vᵀ, dA = Z ∘ G, D_i = Σ_j A_ij dA_ij,
// dS = A ∘ (dA − D) (l2: A ∘ (dA − A ∘ D)), dbias[h][bucket(j − i)] = Σ dS_ij,
// dQ = scale · (dS ∘ C) K, dK = scale · (dS ∘ C)ᵀ Q with C = [|scale·qk| < c], dV = (Z ∘ A)ᵀ dO.
Reference naive_attention(const Dense& g, const MatD& q, const MatD& k, const MatD& v, int heads, double scale,
                          double clamp, const MatD* dout = nullptr, const RefOptions& o = {}) {
  const int64_t d = q.cols() / heads, n = q.rows();
  const int nb = o.bias ? static_cast<int>(o.bias->cols()) : 0;
  Reference r{MatD::Zero(n, q.cols()), MatD::Zero(n, q.cols()), MatD::Zero(n, q.cols()), MatD::Zero(n, q.cols()),
              MatD::Zero(heads, nb)};
  const float pf = static_cast<float>(o.dropout);
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t off = g.offsets[b], len = g.block_len(b);
    if (len == 0) continue;
    for (int h = 0; h < heads; ++h) {
      const MatD qb = q.block(off, h * d, len, d), kb = k.block(off, h * d, len, d), vb = v.block(off, h * d, len, d);
      const MatD raw = scale * qb * kb.transpose();
      MatD s = raw, a = MatD::Zero(len, len), z = MatD::Zero(len, len);
      if (clamp > 0) s = s.cwiseMax(-clamp).cwiseMin(clamp);
      for (int64_t i = 0; i < len; ++i)
        for (int64_t j = 0; j < len; ++j) {
          if (o.bias) s(i, j) += (*o.bias)(h, relative_bucket(j - i, !g.causal, nb, o.max_distance));
          z(i, j) = o.dropout == 0 ? 1.0
                    : Rng::uniform_at(o.key, kernels::dropout_counter(off + i, off + j, h, n, heads)) >= pf
                        ? 1.0 / (1.0 - o.dropout)
                        : 0.0;
        }
      for (int64_t i = 0; i < len; ++i) {
        const int64_t nk = g.causal ? i + 1 : len;
        const double mx = s.row(i).head(nk).maxCoeff();
        for (int64_t j = 0; j < nk; ++j) a(i, j) = std::exp(s(i, j) - mx);
        a.row(i) /= o.norm == AttnNorm::L2 ? std::sqrt(a.row(i).squaredNorm()) : a.row(i).sum();
      }
      const MatD za = z.cwiseProduct(a);
      r.out.block(off, h * d, len, d) = za * vb;
      if (!dout) continue;
      const MatD dob = dout->block(off, h * d, len, d);
      const MatD da = z.cwiseProduct(dob * vb.transpose());
      const Eigen::VectorXd delta = a.cwiseProduct(da).rowwise().sum();
      MatD ds(len, len);
      for (int64_t i = 0; i < len; ++i)
        for (int64_t j = 0; j < len; ++j)
          ds(i, j) = a(i, j) * (da(i, j) - (o.norm == AttnNorm::L2 ? a(i, j) : 1.0) * delta(i));
      if (o.bias)
        for (int64_t i = 0; i < len; ++i)
          for (int64_t j = 0; j < (g.causal ? i + 1 : len); ++j)
            r.dbias(h, relative_bucket(j - i, !g.causal, nb, o.max_distance)) += ds(i, j);
      if (clamp > 0)
        for (int64_t i = 0; i < len; ++i)
          for (int64_t j = 0; j < len; ++j)
            if (std::abs(raw(i, j)) >= clamp) ds(i, j) = 0;
      r.dq.block(off, h * d, len, d) = scale * ds * kb;
      r.dk.block(off, h * d, len, d) = scale * ds.transpose() * qb;
      r.dv.block(off, h * d, len, d) = za.transpose() * dob;
    }
  }
  return r;
}

double max_rel_err(const MatD& a, const MatD& b) {
  if (a.size() == 0) return 0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

// The first of c, c + 0.01, c + 0.02, ... that no |scale · <q_i, k_j>| (same block and head)
// comes within 1e-6 of: float and double then agree on the clamp's pass-through mask (a score
// a few ulps from ±c flips it and its whole dS_ij in the float gradients).
double safe_clamp(const Dense& g, const MatD& q, const MatD& k, int heads, double scale, double c) {
  const int64_t d = q.cols() / heads;
  for (;; c += 0.01) {
    bool ok = true;
    for (int64_t b = 0; b < g.num_blocks() && ok; ++b)
      for (int h = 0; h < heads && ok; ++h) {
        const int64_t o = g.offsets[b], len = g.block_len(b);
        const MatD raw = scale * q.block(o, h * d, len, d) * k.block(o, h * d, len, d).transpose();
        ok = len == 0 || ((raw.array().abs() - c).abs().minCoeff() > 1e-6);
      }
    if (ok) return c;
  }
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
          t.grad(kv).template cast<double>(), t.grad(vv).template cast<double>(), MatD()};
}

// The same through the AttnConfig overload with the reference's options (training = dropout on).
template <class T>
Reference run_op(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& w, int heads, double scale,
                 double clamp, const RefOptions& o) {
  Tape<T> t;
  Var qv = t.leaf(q.cast<T>()), kv = t.leaf(k.cast<T>()), vv = t.leaf(v.cast<T>());
  Var bv = o.bias ? t.leaf(o.bias->cast<T>()) : Var{};
  AttnConfig cfg;
  cfg.scale = scale;
  cfg.clamp = clamp;
  cfg.norm = o.norm;
  cfg.max_distance = o.max_distance;
  cfg.dropout = o.dropout;
  Var out = ops::dense_attention(t, g, qv, kv, vv, heads, cfg, bv, true, o.key);
  t.backward(ops::weighted_sum(t, out, MatT<T>(w.cast<T>())));
  return {t.value(out).template cast<double>(), t.grad(qv).template cast<double>(),
          t.grad(kv).template cast<double>(), t.grad(vv).template cast<double>(),
          o.bias ? MatD(t.grad(bv).template cast<double>()) : MatD()};
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

// ---- Options: T5 relative position bias, l2 normalisation, attention dropout ----

TEST_CASE("relative_bucket: T5 values (32 buckets, max_distance 128)") {
  // Bidirectional: 16 buckets per side, rel > 0 adds 16; |rel| < 8 exact; otherwise
  // 8 + ⌊log(|rel| / 8) / log(128 / 8) · 8⌋, at most 15.
  CHECK(relative_bucket(0, true, 32, 128) == 0);
  CHECK(relative_bucket(1, true, 32, 128) == 17);
  CHECK(relative_bucket(-1, true, 32, 128) == 1);
  CHECK(relative_bucket(7, true, 32, 128) == 23);
  CHECK(relative_bucket(-7, true, 32, 128) == 7);
  CHECK(relative_bucket(8, true, 32, 128) == 24);     // 16 + 8 + ⌊log 1⌋
  CHECK(relative_bucket(-8, true, 32, 128) == 8);
  CHECK(relative_bucket(15, true, 32, 128) == 25);    // ⌊log(15/8) / log 16 · 8⌋ = ⌊1.81⌋ = 1
  CHECK(relative_bucket(20, true, 32, 128) == 26);    // ⌊log 2.5 / log 16 · 8⌋ = ⌊2.64⌋ = 2
  CHECK(relative_bucket(-20, true, 32, 128) == 10);
  CHECK(relative_bucket(-50, true, 32, 128) == 13);   // ⌊log 6.25 / log 16 · 8⌋ = ⌊5.29⌋ = 5
  CHECK(relative_bucket(100, true, 32, 128) == 31);   // ⌊7.29⌋ = 7
  CHECK(relative_bucket(127, true, 32, 128) == 31);   // ⌊7.98⌋ = 7
  CHECK(relative_bucket(1000, true, 32, 128) == 31);  // capped at the side's last bucket
  CHECK(relative_bucket(-1000, true, 32, 128) == 15);
  // Unidirectional (causal): rel > 0 → 0; all 32 buckets for −rel, |rel| < 16 exact, otherwise
  // 16 + ⌊log(|rel| / 16) / log(128 / 16) · 16⌋, at most 31.
  CHECK(relative_bucket(5, false, 32, 128) == 0);
  CHECK(relative_bucket(0, false, 32, 128) == 0);
  CHECK(relative_bucket(-1, false, 32, 128) == 1);
  CHECK(relative_bucket(-15, false, 32, 128) == 15);
  CHECK(relative_bucket(-16, false, 32, 128) == 16);
  CHECK(relative_bucket(-20, false, 32, 128) == 17);   // ⌊log 1.25 / log 8 · 16⌋ = ⌊1.72⌋ = 1
  CHECK(relative_bucket(-40, false, 32, 128) == 23);   // ⌊log 2.5 / log 8 · 16⌋ = ⌊7.05⌋ = 7
  CHECK(relative_bucket(-100, false, 32, 128) == 30);  // ⌊log 6.25 / log 8 · 16⌋ = ⌊14.1⌋ = 14
  CHECK(relative_bucket(-128, false, 32, 128) == 31);
  CHECK(relative_bucket(-5000, false, 32, 128) == 31);
  // Monotone in |rel| on each side, within range.
  for (bool bi : {true, false})
    for (int64_t r = 1; r < 400; ++r) {
      CHECK(relative_bucket(-r, bi, 32, 128) >= relative_bucket(-(r - 1), bi, 32, 128));
      CHECK(relative_bucket(-r, bi, 32, 128) < (bi ? 16 : 32));
      if (bi) CHECK(relative_bucket(r, bi, 32, 128) >= 16);
    }
}

TEST_CASE("dense attention options: gradients w.r.t. q, k, v and the bias table") {
  // Blocks of lengths 3, 1, 0, 7; 8 buckets, max_distance 5: bidirectional sides of 4 buckets
  // (offsets 0, 1 exact, 2..4 logarithmic, ≥ 5 last), causal 8 buckets (0..3 exact, 4.. log).
  const std::vector<int64_t> lens{3, 1, 0, 7};
  const int heads = 2, d = 3, nb = 8;
  const int64_t n = 11;
  for (bool causal : {false, true})
    for (AttnNorm norm : {AttnNorm::Softmax, AttnNorm::L2})
      for (double dropout : {0.0, 0.3})
        for (bool bias : {false, true}) {
          CAPTURE(causal);
          CAPTURE(static_cast<int>(norm));
          CAPTURE(dropout);
          CAPTURE(bias);
          const Dense g = Dense::blocks(lens, causal);
          const MatD w = random_matrix(n, heads * d, 60);
          AttnConfig cfg;
          cfg.scale = 1.3;
          cfg.clamp = bias && dropout > 0 ? 0.9 : 0.0;  // one clamped combination
          cfg.norm = norm;
          cfg.max_distance = 5;
          cfg.dropout = dropout;
          std::vector<MatD> in{random_matrix(n, heads * d, 61), random_matrix(n, heads * d, 62),
                               random_matrix(n, heads * d, 63)};
          if (bias) in.push_back(random_matrix(heads, nb, 64));
          check_grad(
              [&](auto& t, auto& x) {
                return ops::weighted_sum(
                    t, ops::dense_attention(t, g, x[0], x[1], x[2], heads, cfg, bias ? x[3] : Var{}, true, 77), w);
              },
              in);
        }
  // q, k and v one Var, with every option.
  for (bool causal : {false, true}) {
    const Dense g = Dense::blocks(lens, causal);
    const MatD w = random_matrix(n, heads * d, 65);
    AttnConfig cfg;
    cfg.norm = AttnNorm::L2;
    cfg.max_distance = 5;
    cfg.dropout = 0.25;
    check_grad(
        [&](auto& t, auto& x) {
          return ops::weighted_sum(t, ops::dense_attention(t, g, x[0], x[0], x[0], heads, cfg, x[1], true, 5), w);
        },
        {random_matrix(n, heads * d, 66), random_matrix(heads, nb, 67)});
  }
}

TEST_CASE("dense attention options: values and gradients equal the naive reference") {
  // Blocks of length 1 and 7 and one spanning three query tiles and two key tiles (bias slices
  // that start mid-table, causal diagonals through a key tile).
  const std::vector<int64_t> lens{1, 7, 0, 2 * kernels::kAttnQueryTile + 44};
  const int heads = 2, d = 5;
  const MatD table8 = 2 * random_matrix(heads, 8, 70), table32 = 2 * random_matrix(heads, 32, 71);
  for (bool causal : {false, true}) {
    const Dense g = Dense::blocks(lens, causal);
    const int64_t n = g.num_nodes(), cols = heads * d;
    const MatD q = 2 * random_matrix(n, cols, 72), k = 2 * random_matrix(n, cols, 73), v = random_matrix(n, cols, 74),
               w = random_matrix(n, cols, 75);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (AttnNorm norm : {AttnNorm::Softmax, AttnNorm::L2})
      for (int bias : {0, 8, 32})
        for (double dropout : {0.0, 0.2})
          for (double clamp : {0.0, safe_clamp(g, q, k, heads, scale, 0.5)}) {
            CAPTURE(causal);
            CAPTURE(static_cast<int>(norm));
            CAPTURE(bias);
            CAPTURE(dropout);
            CAPTURE(clamp);
            RefOptions o;
            o.norm = norm;
            o.bias = bias == 8 ? &table8 : bias == 32 ? &table32 : nullptr;
            o.max_distance = bias == 8 ? 20 : 128;  // 8 buckets: log buckets within the block
            o.dropout = dropout;
            o.key = 1234;
            const Reference ref = naive_attention(g, q, k, v, heads, scale, clamp, &w, o);
            const Reference rd = run_op<double>(g, q, k, v, w, heads, scale, clamp, o);
            CHECK(max_rel_err(rd.out, ref.out) < 1e-12);
            CHECK(max_rel_err(rd.dq, ref.dq) < 1e-12);
            CHECK(max_rel_err(rd.dk, ref.dk) < 1e-12);
            CHECK(max_rel_err(rd.dv, ref.dv) < 1e-12);
            CHECK(max_rel_err(rd.dbias, ref.dbias) < 1e-12);
            const Reference rf = run_op<float>(g, q, k, v, w, heads, scale, clamp, o);
            CHECK(max_rel_err(rf.out, ref.out) < 1e-5);
            CHECK(max_rel_err(rf.dq, ref.dq) < 1e-4);
            CHECK(max_rel_err(rf.dk, ref.dk) < 1e-4);
            CHECK(max_rel_err(rf.dv, ref.dv) < 1e-4);
            // The table's gradient sums up to ~n²/buckets entries in float.
            CHECK(max_rel_err(rf.dbias, ref.dbias) < 1e-4);
          }
    // Only the bias table wants a gradient (q, k, v constants): the dq pass runs for it alone.
    RefOptions o;
    o.bias = &table32;
    o.norm = AttnNorm::L2;
    o.dropout = 0.2;
    o.key = 9;
    const Reference ref = naive_attention(g, q, k, v, heads, scale, 0.0, &w, o);
    Tape<double> t;
    Var bv = t.leaf(table32);
    AttnConfig cfg;
    cfg.norm = AttnNorm::L2;
    cfg.dropout = 0.2;
    Var out = ops::dense_attention(t, g, t.constant(q), t.constant(k), t.constant(v), heads, cfg, bv, true, 9);
    t.backward(ops::weighted_sum(t, out, w));
    CHECK(max_rel_err(t.grad(bv), ref.dbias) < 1e-12);
  }
}

TEST_CASE("dense attention options: no dropout unless training; p = 0 and defaults equal plain attention") {
  const std::vector<int64_t> lens{5, 1, 9};
  const Dense g = Dense::blocks(lens, false);
  const MatD q = random_matrix(15, 8, 80), k = random_matrix(15, 8, 81), v = random_matrix(15, 8, 82);
  Tape<double> t;
  Var qv = t.constant(q), kv = t.constant(k), vv = t.constant(v);
  const MatD plain = t.value(ops::dense_attention(t, g, qv, kv, vv, 2));
  AttnConfig cfg;
  CHECK(MatD(t.value(ops::dense_attention(t, g, qv, kv, vv, 2, cfg, Var{}, true, 3))) == plain);
  cfg.dropout = 0.5;
  CHECK(MatD(t.value(ops::dense_attention(t, g, qv, kv, vv, 2, cfg, Var{}, false, 3))) == plain);
  const MatD dropped = t.value(ops::dense_attention(t, g, qv, kv, vv, 2, cfg, Var{}, true, 3));
  CHECK((dropped - plain).cwiseAbs().maxCoeff() > 1e-3);
  // Another key, another mask; the same key, the same output.
  CHECK(MatD(t.value(ops::dense_attention(t, g, qv, kv, vv, 2, cfg, Var{}, true, 4))) != dropped);
  CHECK(MatD(t.value(ops::dense_attention(t, g, qv, kv, vv, 2, cfg, Var{}, true, 3))) == dropped);
}

TEST_CASE("dense attention options: the dropout keeps a fraction 1 - p of the weights") {
  // q = k = 0 and no bias: every weight of a row is 1/len; with v = 1, out_i = (kept keys of
  // row i) / (len · (1 − p)). Over 512² draws the kept fraction's standard deviation is < 0.001.
  const int64_t len = 512;
  const Dense g = Dense::complete(len, false);
  for (double p : {0.1, 0.5}) {
    Tape<float> t;
    AttnConfig cfg;
    cfg.dropout = p;
    Var z = t.constant(Mat::Zero(len, 1)), one = t.constant(Mat::Ones(len, 1));
    Var out = ops::dense_attention(t, g, z, z, one, 1, cfg, Var{}, true, 42);
    const double kept = t.value(out).cast<double>().mean() * (1.0 - p);
    CAPTURE(p);
    CHECK(std::abs(kept - (1.0 - p)) < 0.005);
  }
}

TEST_CASE("dense attention options: l2 normalisation counts identical tokens, softmax cannot") {
  // Identical tokens (q = k = v the same row everywhere): only the relative bias tells positions
  // apart. Softmax weights sum to 1, so every output equals v. l2 weights have unit 2-norm, so
  // out_i = (Σ_j a_ij) v varies with the position.
  const int64_t len = 9;
  const int heads = 2, d = 3;
  MatD x(len, heads * d);
  x.rowwise() = random_matrix(1, heads * d, 90).row(0);
  const MatD table = random_matrix(heads, 8, 91);
  for (bool causal : {false, true}) {
    const Dense g = Dense::complete(len, causal);
    Tape<double> t;
    Var xv = t.constant(x), bv = t.constant(table);
    AttnConfig soft, l2;
    soft.max_distance = l2.max_distance = 6;
    l2.norm = AttnNorm::L2;
    const MatD os = t.value(ops::dense_attention(t, g, xv, xv, xv, heads, soft, bv));
    const MatD ol = t.value(ops::dense_attention(t, g, xv, xv, xv, heads, l2, bv));
    CHECK((os.rowwise() - x.row(0)).cwiseAbs().maxCoeff() < 1e-12);
    // Distinct positions give distinct outputs (first column of head 0 per position).
    const Eigen::VectorXd c = ol.col(0);
    double min_gap = 1e30;
    for (int64_t i = 0; i < len; ++i)
      for (int64_t j = i + 1; j < len; ++j) min_gap = std::min(min_gap, std::abs(c(i) - c(j)));
    CAPTURE(causal);
    CHECK(min_gap > 1e-6);
  }
  // Causal, no bias: row i has i + 1 equal weights 1/√(i + 1), so out_i = √(i + 1) · v: a count.
  const Dense g = Dense::complete(len, true);
  Tape<double> t;
  Var xv = t.constant(x);
  AttnConfig l2;
  l2.norm = AttnNorm::L2;
  const MatD ol = t.value(ops::dense_attention(t, g, xv, xv, xv, heads, l2));
  for (int64_t i = 0; i < len; ++i)
    CHECK((ol.row(i) - std::sqrt(static_cast<double>(i + 1)) * x.row(0)).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("dense attention options: bit-identical for 1 and 2 threads (bias, l2, dropout)") {
  const std::vector<int64_t> lens{130, 64, 1, 0, 200, 3 * kernels::kAttnKeyTile + 5};
  const int heads = 2, d = 16;
  const MatD table = random_matrix(heads, 32, 100);
  for (bool causal : {false, true}) {
    const Dense g = Dense::blocks(lens, causal);
    const int64_t n = g.num_nodes();
    const MatD q = 2 * random_matrix(n, heads * d, 101), k = 2 * random_matrix(n, heads * d, 102),
               v = random_matrix(n, heads * d, 103), w = random_matrix(n, heads * d, 104);
    RefOptions o;
    o.norm = AttnNorm::L2;
    o.bias = &table;
    o.dropout = 0.1;
    o.key = 7;
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      return run_op<float>(g, q, k, v, w, heads, 0.25, 0.0, o);
    };
    const Reference a = run(2), b = run(2), c = run(1);
    omp_set_num_threads(omp_get_num_procs());
    for (auto m : {&Reference::out, &Reference::dq, &Reference::dk, &Reference::dv, &Reference::dbias}) {
      CHECK(a.*m == b.*m);
      CHECK(a.*m == c.*m);
    }
  }
}

TEST_CASE("dense attention options: errors") {
  const Dense g = Dense::complete(4), gc = Dense::complete(4, true);
  Tape<float> t;
  Var q = t.leaf(Mat::Zero(4, 6));
  AttnConfig cfg;
  cfg.dropout = 1.0;
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 2, cfg), ShapeError);
  cfg.dropout = -0.1;
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 2, cfg), ShapeError);
  cfg.dropout = 0;
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 2, cfg, t.leaf(Mat::Zero(3, 8))), ShapeError);  // 3 rows, 2 heads
  // Bidirectional needs ≥ 4 buckets (2 per side, 1 exact); causal ≥ 2; max_distance above the exact part.
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 2, cfg, t.leaf(Mat::Zero(2, 3))), ShapeError);
  CHECK_NOTHROW(ops::dense_attention(t, g, q, q, q, 2, cfg, t.leaf(Mat::Zero(2, 4))));
  CHECK_NOTHROW(ops::dense_attention(t, gc, q, q, q, 2, cfg, t.leaf(Mat::Zero(2, 2))));
  cfg.max_distance = 8;
  CHECK_THROWS_AS(ops::dense_attention(t, g, q, q, q, 2, cfg, t.leaf(Mat::Zero(2, 32))), ShapeError);  // 8 ≤ 8 exact
  CHECK(parse_attn_norm("softmax") == AttnNorm::Softmax);
  CHECK(parse_attn_norm("l2") == AttnNorm::L2);
  CHECK_THROWS_AS(parse_attn_norm("sparsemax"), InputError);
}
