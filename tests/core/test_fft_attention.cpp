// FFT kernelized attention with a relative bias (ops::fft_attention, kernels/fft_attention):
// the FFT path and the quadratic path against a naive reference of the formula (unstabilised,
// explicit n×n matrix per block), block lengths 0, 1, primes and non-powers of two, the bias
// radius above and below the block length, central-difference gradients in double, directional
// derivatives on longer blocks, stabilisation under huge inputs, 1 vs 2 threads, shape errors.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/fft_attention.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/fft_attention.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::random_matrix;

namespace {

using kernels::FftAttentionOptions;
using kernels::FftFeatureMap;

FftAttentionOptions prf(int64_t m, uint64_t seed = 7) { return {FftFeatureMap::PositiveRandom, m, seed}; }
FftAttentionOptions elu1() { return {FftFeatureMap::EluPlusOne, 0, 0}; }

// Both transform paths: real-to-complex (pack_max_length 0) and packed complex (always).
std::vector<FftAttentionOptions> both_paths(std::initializer_list<FftAttentionOptions> opts) {
  std::vector<FftAttentionOptions> r;
  for (FftAttentionOptions o : opts)
    for (int64_t pack : {int64_t(0), int64_t(1) << 40}) {
      o.pack_max_length = pack;
      r.push_back(o);
    }
  return r;
}

// φ(x̃) of one row, straight from the definition (no stabiliser).
Eigen::VectorXd phi(const Eigen::VectorXd& x, const MatD& w, FftFeatureMap fmap) {
  if (fmap == FftFeatureMap::EluPlusOne)
    return x.unaryExpr([](double s) { return s > 0 ? s + 1 : std::exp(s); });
  const double m = static_cast<double>(w.rows());
  return ((w * x).array() - 0.5 * x.squaredNorm()).exp() / std::sqrt(m);
}

// The formula with the explicit n×n matrix a_ij = φ(q̃_i)ᵀφ(k̃_j)·exp(b(i − j)) per block and head.
MatD naive(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& bias, int heads,
           const FftAttentionOptions& opt) {
  const int64_t d = q.cols() / heads, radius = (bias.cols() - 1) / 2;
  const MatD w = kernels::fft_attention_projection<double>(opt, d);
  const double s = std::pow(static_cast<double>(d), -0.25);
  MatD out = MatD::Zero(q.rows(), q.cols());
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b);
    for (int h = 0; h < heads; ++h) {
      std::vector<Eigen::VectorXd> qf, kf;
      for (int64_t i = 0; i < len; ++i) {
        qf.push_back(phi(s * q.block(o + i, h * d, 1, d).transpose(), w, opt.feature_map));
        kf.push_back(phi(s * k.block(o + i, h * d, 1, d).transpose(), w, opt.feature_map));
      }
      MatD a(len, len);
      for (int64_t i = 0; i < len; ++i)
        for (int64_t j = 0; j < len; ++j)
          a(i, j) = qf[i].dot(kf[j]) * std::exp(bias(h, radius + std::clamp(i - j, -radius, radius)));
      const MatD num = a * v.block(o, h * d, len, d);
      for (int64_t i = 0; i < len; ++i) out.block(o + i, h * d, 1, d) = num.row(i) / a.row(i).sum();
    }
  }
  return out;
}

double max_rel_err(const MatD& a, const MatD& b) {
  if (a.size() == 0) return 0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

// Kernel outputs in precision T, returned as double.
template <class T>
MatD fft_forward(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& bias, int heads,
                 const FftAttentionOptions& opt) {
  const int64_t d = q.cols() / heads;
  const MatT<T> qt = q.cast<T>(), kt = k.cast<T>(), vt = v.cast<T>(), bt = bias.cast<T>();
  const MatT<T> w = kernels::fft_attention_projection<T>(opt, d);
  MatT<T> out(q.rows(), q.cols());
  kernels::fft_attention_forward<T>(g, qt.data(), kt.data(), vt.data(), bt.data(), (bias.cols() - 1) / 2, heads, d,
                                    opt, w.data(), out.data(), nullptr);
  return out.template cast<double>();
}

template <class T>
MatD quadratic_forward(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& bias, int heads,
                       const FftAttentionOptions& opt) {
  const int64_t d = q.cols() / heads;
  const MatT<T> qt = q.cast<T>(), kt = k.cast<T>(), vt = v.cast<T>(), bt = bias.cast<T>();
  const MatT<T> w = kernels::fft_attention_projection<T>(opt, d);
  MatT<T> out(q.rows(), q.cols());
  kernels::fft_attention_quadratic_forward<T>(g, qt.data(), kt.data(), vt.data(), bt.data(), (bias.cols() - 1) / 2,
                                              heads, d, opt, w.data(), out.data());
  return out.template cast<double>();
}

struct OpResult {
  MatD out, dq, dk, dv, db;
};

// The op on a tape of T: out and the gradients of Σ wgt ∘ out.
template <class T>
OpResult run_op(const Dense& g, const MatD& q, const MatD& k, const MatD& v, const MatD& bias, const MatD& wgt,
                int heads, const FftAttentionOptions& opt) {
  Tape<T> t;
  Var qv = t.leaf(q.cast<T>()), kv = t.leaf(k.cast<T>()), vv = t.leaf(v.cast<T>()), bv = t.leaf(bias.cast<T>());
  Var out = ops::fft_attention(t, g, qv, kv, vv, bv, heads, opt);
  t.backward(ops::weighted_sum(t, out, MatT<T>(wgt.cast<T>())));
  return {t.value(out).template cast<double>(), t.grad(qv).template cast<double>(),
          t.grad(kv).template cast<double>(), t.grad(vv).template cast<double>(),
          t.grad(bv).template cast<double>()};
}

}  // namespace

TEST_CASE("fft attention: FFT and quadratic paths equal the naive formula (blocks 0, 1, primes, radius clipping)") {
  const std::vector<std::vector<int64_t>> batches{{1}, {2}, {7}, {33}, {64}, {100}, {1, 0, 13, 64, 1, 45}};
  for (const auto& opt : both_paths({prf(8), elu1()}))
    for (int heads : {1, 3})
      for (int64_t radius : {2, 70})  // clipped (|r| > 2 shares the end columns) and unclipped
        for (const auto& lens : batches) {
          const Dense g = Dense::blocks(lens);
          const int64_t n = g.num_nodes(), d = 5;
          CAPTURE(n);
          CAPTURE(heads);
          CAPTURE(radius);
          CAPTURE(static_cast<int>(opt.feature_map));
          CAPTURE(opt.pack_max_length);
          const MatD q = 1.5 * random_matrix(n, heads * d, 1), k = 1.5 * random_matrix(n, heads * d, 2),
                     v = random_matrix(n, heads * d, 3), bias = 2 * random_matrix(heads, 2 * radius + 1, 4);
          const MatD ref = naive(g, q, k, v, bias, heads, opt);
          CHECK(max_rel_err(fft_forward<double>(g, q, k, v, bias, heads, opt), ref) < 1e-10);
          CHECK(max_rel_err(quadratic_forward<double>(g, q, k, v, bias, heads, opt), ref) < 1e-10);
          CHECK(max_rel_err(fft_forward<float>(g, q, k, v, bias, heads, opt), ref) < 1e-4);
          CHECK(max_rel_err(quadratic_forward<float>(g, q, k, v, bias, heads, opt), ref) < 1e-4);
        }
}

TEST_CASE("fft attention: FFT equals quadratic on longer blocks (float and double)") {
  // 500 → L = 1000 (2³·5³), 729 → L = 1458 (2·3⁶), 1024 → 2048.
  const std::vector<int64_t> lens{500, 729, 1024};
  const int heads = 2;
  const int64_t d = 8;
  const Dense g = Dense::blocks(lens);
  const int64_t n = g.num_nodes();
  const MatD q = random_matrix(n, heads * d, 11), k = random_matrix(n, heads * d, 12),
             v = random_matrix(n, heads * d, 13), bias = random_matrix(heads, 2 * 1024 - 1, 14);
  for (const auto& opt : both_paths({prf(16), elu1()})) {
    CAPTURE(opt.pack_max_length);
    const MatD qd = quadratic_forward<double>(g, q, k, v, bias, heads, opt);
    CHECK(max_rel_err(fft_forward<double>(g, q, k, v, bias, heads, opt), qd) < 1e-10);
    CHECK(max_rel_err(fft_forward<float>(g, q, k, v, bias, heads, opt), qd) < 1e-4);
    CHECK(max_rel_err(quadratic_forward<float>(g, q, k, v, bias, heads, opt), qd) < 1e-4);
  }
}

TEST_CASE("fft attention: central-difference gradients w.r.t. q, k, v and the bias table") {
  const std::vector<int64_t> lens{3, 1, 0, 6};
  const int heads = 2;
  const int64_t d = 3, n = 10;
  for (const auto& opt : both_paths({prf(5), elu1()}))
    for (int64_t radius : {2, 6}) {
      CAPTURE(radius);
      CAPTURE(opt.pack_max_length);
      CAPTURE(static_cast<int>(opt.feature_map));
      const Dense g = Dense::blocks(lens);
      const MatD wgt = random_matrix(n, heads * d, 20);
      check_grad(
          [&](auto& t, auto& x) {
            return ops::weighted_sum(t, ops::fft_attention(t, g, x[0], x[1], x[2], x[3], heads, opt), wgt);
          },
          {random_matrix(n, heads * d, 21), random_matrix(n, heads * d, 22), random_matrix(n, heads * d, 23),
           random_matrix(heads, 2 * radius + 1, 24)});
    }
  // q, k and v one Var (self-attention), every gradient term adds into one buffer.
  const Dense g = Dense::blocks(lens);
  const MatD wgt = random_matrix(n, heads * d, 25);
  check_grad(
      [&](auto& t, auto& x) {
        return ops::weighted_sum(t, ops::fft_attention(t, g, x[0], x[0], x[0], x[1], heads, prf(4)), wgt);
      },
      {random_matrix(n, heads * d, 26), random_matrix(heads, 5, 27)});
}

TEST_CASE("fft attention: directional derivatives on long blocks match central differences") {
  // Longer blocks than a full gradcheck affords: ⟨∇f, D⟩ against (f(x + hD) − f(x − hD)) / 2h for
  // one random direction D per input.
  const std::vector<int64_t> lens{150, 1, 77};
  const int heads = 2;
  const int64_t d = 4, radius = 40;
  const Dense g = Dense::blocks(lens);
  const int64_t n = g.num_nodes();
  const std::vector<MatD> x0{random_matrix(n, heads * d, 30), random_matrix(n, heads * d, 31),
                             random_matrix(n, heads * d, 32), random_matrix(heads, 2 * radius + 1, 33)};
  const MatD wgt = random_matrix(n, heads * d, 34);
  for (const auto& opt : both_paths({prf(7), elu1()})) {  // 7: an odd feature count, a lone last column when packed
    CAPTURE(opt.pack_max_length);
    auto f = [&](const std::vector<MatD>& x) {
      return (run_op<double>(g, x[0], x[1], x[2], x[3], wgt, heads, opt).out.cwiseProduct(wgt)).sum();
    };
    const OpResult r = run_op<double>(g, x0[0], x0[1], x0[2], x0[3], wgt, heads, opt);
    const std::vector<const MatD*> grads{&r.dq, &r.dk, &r.dv, &r.db};
    for (size_t i = 0; i < x0.size(); ++i) {
      const MatD dir = random_matrix(x0[i].rows(), x0[i].cols(), 40 + i);
      const double h = 1e-5;
      std::vector<MatD> xp = x0, xm = x0;
      xp[i] += h * dir;
      xm[i] -= h * dir;
      const double numeric = (f(xp) - f(xm)) / (2 * h), analytic = grads[i]->cwiseProduct(dir).sum();
      CAPTURE(i);
      CHECK(std::abs(analytic - numeric) <= 1e-7 + 1e-6 * std::abs(numeric));
    }
  }
}

TEST_CASE("fft attention: stabilised for huge features and biases (float)") {
  // Unstabilised, exp(w·x̃ − |x̃|²/2) underflows and exp(b) overflows in float; the kernels scale
  // them away (a per-query, per-block-key and per-block-bias constant cancels in out).
  const std::vector<int64_t> lens{40, 9};
  const int heads = 2;
  const int64_t d = 4, radius = 50;
  const Dense g = Dense::blocks(lens);
  const int64_t n = g.num_nodes();
  const MatD q = 12 * random_matrix(n, heads * d, 50), k = 12 * random_matrix(n, heads * d, 51),
             v = random_matrix(n, heads * d, 52);
  const MatD bias = (100 + 3 * random_matrix(heads, 2 * radius + 1, 53).array()).matrix();
  const MatD wgt = random_matrix(n, heads * d, 54);
  for (const FftAttentionOptions& opt : both_paths({prf(8)})) {
    CAPTURE(opt.pack_max_length);
    // The reference shifts the bias by −100 (out is invariant) so that double does not overflow.
    const MatD ref = naive(g, q, k, v, (bias.array() - 100).matrix(), heads, opt);
    const OpResult r = run_op<float>(g, q, k, v, bias, wgt, heads, opt);
    CHECK(r.out.allFinite());
    CHECK(r.dq.allFinite());
    CHECK(r.dk.allFinite());
    CHECK(r.dv.allFinite());
    CHECK(r.db.allFinite());
    CHECK(max_rel_err(r.out, ref) < 1e-3);  // float FFT with features spread over many decades
    // Gradients are invariant to the shift as well (double, against the shifted bias).
    const OpResult a = run_op<double>(g, q, k, v, bias, wgt, heads, opt);
    const OpResult b = run_op<double>(g, q, k, v, (bias.array() - 100).matrix(), wgt, heads, opt);
    CHECK(max_rel_err(a.out, b.out) < 1e-10);
    CHECK(max_rel_err(a.dq, b.dq) < 1e-9);
    CHECK(max_rel_err(a.db, b.db) < 1e-9);
  }
}

TEST_CASE("fft attention: positive random features approximate the softmax kernel") {
  // E[φ(x)ᵀφ(y)] = exp(xᵀy) for W with N(0, 1) entries; with m = 20000 features the estimate is
  // within a few percent (fixed seed: the check is deterministic).
  const int64_t d = 4, m = 20000;
  const MatD w = kernels::fft_attention_projection<double>(prf(m, 3), d);
  CHECK(w.rows() == m);
  CHECK(std::abs(w.mean()) < 0.02);
  CHECK(std::abs((w.array() * w.array()).mean() - 1) < 0.03);
  const MatD xy = 0.7 * random_matrix(2, d, 60);
  const Eigen::VectorXd x = xy.row(0).transpose(), y = xy.row(1).transpose();
  const double est = phi(x, w, FftFeatureMap::PositiveRandom).dot(phi(y, w, FftFeatureMap::PositiveRandom));
  CHECK(std::abs(est / std::exp(x.dot(y)) - 1) < 0.03);
  // Same seed, same projection; another seed, another one.
  CHECK(kernels::fft_attention_projection<double>(prf(8, 3), d) == w.topRows(8));
  CHECK(kernels::fft_attention_projection<double>(prf(8, 4), d) != w.topRows(8));
}

TEST_CASE("fft attention: bit-identical for a thread count, 1 and 2 threads agree") {
  // Work well above the parallel threshold, so both passes run many tasks on 2 threads.
  const std::vector<int64_t> lens{200, 1, 0, 77, 600};
  const int heads = 2;
  const int64_t d = 8;
  const Dense g = Dense::blocks(lens);
  const int64_t n = g.num_nodes();
  const MatD q = random_matrix(n, heads * d, 70), k = random_matrix(n, heads * d, 71),
             v = random_matrix(n, heads * d, 72), bias = random_matrix(heads, 301, 73),
             wgt = random_matrix(n, heads * d, 74);
  for (const auto& opt : both_paths({prf(12), elu1()})) {
    CAPTURE(opt.pack_max_length);
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      return run_op<float>(g, q, k, v, bias, wgt, heads, opt);
    };
    const OpResult a = run(2), b = run(2), c = run(1);
    omp_set_num_threads(omp_get_num_procs());
    for (auto m : {&OpResult::out, &OpResult::dq, &OpResult::dk, &OpResult::dv, &OpResult::db}) {
      CHECK((a.*m).allFinite());
      CHECK(a.*m == b.*m);
      CHECK(a.*m == c.*m);
    }
  }
}

TEST_CASE("fft attention: a block of length 1 returns its value row; an empty graph works") {
  const std::vector<int64_t> lens{1, 0, 1};
  const Dense g = Dense::blocks(lens);
  Tape<double> t;
  const MatD v = random_matrix(2, 6, 80);
  Var out = ops::fft_attention(t, g, t.leaf(random_matrix(2, 6, 81)), t.leaf(random_matrix(2, 6, 82)), t.leaf(v),
                               t.leaf(random_matrix(3, 9, 83)), 3, prf(4));
  CHECK((MatD(t.value(out)) - v).cwiseAbs().maxCoeff() < 1e-14);

  const Dense empty = Dense::blocks(std::vector<int64_t>{0, 0});
  Tape<float> te;
  Var z = te.leaf(Mat(0, 8));
  Var bz = te.leaf(Mat::Ones(2, 3));
  Var oz = ops::fft_attention(te, empty, z, z, z, bz, 2);
  CHECK(te.rows(oz) == 0);
  CHECK(te.cols(oz) == 8);
  te.backward(ops::weighted_sum(te, oz, Mat(0, 8)));
  CHECK(te.grad(bz).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("fft attention: shape errors and causal graphs are rejected") {
  const Dense g = Dense::complete(4);
  Tape<float> t;
  Var q = t.leaf(Mat::Zero(4, 6)), k5 = t.leaf(Mat::Zero(5, 6)), k7 = t.leaf(Mat::Zero(4, 7));
  Var b = t.leaf(Mat::Zero(2, 7)), b_even = t.leaf(Mat::Zero(2, 6)), b_rows = t.leaf(Mat::Zero(3, 7));
  CHECK_NOTHROW(ops::fft_attention(t, g, q, q, q, b, 2));
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, k5, q, b, 2), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, k7, q, b, 2), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, q, q, b, 4), ShapeError);  // 6 columns, 4 heads
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, q, q, b, 0), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, q, q, b_even, 2), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, q, q, b_rows, 2), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, g, q, q, q, b, 2, prf(0)), ShapeError);
  CHECK_THROWS_AS(ops::fft_attention(t, Dense::complete(4, true), q, q, q, b, 2), ShapeError);
}

TEST_CASE("fft attention: fast FFT lengths") {
  CHECK(kernels::fft_fast_length(1) == 1);
  CHECK(kernels::fft_fast_length(7) == 8);
  CHECK(kernels::fft_fast_length(13) == 15);
  CHECK(kernels::fft_fast_length(1023) == 1024);
  CHECK(kernels::fft_fast_length(999) == 1000);
  CHECK(kernels::fft_fast_length(1457) == 1458);
  CHECK(kernels::fft_fast_length(131071) == 131072);
}
