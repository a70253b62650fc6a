// Sequence positional encodings (layers/positional/sequence.hpp, core/ops/position.hpp):
// RoPE's relative-position property (1-D and 2-D), identity at 0, norm preservation and
// gradients; sinusoidal values against the written formula (P = 1 and the P = 2 layout);
// gather_rows / LearnedPE / FourierPE gradients and errors; CAPE determinism, bounds and
// identity; cos / sin op gradients; parse_seq_pe.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/position.hpp"
#include "layers/positional/sequence.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck_params;
using locus::testing::random_matrix;
using locus::testing::reduce_random;

namespace {

// rope applied to a constant x [N, heads·d] at positions pos [N, P], in double.
MatD rope_value(const MatD& x, const Mat& pos, int64_t heads, double base = 10000.0) {
  Tape<double> t;
  return t.value(ops::rope(t, t.constant(x), pos, heads, base));
}

// Per-head scores <rope(q, pi), rope(k, pj)> for single rows q, k [1, heads·d].
std::vector<double> rope_scores(const MatD& q, const MatD& k, const std::vector<float>& pi,
                                const std::vector<float>& pj, int64_t heads) {
  const int64_t np = static_cast<int64_t>(pi.size());
  MatD x(2, q.cols());
  x.row(0) = q.row(0);
  x.row(1) = k.row(0);
  Mat pos(2, np);
  for (int64_t c = 0; c < np; ++c) pos(0, c) = pi[c], pos(1, c) = pj[c];
  const MatD y = rope_value(x, pos, heads);
  const int64_t d = q.cols() / heads;
  std::vector<double> s;
  for (int64_t h = 0; h < heads; ++h) s.push_back(y.row(0).segment(h * d, d).dot(y.row(1).segment(h * d, d)));
  return s;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("rope: scores depend only on the position difference (1-D)") {
  const int64_t heads = 2, d = 8;
  const MatD q = random_matrix(1, heads * d, 1), k = random_matrix(1, heads * d, 2);
  for (auto [i, j] : {std::pair<float, float>{0, 3}, {5, 2}, {1.5f, 1.5f}, {0, 40}}) {
    const auto ref = rope_scores(q, k, {i}, {j}, heads);
    for (float shift : {1.0f, 7.0f, 100.0f, 0.25f}) {
      const auto s = rope_scores(q, k, {i + shift}, {j + shift}, heads);
      CHECK(max_abs_diff(s, ref) < 1e-9);
    }
  }
  // ... and does depend on it (the test would pass trivially if rope ignored positions).
  CHECK(max_abs_diff(rope_scores(q, k, {0}, {0}, heads), rope_scores(q, k, {0}, {3}, heads)) > 1e-3);
}

TEST_CASE("rope: 2-D scores depend only on the difference vector") {
  const int64_t heads = 3, d = 8;  // each head: 4 columns by pos[:,0], 4 by pos[:,1]
  const MatD q = random_matrix(1, heads * d, 3), k = random_matrix(1, heads * d, 4);
  const auto ref = rope_scores(q, k, {1, 2}, {4, -1}, heads);
  for (auto [s0, s1] : {std::pair<float, float>{3, 0}, {0, 5}, {-2, 7}, {0.5f, 10}}) {
    const auto s = rope_scores(q, k, {1 + s0, 2 + s1}, {4 + s0, -1 + s1}, heads);
    CHECK(max_abs_diff(s, ref) < 1e-9);
  }
  // Changing either coordinate of the difference alone changes the score.
  CHECK(max_abs_diff(ref, rope_scores(q, k, {1, 2}, {5, -1}, heads)) > 1e-3);
  CHECK(max_abs_diff(ref, rope_scores(q, k, {1, 2}, {4, 0}, heads)) > 1e-3);
}

TEST_CASE("rope: values, identity at position 0, norms preserved") {
  // One head of 4 columns at p = 3: pair 0 turns by θ0 = 3, pair 1 by θ1 = 3 · 10000^(−2/4) = 0.03.
  MatD x(1, 4);
  x << 1.0, 2.0, -0.5, 0.25;
  Mat p(1, 1);
  p << 3.0f;
  const MatD y = rope_value(x, p, 1);
  const double t0 = 3.0, t1 = 3.0 / 100.0;
  CHECK(y(0, 0) == doctest::Approx(1.0 * std::cos(t0) - 2.0 * std::sin(t0)).epsilon(1e-12));
  CHECK(y(0, 1) == doctest::Approx(1.0 * std::sin(t0) + 2.0 * std::cos(t0)).epsilon(1e-12));
  CHECK(y(0, 2) == doctest::Approx(-0.5 * std::cos(t1) - 0.25 * std::sin(t1)).epsilon(1e-12));
  CHECK(y(0, 3) == doctest::Approx(-0.5 * std::sin(t1) + 0.25 * std::cos(t1)).epsilon(1e-12));

  const int64_t n = 6, heads = 2, d = 12;
  const MatD xs = random_matrix(n, heads * d, 5);
  for (int64_t np : {1, 2}) {
    CHECK(rope_value(xs, Mat::Zero(n, np), heads) == xs);  // exact: cos 0 = 1, sin 0 = 0
    Mat pos(n, np);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < np; ++c) pos(i, c) = static_cast<float>(3 * i + 2 * c) + 0.5f;
    const MatD ys = rope_value(xs, pos, heads);
    CHECK((ys - xs).cwiseAbs().maxCoeff() > 0.1);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < heads; ++h)
        CHECK(ys.row(i).segment(h * d, d).norm() == doctest::Approx(xs.row(i).segment(h * d, d).norm()).epsilon(1e-12));
  }
  // float agrees with double
  Mat pos = Mat::Zero(n, 1);
  for (int64_t i = 0; i < n; ++i) pos(i, 0) = static_cast<float>(7 * i);
  Tape<float> tf;
  const Mat yf = tf.value(ops::rope(tf, tf.constant(xs.cast<float>()), pos, heads));
  CHECK((yf.cast<double>() - rope_value(xs, pos, heads)).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("rope: gradient and shape errors") {
  for (int64_t np : {1, 2}) {
    Mat pos(5, np);
    for (int64_t i = 0; i < 5; ++i)
      for (int64_t c = 0; c < np; ++c) pos(i, c) = 1.7f * static_cast<float>(i) - static_cast<float>(c);
    check_grad([&](Tape<double>& t, const std::vector<Var>& v) { return reduce_random(t, ops::rope(t, v[0], pos, 2)); },
               {random_matrix(5, 2 * 8, 6)});
  }
  Tape<double> t;
  Var x = t.constant(MatD::Zero(3, 12));
  CHECK_THROWS_AS(ops::rope(t, x, Mat::Zero(3, 1), 5), ShapeError);  // 5 heads do not divide 12
  CHECK_THROWS_AS(ops::rope(t, x, Mat::Zero(2, 1), 2), ShapeError);  // rows differ
  // heads 2 → d = 6, P = 2 needs d divisible by 4
  const std::string msg = error_of([&] { ops::rope(t, x, Mat::Zero(3, 2), 2); });
  CHECK(msg.find("divisible by 2·P = 4") != std::string::npos);
}

TEST_CASE("sinusoidal_pe: formula, P = 2 layout and errors") {
  Mat pos(4, 1);
  pos << 0.0f, 1.0f, 2.5f, 7.0f;  // non-integer positions allowed (CAPE)
  const int64_t dim = 6;
  const MatD pe = pe::sinusoidal_pe<double>(pos, dim);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < dim / 2; ++k) {
      const double w = std::pow(10000.0, 2.0 * k / dim);  // PE[i,2k] = sin(p/10000^(2k/dim)), 2k+1: cos
      CHECK(pe(i, 2 * k) == doctest::Approx(std::sin(pos(i, 0) / w)).epsilon(1e-12));
      CHECK(pe(i, 2 * k + 1) == doctest::Approx(std::cos(pos(i, 0) / w)).epsilon(1e-12));
    }
  CHECK(pe(0, 0) == 0.0);
  CHECK(pe(0, 1) == 1.0);

  // P = 2: columns [0, 4) encode pos[:,0] with dim 4, columns [4, 8) encode pos[:,1].
  Mat pos2(3, 2);
  pos2 << 0, 5, 2, 1, 3.5f, -4;
  const MatD pe2 = pe::sinusoidal_pe<double>(pos2, 8, 100.0);
  for (int64_t c = 0; c < 2; ++c) {
    const MatD one = pe::sinusoidal_pe<double>(Mat(pos2.col(c)), 4, 100.0);
    CHECK((pe2.middleCols(4 * c, 4) - one).cwiseAbs().maxCoeff() == 0.0);
    CHECK(pe2(2, 4 * c + 2) == doctest::Approx(std::sin(pos2(2, c) / 10.0)).epsilon(1e-12));  // 100^(2/4) = 10
  }
  CHECK((pe::sinusoidal_pe<float>(pos2, 8, 100.0).cast<double>() - pe2).cwiseAbs().maxCoeff() < 1e-6);

  CHECK_THROWS_AS(pe::sinusoidal_pe<double>(pos, 5), InputError);
  const std::string msg = error_of([&] { pe::sinusoidal_pe<double>(pos2, 6); });
  CHECK(msg.find("multiple of 2·P = 4") != std::string::npos);
}

TEST_CASE("block_positions: index inside each block") {
  const std::vector<int64_t> lens{3, 0, 2, 1};
  const Mat p = pe::block_positions(Dense::blocks(lens));
  REQUIRE(p.rows() == 6);
  REQUIRE(p.cols() == 1);
  const std::vector<float> expect{0, 1, 2, 0, 1, 0};
  for (int64_t i = 0; i < 6; ++i) CHECK(p(i, 0) == expect[i]);
}

TEST_CASE("gather_rows: values, gradient with repeated indices, thread-independent backward") {
  const std::vector<int64_t> idx{4, 0, 4, 2, 4};
  const MatD table = random_matrix(5, 3, 7);
  {
    Tape<double> t;
    const MatD y = t.value(ops::gather_rows(t, t.constant(table), std::span<const int64_t>(idx)));
    for (size_t i = 0; i < idx.size(); ++i) CHECK(y.row(i) == table.row(idx[i]));
  }
  check_grad([&](Tape<double>& t, const std::vector<Var>& v) {
    return reduce_random(t, ops::gather_rows(t, v[0], std::span<const int64_t>(idx)));
  }, {table});
  {
    Tape<double> t;
    const std::vector<int64_t> bad{0, 5};
    const std::string msg = error_of([&] { ops::gather_rows(t, t.constant(table), std::span<const int64_t>(bad)); });
    CHECK(msg.find("index 5") != std::string::npos);
  }
  // Large enough for the parallel path (n·m ≥ 2^18): the scatter-add is bit-identical for 1 and 2 threads.
  const int64_t n = 4096, m = 64, v = 37;
  std::vector<int64_t> big(n);
  for (int64_t i = 0; i < n; ++i) big[i] = (i * 7919) % v;
  const Mat tab = random_matrix(v, m, 8).cast<float>();
  const Mat w = random_matrix(n, m, 9).cast<float>();
  auto grad_with = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    Tape<float> t;
    Var tv = t.leaf(tab);
    t.backward(ops::weighted_sum(t, ops::gather_rows(t, tv, std::span<const int64_t>(big)), w));
    omp_set_num_threads(before);
    return Mat(t.grad(tv));
  };
  CHECK(grad_with(1) == grad_with(2));
}

TEST_CASE("LearnedPE: table rows, gradient, out-of-range error and clip mode") {
  Rng rng(11);
  ParamStore<double> store;
  pe::LearnedPE<double> lpe(store, rng, "pos", 5, 3);
  Mat pos(4, 1);
  pos << 0, 4, 2, 4;
  {
    Tape<double> t;
    const MatD y = t.value(lpe.forward(t, pos));
    for (int64_t i = 0; i < 4; ++i) CHECK(y.row(i) == store.value(lpe.table()).row(static_cast<int64_t>(pos(i, 0))));
  }
  const auto r = gradcheck_params([&](Tape<double>& t) { return reduce_random(t, lpe.forward(t, pos)); }, store);
  CHECK(r.size() == 15);
  CHECK_MESSAGE(grad_mismatch(r).empty(), grad_mismatch(r));

  Mat longer(2, 1);
  longer << 3, 7;
  const std::string msg = error_of([&] {
    Tape<double> t;
    lpe.forward(t, longer);
  });
  CHECK(msg.find("position 7") != std::string::npos);
  CHECK(msg.find("max_len = 5") != std::string::npos);
  CHECK(msg.find("Raise max_len to at least 8") != std::string::npos);
  CHECK(msg.find("clip") != std::string::npos);
  {
    Tape<double> t;
    CHECK_THROWS_AS(lpe.forward(t, longer), InputError);
    Mat frac(1, 1);
    frac << 1.5f;
    CHECK_THROWS_AS(lpe.forward(t, frac), InputError);
  }

  Rng rng2(11);
  ParamStore<double> store2;
  pe::LearnedPE<double> clip(store2, rng2, "pos", 5, 3, pe::OutOfRange::Clip);
  Tape<double> t;
  const MatD y = t.value(clip.forward(t, longer));
  CHECK(y.row(0) == store2.value(clip.table()).row(3));
  CHECK(y.row(1) == store2.value(clip.table()).row(4));  // 7 → max_len − 1

  // Initialisation N(0, 0.02²): the sample spread of a bigger table.
  ParamStore<float> big;
  pe::LearnedPE<float> lbig(big, rng, "big", 200, 32);
  const Mat tb = big.value(lbig.table());
  const double mean = tb.mean(), sd = std::sqrt((tb.array() - mean).square().mean());
  CHECK(std::abs(mean) < 0.002);
  CHECK(sd == doctest::Approx(0.02).epsilon(0.05));
}

TEST_CASE("FourierPE: formula, gradient, W_r initial spread") {
  Rng rng(21);
  ParamStore<double> store;
  const int64_t P = 2, F = 6, H = 5, dim = 4;
  pe::FourierPE<double> fpe(store, rng, "fpe", P, F, H, dim, 1.0);
  Mat pos(3, P);
  pos << 0, 1, 2.5f, -1, 4, 3;
  // Reference: r = pos W_r, f = [cos r, sin r]/√F, out = GELU(f W1 + b1) W2 + b2.
  for (int i = 1; i < 5; ++i) store.value(ParamId{i}) = random_matrix(store.info(ParamId{i}).rows,
                                                                     store.info(ParamId{i}).cols, 30 + i);
  REQUIRE(store.info(ParamId{0}).name == "fpe.wr");
  REQUIRE(store.info(ParamId{3}).name == "fpe.mlp.1.weight");
  const MatD r = pos.cast<double>() * store.value(fpe.wr());
  MatD f(3, F);
  f << r.array().cos().matrix(), r.array().sin().matrix();
  f /= std::sqrt(double(F));
  MatD h = f * store.value(ParamId{1});
  h.rowwise() += store.value(ParamId{2}).row(0);
  h = h.unaryExpr([](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); });
  MatD expect = h * store.value(ParamId{3});
  expect.rowwise() += store.value(ParamId{4}).row(0);
  {
    Tape<double> t;
    CHECK((MatD(t.value(fpe.forward(t, pos))) - expect).cwiseAbs().maxCoeff() < 1e-12);
  }
  const auto res = gradcheck_params([&](Tape<double>& t) { return reduce_random(t, fpe.forward(t, pos)); }, store);
  CHECK(res.size() == P * F / 2 + F * H + H + H * dim + dim);
  CHECK_MESSAGE(grad_mismatch(res).empty(), grad_mismatch(res));

  ParamStore<float> big;
  pe::FourierPE<float> fbig(big, rng, "f", 2, 2000, 4, 4, 4.0);  // W_r ~ N(0, 1/16)
  const Mat w = big.value(fbig.wr());
  CHECK(std::sqrt(w.array().square().mean()) == doctest::Approx(0.25).epsilon(0.05));
  CHECK_THROWS_AS(pe::FourierPE<float>(big, rng, "odd", 1, 5, 4, 4, 1.0), InputError);
}

TEST_CASE("cosine / sine ops: values and gradients") {
  const MatD x = 3.0 * random_matrix(4, 5, 40);
  Tape<double> t;
  CHECK((MatD(t.value(ops::cosine(t, t.constant(x)))) - MatD(x.array().cos())).cwiseAbs().maxCoeff() < 1e-15);
  CHECK((MatD(t.value(ops::sine(t, t.constant(x)))) - MatD(x.array().sin())).cwiseAbs().maxCoeff() < 1e-15);
  check_grad([](Tape<double>& t, const std::vector<Var>& v) { return reduce_random(t, ops::cosine(t, v[0])); }, {x});
  check_grad([](Tape<double>& t, const std::vector<Var>& v) { return reduce_random(t, ops::sine(t, v[0])); }, {x});
}

TEST_CASE("cape_augment: deterministic, bounded, per-block shifts, identity when off") {
  const std::vector<int64_t> lens(200, 6);  // 200 blocks of 6 tokens
  const Dense g = Dense::blocks(lens);
  const Mat pos = pe::block_positions(g);
  const pe::CapeOptions opt;  // 5, 0.5, 1.03
  const Mat a = pe::cape_augment(pos, g, opt, 42);
  CHECK(a == pe::cape_augment(pos, g, opt, 42));
  CHECK(a != pe::cape_augment(pos, g, opt, 43));
  // Every augmented position lies within λ(p + Δ + ε) for the extreme λ, Δ, ε.
  for (int64_t i = 0; i < pos.rows(); ++i) {
    const double lo = std::min((pos(i, 0) - 5.5) * 1.03, (pos(i, 0) - 5.5) / 1.03);
    const double hi = std::max((pos(i, 0) + 5.5) * 1.03, (pos(i, 0) + 5.5) / 1.03);
    CHECK((a(i, 0) >= lo - 1e-5 && a(i, 0) <= hi + 1e-5));
  }

  // Global shift alone: constant inside a block, within ±5, different across blocks, range used.
  const Mat gs = pe::cape_augment(pos, g, {5.0, 0.0, 1.0}, 7);
  std::vector<double> shifts;
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const double s = gs(g.offsets[b], 0) - pos(g.offsets[b], 0);
    for (int64_t i = g.offsets[b]; i < g.offsets[b + 1]; ++i)
      CHECK(gs(i, 0) - pos(i, 0) == doctest::Approx(s).epsilon(1e-5));
    CHECK(std::abs(s) <= 5.0);
    shifts.push_back(s);
  }
  CHECK(shifts[0] != shifts[1]);
  CHECK(*std::max_element(shifts.begin(), shifts.end()) > 4.0);
  CHECK(*std::min_element(shifts.begin(), shifts.end()) < -4.0);

  // Local shift alone: |ε| ≤ 0.5 per token, token order kept, tokens of a block differ.
  const Mat ls = pe::cape_augment(pos, g, {0.0, 0.5, 1.0}, 7);
  double max_eps = 0;
  for (int64_t i = 0; i < pos.rows(); ++i) {
    CHECK(std::abs(ls(i, 0) - pos(i, 0)) <= 0.5);
    max_eps = std::max(max_eps, double(std::abs(ls(i, 0) - pos(i, 0))));
    if (i + 1 < pos.rows() && pos(i + 1, 0) > pos(i, 0)) CHECK(ls(i + 1, 0) >= ls(i, 0));
  }
  CHECK(max_eps > 0.4);
  CHECK(ls(1, 0) - pos(1, 0) != ls(2, 0) - pos(2, 0));

  // Scaling alone on 2-D positions: one λ per block in [1/1.03, 1.03], shared by both coordinates.
  Mat pos2(pos.rows(), 2);
  pos2.col(0) = pos.col(0).array() + 1.0f;
  pos2.col(1) = 2.0f * pos.col(0).array() + 3.0f;
  const Mat sc = pe::cape_augment(pos2, g, {0.0, 0.0, 1.03}, 9);
  double lmin = 2, lmax = 0;
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b];
    const double lambda = sc(o, 0) / pos2(o, 0);
    CHECK((lambda >= 1 / 1.03 - 1e-6 && lambda <= 1.03 + 1e-6));
    lmin = std::min(lmin, lambda), lmax = std::max(lmax, lambda);
    for (int64_t i = o; i < g.offsets[b + 1]; ++i)
      for (int64_t c = 0; c < 2; ++c) CHECK(sc(i, c) / pos2(i, c) == doctest::Approx(lambda).epsilon(1e-6));
  }
  CHECK(lmax > 1.02);
  CHECK(lmin < 1 / 1.02);

  // Off: exactly the raw positions (evaluation uses raw positions too).
  CHECK(pe::cape_augment(pos2, g, {0.0, 0.0, 1.0}, 5) == pos2);
  CHECK_THROWS_AS(pe::cape_augment(pos, g, {1.0, 0.5, 0.9}, 5), InputError);
  CHECK_THROWS_AS(pe::cape_augment(pos, g, {-1.0, 0.5, 1.0}, 5), InputError);
}

TEST_CASE("parse_seq_pe: names round-trip, unknown names list the choices") {
  for (const char* name : {"none", "sinusoidal", "learned", "rope", "fourier", "cape", "t5_bias", "fft_kernel"})
    CHECK(std::string(pe::seq_pe_name(pe::parse_seq_pe(name))) == name);
  CHECK(pe::parse_seq_pe("t5_bias") == pe::SeqPE::T5Bias);
  CHECK(pe::parse_seq_pe("rope") == pe::SeqPE::Rope);
  const std::string msg = error_of([] { pe::parse_seq_pe("ropee"); });
  CHECK(msg.find("none|sinusoidal|learned|rope|fourier|cape|t5_bias|fft_kernel") != std::string::npos);
  CHECK(msg.find("did you mean 'rope'") != std::string::npos);
  CHECK_THROWS_AS(pe::parse_seq_pe("alibi"), InputError);
}
