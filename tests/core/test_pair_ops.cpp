// Pair-task ops and metrics: pair_dot and bce_with_logits (values, numerical stability,
// gradients in double, float instantiation, errors) and ROC AUC (hand-computed cases with ties,
// a brute-force reference, errors), and the class-weighted accuracy of PATTERN / CLUSTER.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/pair.hpp"
#include "core/rng.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::check_grad;
using locus::testing::random_matrix;
using locus::testing::reduce_random;

namespace {
const std::vector<int32_t> kU{0, 2, 4, 1, 3, 3, 0};
const std::vector<int32_t> kV{1, 3, 0, 4, 3, 2, 1};  // (3, 3): u == v; (0, 1) twice
const std::vector<int32_t> kY{1, 0, 1, 0, 1, 0, 0};

double naive_bce(double x, int y) {
  const double s = 1 / (1 + std::exp(-x));
  return -(y * std::log(s) + (1 - y) * std::log(1 - s));
}
}  // namespace

TEST_CASE("pair_dot: values are row inner products") {
  Tape<double> t;
  MatD z(3, 2);
  z << 1, 2, -3, 0.5, 4, -1;
  const std::vector<int32_t> u{0, 1, 2, 0}, v{1, 2, 2, 0};
  Var s = ops::pair_dot(t, t.constant(z), u, v);
  REQUIRE(t.rows(s) == 4);
  REQUIRE(t.cols(s) == 1);
  CHECK(t.value(s)(0, 0) == doctest::Approx(1 * -3 + 2 * 0.5));
  CHECK(t.value(s)(1, 0) == doctest::Approx(-3 * 4 + 0.5 * -1));
  CHECK(t.value(s)(2, 0) == doctest::Approx(16 + 1));
  CHECK(t.value(s)(3, 0) == doctest::Approx(5));
  // No pairs: an empty column.
  const std::vector<int32_t> none;
  CHECK(t.rows(ops::pair_dot(t, t.constant(z), none, none)) == 0);
}

TEST_CASE("pair_dot and bce_with_logits: gradients (double)") {
  check_grad([&](auto& t, auto& v) { return reduce_random(t, ops::pair_dot(t, v[0], kU, kV)); }, {random_matrix(5, 4, 1)});
  check_grad([&](auto& t, auto& v) { return ops::bce_with_logits(t, v[0], kY); }, {random_matrix(7, 1, 2) * 3.0});
  // Scores of either sign and large magnitude (the stable branches), and a row-shaped input.
  MatD wide(1, 7);
  wide << -8, -1.5, -0.2, 0, 0.3, 2.5, 9;
  check_grad([&](auto& t, auto& v) { return ops::bce_with_logits(t, v[0], kY); }, {wide});
  // The whole pair-task loss: embeddings → scores → BCE.
  check_grad([&](auto& t, auto& v) { return ops::bce_with_logits(t, ops::pair_dot(t, v[0], kU, kV), kY); },
             {random_matrix(5, 3, 3)});
}

TEST_CASE("bce_with_logits: matches the naive formula, stays finite for huge logits") {
  Tape<double> t;
  MatD x(7, 1);
  x << -3, -1, -0.25, 0, 0.5, 1.5, 4;
  double expect = 0;
  for (int p = 0; p < 7; ++p) expect += naive_bce(x(p, 0), kY[p]) / 7;
  CHECK(t.value(ops::bce_with_logits(t, t.constant(x), kY))(0, 0) == doctest::Approx(expect).epsilon(1e-12));
  // ±1000: the naive form overflows; the stable one gives |x| for the wrong sign, 0 for the right.
  MatD big(4, 1);
  big << 1000, -1000, 1000, -1000;
  const std::vector<int32_t> y{1, 0, 0, 1};
  Var xb = t.leaf(big);
  Var l = ops::bce_with_logits(t, xb, y);
  CHECK(t.value(l)(0, 0) == doctest::Approx((0 + 0 + 1000 + 1000) / 4.0));
  t.backward(l);
  // dx = (σ(x) − y) / P: 0, 0, 1/4, −1/4
  MatD expect_grad(4, 1);
  expect_grad << 0, 0, 0.25, -0.25;
  CHECK((t.grad(xb) - expect_grad).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("pair ops in float agree with double") {
  const MatD zd = random_matrix(5, 6, 4);
  Tape<double> td;
  Tape<float> tf;
  Var zvd = td.leaf(zd), zvf = tf.leaf(zd.cast<float>());
  Var ld = ops::bce_with_logits(td, ops::pair_dot(td, zvd, kU, kV), kY);
  Var lf = ops::bce_with_logits(tf, ops::pair_dot(tf, zvf, kU, kV), kY);
  CHECK(tf.value(lf)(0, 0) == doctest::Approx(td.value(ld)(0, 0)).epsilon(1e-5));
  td.backward(ld);
  tf.backward(lf);
  CHECK((tf.grad(zvf).cast<double>() - td.grad(zvd)).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("pair ops: shape and index errors") {
  Tape<double> t;
  Var z = t.constant(random_matrix(3, 2, 5));
  const std::vector<int32_t> a{0, 1}, b{1}, bad{0, 3}, neg{-1, 0};
  CHECK_THROWS_AS(ops::pair_dot(t, z, a, b), ShapeError);
  CHECK_THROWS_AS(ops::pair_dot(t, z, a, bad), ShapeError);
  CHECK_THROWS_AS(ops::pair_dot(t, z, neg, a), ShapeError);
  Var s = ops::pair_dot(t, z, a, a);
  const std::vector<int32_t> y1{1}, y2{1, 2}, none;
  CHECK_THROWS_AS(ops::bce_with_logits(t, s, y1), ShapeError);
  CHECK_THROWS_AS(ops::bce_with_logits(t, s, y2), ShapeError);
  CHECK_THROWS_AS(ops::bce_with_logits(t, ops::pair_dot(t, z, none, none), none), ShapeError);
}

// ---------------------------------------------------------------------------------------------
namespace {
double auc(std::vector<double> s, std::vector<int> y) { return roc_auc(std::span<const double>(s), y); }

// O(P²) definition: P(score⁺ > score⁻) + ½ P(tie).
double brute_auc(const std::vector<double>& s, const std::vector<int>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (y[i] == 1 && y[j] == 0) num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0, den += 1;
  return num / den;
}
}  // namespace

TEST_CASE("roc_auc: hand-computed cases, ties count one half") {
  CHECK(auc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}) == 1.0);
  CHECK(auc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}) == 0.0);
  CHECK(auc({0.5, 0.5, 0.5, 0.5, 0.5}, {0, 1, 1, 0, 1}) == 0.5);
  CHECK(auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}) == 0.75);  // sklearn's roc_auc_score example
  // Positives {0.5, 0.7}, negatives {0.5, 0.3}: pairs 0.5/0.5 tie (½), the other three won: 3.5 / 4.
  CHECK(auc({0.5, 0.3, 0.7, 0.5}, {1, 0, 1, 0}) == 0.875);
  // Positives {2, 2, 1}, negatives {2, 1, 1, 0}: each positive 2 scores ½ + 1 + 1 + 1, the
  // positive 1 scores 0 + ½ + ½ + 1: 9 / 12.
  CHECK(auc({2, 2, 1, 2, 1, 1, 0}, {1, 1, 1, 0, 0, 0, 0}) == 0.75);
  // Independent of the order of the entries and monotone transforms of the scores.
  CHECK(auc({1, 0, 2, 1, 1, 2, 0}, {0, 0, 1, 1, 0, 1, 0}) ==
        auc({std::exp(1), std::exp(0), std::exp(2), std::exp(1), std::exp(1), std::exp(2), std::exp(0)},
            {0, 0, 1, 1, 0, 1, 0}));
  const std::vector<float> sf{0.1f, 0.4f, 0.35f, 0.8f};
  const std::vector<int> yf{0, 0, 1, 1};
  CHECK(roc_auc(std::span<const float>(sf), yf) == 0.75);
}

TEST_CASE("roc_auc: equals the pairwise definition on random scores with many ties") {
  Rng rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    const int n = 5 + trial * 7;
    std::vector<double> s(n);
    std::vector<int> y(n);
    for (int i = 0; i < n; ++i) {
      s[i] = static_cast<double>(rng.below(6));  // six distinct values: lots of ties
      y[i] = static_cast<int>(rng.below(2));
    }
    y[0] = 0, y[1] = 1;
    CHECK(auc(s, y) == doctest::Approx(brute_auc(s, y)).epsilon(1e-14));
  }
}

TEST_CASE("roc_auc: errors name the problem") {
  auto msg = [](std::vector<double> s, std::vector<int> y) {
    try {
      auc(s, y);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(msg({0.1, 0.2}, {1, 1}).find("2 positives and 0 negatives") != std::string::npos);
  CHECK(msg({0.1, 0.2}, {0, 0}).find("0 positives and 2 negatives") != std::string::npos);
  CHECK(msg({}, {}).find("both classes") != std::string::npos);
  CHECK(msg({0.1, 0.2}, {0, 2}).find("must be 0") != std::string::npos);
  CHECK(msg({0.1, 0.2}, {0}).find("2 scores but 1 labels") != std::string::npos);
  CHECK(msg({0.1, std::numeric_limits<double>::quiet_NaN()}, {0, 1}).find("NaN") != std::string::npos);
}

TEST_CASE("class_weighted_accuracy: the mean recall over the classes present") {
  // Class 0: 3 of 4, class 1 absent, class 2: 1 of 2 → (0.75 + 0.5) / 2; plain accuracy would be 4/6.
  const std::vector<int64_t> correct{3, 0, 1}, total{4, 0, 2};
  CHECK(class_weighted_accuracy(correct, total) == doctest::Approx(0.625));
  // A majority-class predictor on 90 / 10 scores 0.5, not 0.9.
  CHECK(class_weighted_accuracy(std::vector<int64_t>{90, 0}, std::vector<int64_t>{90, 10}) == doctest::Approx(0.5));
  CHECK(std::isnan(class_weighted_accuracy(std::vector<int64_t>{0, 0}, std::vector<int64_t>{0, 0})));
  CHECK_THROWS_AS(class_weighted_accuracy(std::vector<int64_t>{1}, std::vector<int64_t>{1, 2}), InputError);
}
