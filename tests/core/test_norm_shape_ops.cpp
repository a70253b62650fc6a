// New dense ops: leaky_relu, gelu, mul, sub (basic.hpp), column / head reshaping (shape.hpp)
// and normalisations (norm.hpp). Central-difference gradients in double precision, values
// against hand formulas, shape errors, and thread-count independence of the parallel paths.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/norm.hpp"
#include "core/ops/shape.hpp"
#include "tests/testing/gradcheck.hpp"

using namespace locus;
using locus::testing::grad_mismatch;
using locus::testing::gradcheck;
using locus::testing::random_matrix;
using locus::testing::check_grad;
using locus::testing::reduce_random;

namespace {
double max_abs_diff(const MatD& a, const MatD& b) { return (a - b).cwiseAbs().maxCoeff(); }

const int64_t kOddCols[] = {1, 7, 33};
}  // namespace

// ---------------------------------------------------------------------------------------------
// basic.hpp additions

TEST_CASE("leaky_relu, gelu, mul, sub: gradients (odd sizes)") {
  for (int64_t cols : kOddCols) {
    CAPTURE(cols);
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::leaky_relu(t, v[0])); }, {random_matrix(4, cols, 1)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::leaky_relu(t, v[0], 0.03)); }, {random_matrix(4, cols, 2)});
    // Wider range than U(-1, 1) so the tails of Φ are exercised too.
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::gelu(t, v[0])); }, {MatD(3.0 * random_matrix(4, cols, 3))});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::mul(t, v[0], v[1])); },
               {random_matrix(3, cols, 4), random_matrix(3, cols, 5)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::sub(t, v[0], v[1])); },
               {random_matrix(3, cols, 6), random_matrix(3, cols, 7)});
    // The same input on both sides: d(x ⊙ x) = 2x, d(x − x) = 0.
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::mul(t, v[0], v[0])); }, {random_matrix(2, cols, 8)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::sub(t, v[0], v[0])); }, {random_matrix(2, cols, 9)});
  }
  SUBCASE("activation() routes the new kinds") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::activation(t, v[0], ops::Act::LeakyRelu)); },
               {random_matrix(3, 7, 10)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::activation(t, v[0], ops::Act::Gelu)); },
               {random_matrix(3, 7, 11)});
  }
  SUBCASE("a constant operand gets no gradient, the other still does") {
    Tape<double> t;
    Var a = t.leaf(random_matrix(2, 3, 12));
    const MatD bv = random_matrix(2, 3, 13);
    Var b = t.constant(bv);
    t.backward(reduce_random(t, ops::mul(t, a, b), 5));
    CHECK(!t.has_grad(b));
    CHECK(max_abs_diff(MatD(t.grad(a)), MatD(random_matrix(2, 3, 5).array() * bv.array())) < 1e-15);
  }
}

TEST_CASE("leaky_relu, gelu, mul, sub: values") {
  Tape<double> t;
  MatD x(1, 5);
  x << -2.0, -0.5, 0.0, 0.5, 3.0;
  Var xv = t.constant(x);
  MatD lr(1, 5);
  lr << -0.4, -0.1, 0.0, 0.5, 3.0;
  CHECK(max_abs_diff(MatD(t.value(ops::leaky_relu(t, xv))), lr) < 1e-15);
  CHECK(max_abs_diff(MatD(t.value(ops::activation(t, xv, ops::Act::LeakyRelu))), lr) < 1e-15);
  // GELU reference values 0.5·x·(1 + erf(x/√2)) from Python's math.erf (torch.nn.functional.gelu agrees to 4 digits).
  MatD ge(1, 5);
  ge << -0.04550026389635842, -0.15426876936299344, 0.0, 0.34573123063700656, 2.99595030590511;
  CHECK(max_abs_diff(MatD(t.value(ops::gelu(t, xv))), ge) < 1e-12);
  CHECK(max_abs_diff(MatD(t.value(ops::activation(t, xv, ops::Act::Gelu))), ge) < 1e-12);
  MatD y(1, 5);
  y << 1, 2, 3, 4, 5;
  Var yv = t.constant(y);
  CHECK(max_abs_diff(MatD(t.value(ops::mul(t, xv, yv))), MatD(x.array() * y.array())) == 0.0);
  CHECK(max_abs_diff(MatD(t.value(ops::sub(t, xv, yv))), MatD(x - y)) == 0.0);
  // float instantiation, double literal for the slope
  Tape<float> tf;
  Mat xf(1, 2);
  xf << -1.0f, 2.0f;
  Var lf = ops::leaky_relu(tf, tf.constant(xf), 0.5);
  CHECK(tf.value(lf)(0, 0) == -0.5f);
  CHECK(tf.value(lf)(0, 1) == 2.0f);
}

TEST_CASE("parse_act knows leaky_relu and gelu; enum order is unchanged") {
  CHECK(ops::parse_act("leaky_relu") == ops::Act::LeakyRelu);
  CHECK(ops::parse_act("gelu") == ops::Act::Gelu);
  CHECK(ops::parse_act("relu") == ops::Act::Relu);
  CHECK(static_cast<int>(ops::Act::Identity) == 0);
  CHECK(static_cast<int>(ops::Act::Relu) == 1);
  CHECK(static_cast<int>(ops::Act::Elu) == 2);
  CHECK(static_cast<int>(ops::Act::LeakyRelu) == 3);
  CHECK(static_cast<int>(ops::Act::Gelu) == 4);
  CHECK_THROWS_AS(ops::parse_act("swish"), InputError);
  try {
    ops::parse_act("geluu");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("gelu") != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// shape.hpp

TEST_CASE("concat_cols, slice_cols, head_mean, head_sum, row_scale: gradients (odd sizes)") {
  SUBCASE("concat_cols of widths 1, 7, 33") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::concat_cols(t, {v[0], v[1], v[2]})); },
               {random_matrix(4, 1, 1), random_matrix(4, 7, 2), random_matrix(4, 33, 3)});
    // single input, repeated input, and a constant in the middle
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::concat_cols(t, {v[0]})); }, {random_matrix(3, 7, 4)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::concat_cols(t, {v[0], v[1], v[0]})); },
               {random_matrix(3, 7, 5), random_matrix(3, 1, 6)});
    check_grad(
        [](auto& t, auto& v) {
          Var c = t.constant(random_matrix(3, 2, 7));
          return reduce_random(t, ops::concat_cols(t, {c, v[0]}));
        },
        {random_matrix(3, 33, 8)});
  }
  SUBCASE("concat_rows of heights 1, 4, 6, a repeat and a constant") {
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::concat_rows(t, {v[0], v[1], v[2]})); },
               {random_matrix(1, 7, 21), random_matrix(4, 7, 22), random_matrix(6, 7, 23)});
    check_grad(
        [](auto& t, auto& v) {
          Var c = t.constant(random_matrix(2, 5, 24));
          return reduce_random(t, ops::concat_rows(t, {v[0], c, v[0]}));
        },
        {random_matrix(3, 5, 25)});
  }
  SUBCASE("slice_cols") {
    for (int64_t cols : kOddCols) {
      CAPTURE(cols);
      check_grad([cols](auto& t, auto& v) { return reduce_random(t, ops::slice_cols(t, v[0], cols / 2, cols - cols / 2)); },
                 {random_matrix(3, cols, 9)});
      check_grad([](auto& t, auto& v) { return reduce_random(t, ops::slice_cols(t, v[0], 0, 1)); }, {random_matrix(3, cols, 10)});
    }
  }
  SUBCASE("head_mean and head_sum") {
    for (int64_t d : kOddCols)
      for (int64_t heads : {1, 3}) {
        CAPTURE(d);
        CAPTURE(heads);
        check_grad([heads](auto& t, auto& v) { return reduce_random(t, ops::head_mean(t, v[0], heads)); },
                   {random_matrix(4, heads * d, 11)});
        check_grad([heads](auto& t, auto& v) { return reduce_random(t, ops::head_sum(t, v[0], heads)); },
                   {random_matrix(4, heads * d, 12)});
      }
  }
  SUBCASE("row_scale to x and s") {
    for (int64_t cols : kOddCols) {
      CAPTURE(cols);
      check_grad([](auto& t, auto& v) { return reduce_random(t, ops::row_scale(t, v[0], v[1])); },
                 {random_matrix(5, cols, 13), random_matrix(5, 1, 14)});
    }
  }
}

TEST_CASE("shape ops: values") {
  Tape<double> t;
  MatD a(2, 1), b(2, 3);
  a << 1, 2;
  b << 3, 4, 5, 6, 7, 8;
  Var av = t.constant(a), bv = t.constant(b);
  MatD ab(2, 4);
  ab << 1, 3, 4, 5, 2, 6, 7, 8;
  Var c = ops::concat_cols(t, {av, bv});
  CHECK(MatD(t.value(c)) == ab);
  CHECK(MatD(t.value(ops::slice_cols(t, c, 1, 3))) == b);
  CHECK(MatD(t.value(ops::concat_rows(t, {ops::slice_cols(t, bv, 0, 1), av}))) == (MatD(4, 1) << 3, 6, 1, 2).finished());
  CHECK(MatD(t.value(ops::slice_cols(t, c, 0, 1))) == a);
  CHECK(t.cols(ops::slice_cols(t, c, 4, 0)) == 0);
  // heads: [2, 3·2] with head h = columns [2h, 2h + 2)
  MatD h(2, 6);
  h << 1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60;
  Var hv = t.constant(h);
  MatD hs(2, 2), hm(2, 2);
  hs << 9, 12, 90, 120;
  hm << 3, 4, 30, 40;
  CHECK(max_abs_diff(MatD(t.value(ops::head_sum(t, hv, 3))), hs) == 0.0);
  CHECK(max_abs_diff(MatD(t.value(ops::head_mean(t, hv, 3))), hm) < 1e-14);
  CHECK(MatD(t.value(ops::head_mean(t, hv, 1))) == h);
  MatD s(2, 1);
  s << 2, -0.5;
  MatD bs(2, 3);
  bs << 6, 8, 10, -3, -3.5, -4;
  CHECK(MatD(t.value(ops::row_scale(t, bv, t.constant(s)))) == bs);
}

TEST_CASE("shape ops: shape errors") {
  Tape<double> t;
  Var a = t.leaf(random_matrix(3, 4, 1));
  Var b = t.leaf(random_matrix(2, 4, 2));
  CHECK_THROWS_AS(ops::concat_cols(t, {a, b}), ShapeError);
  CHECK_THROWS_AS(ops::concat_cols<double>(t, {}), ShapeError);
  CHECK_THROWS_AS(ops::concat_rows(t, {a, t.leaf(random_matrix(2, 3, 5))}), ShapeError);
  CHECK_THROWS_AS(ops::concat_rows<double>(t, {}), ShapeError);
  CHECK_THROWS_AS(ops::slice_cols(t, a, 2, 3), ShapeError);
  CHECK_THROWS_AS(ops::slice_cols(t, a, -1, 2), ShapeError);
  CHECK_THROWS_AS(ops::slice_cols(t, a, 1, -1), ShapeError);
  CHECK_THROWS_AS(ops::head_mean(t, a, 3), ShapeError);
  CHECK_THROWS_AS(ops::head_sum(t, a, 0), ShapeError);
  CHECK_THROWS_AS(ops::row_scale(t, a, t.leaf(random_matrix(2, 1, 3))), ShapeError);
  CHECK_THROWS_AS(ops::row_scale(t, a, t.leaf(random_matrix(3, 2, 4))), ShapeError);
  CHECK_THROWS_AS(ops::mul(t, a, b), ShapeError);
  CHECK_THROWS_AS(ops::sub(t, a, b), ShapeError);
  const size_t nodes = t.size();
  CHECK_THROWS_AS(ops::head_mean(t, a, 5), ShapeError);
  CHECK(t.size() == nodes);  // nothing half-written
}

// ---------------------------------------------------------------------------------------------
// norm.hpp

TEST_CASE("layer_norm: gradients for x, gamma, beta (odd sizes)") {
  for (int64_t cols : kOddCols) {
    CAPTURE(cols);
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::layer_norm(t, v[0], v[1], v[2])); },
               {random_matrix(5, cols, 1), random_matrix(1, cols, 2), random_matrix(1, cols, 3)});
    // No affine part, and a larger eps (the eps path matters in the gradient too).
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::layer_norm(t, v[0], Var{}, Var{}, 0.1)); },
               {random_matrix(4, cols, 4)});
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::layer_norm(t, v[0], v[1], Var{})); },
               {random_matrix(4, cols, 5), random_matrix(1, cols, 6)});
  }
}

TEST_CASE("layer_norm: values") {
  SUBCASE("rows have mean 0 and variance 1 with gamma = 1, beta = 0") {
    Tape<double> t;
    const int64_t d = 33;
    MatD x = 5.0 * random_matrix(6, d, 7);
    x.array() += 100.0;  // a large offset: the two-pass variance keeps precision
    Var y = ops::layer_norm(t, t.constant(x), t.constant(MatD::Ones(1, d)), t.constant(MatD::Zero(1, d)));
    const MatD yv = t.value(y);
    for (int64_t r = 0; r < yv.rows(); ++r) {
      const double mean = yv.row(r).mean();
      const double var = (yv.row(r).array() - mean).square().mean();
      CHECK(std::abs(mean) < 1e-12);
      // var = σ² / (σ² + eps) with σ² ≈ 8 here, so 1 − var ≈ 1.2e-6
      CHECK(var == doctest::Approx(1.0).epsilon(1e-5));
    }
  }
  SUBCASE("hand example with affine") {
    Tape<double> t;
    MatD x(2, 3), g(1, 3), b(1, 3);
    x << 1, 2, 3, -4, 0, 4;
    g << 2, 1, -1;
    b << 0.5, 0, 1;
    // row 0: μ = 2, σ² = 2/3 → x̂ = (−1, 0, 1) · √1.5; row 1: μ = 0, σ² = 32/3 → x̂ = (−1, 0, 1) · √1.5
    const double k = std::sqrt(1.5);
    MatD want(2, 3);
    want << 0.5 - 2 * k, 0, 1 - k, 0.5 - 2 * k, 0, 1 - k;
    Var y = ops::layer_norm(t, t.constant(x), t.constant(g), t.constant(b), 0.0);
    CHECK(max_abs_diff(MatD(t.value(y)), want) < 1e-12);
    // A single column normalises to 0 (then beta).
    Var y1 = ops::layer_norm(t, t.constant(MatD::Constant(3, 1, 7.0)), Var{}, t.constant(MatD::Constant(1, 1, 0.25)));
    CHECK(MatD(t.value(y1)) == MatD::Constant(3, 1, 0.25));
  }
  SUBCASE("float matches double") {
    Tape<float> tf;
    Tape<double> td;
    const MatD x = random_matrix(4, 7, 8), g = random_matrix(1, 7, 9), b = random_matrix(1, 7, 10);
    Var yf = ops::layer_norm(tf, tf.constant(x.cast<float>()), tf.constant(g.cast<float>()), tf.constant(b.cast<float>()));
    Var yd = ops::layer_norm(td, td.constant(x), td.constant(g), td.constant(b));
    CHECK(max_abs_diff(MatD(tf.value(yf).cast<double>()), MatD(td.value(yd))) < 1e-5);
  }
}

TEST_CASE("batch_norm: gradients, training and evaluation (odd sizes)") {
  for (int64_t cols : kOddCols) {
    CAPTURE(cols);
    check_grad(
        [cols](auto& t, auto& v) {
          ops::BatchNormState<double> st(cols);
          return reduce_random(t, ops::batch_norm(t, v[0], v[1], v[2], st, true));
        },
        {random_matrix(5, cols, 1), random_matrix(1, cols, 2), random_matrix(1, cols, 3)});
    check_grad(
        [cols](auto& t, auto& v) {
          ops::BatchNormState<double> st(cols);
          return reduce_random(t, ops::batch_norm(t, v[0], Var{}, Var{}, st, true, 0.1, 0.05));
        },
        {random_matrix(2, cols, 4)});
    check_grad(
        [cols](auto& t, auto& v) {
          ops::BatchNormState<double> st(cols);
          st.running_mean = random_matrix(1, cols, 5);
          st.running_var = MatD(random_matrix(1, cols, 6).array() + 1.5);
          return reduce_random(t, ops::batch_norm(t, v[0], v[1], v[2], st, false));
        },
        {random_matrix(1, cols, 7), random_matrix(1, cols, 8), random_matrix(1, cols, 9)});
  }
}

TEST_CASE("batch_norm: running statistics and outputs as PyTorch computes them") {
  // x columns: (1, 2, 3) → μ = 2, biased σ² = 2/3, unbiased 1; (0, 4, 8) → μ = 4, biased 32/3, unbiased 16.
  MatD x(3, 2);
  x << 1, 0, 2, 4, 3, 8;
  ops::BatchNormState<double> st(2);
  CHECK(st.running_mean == MatD::Zero(1, 2));
  CHECK(st.running_var == MatD::Ones(1, 2));
  CHECK(st.num_batches == 0);
  Tape<double> t;
  Var xv = t.constant(x);
  Var y = ops::batch_norm(t, xv, Var{}, Var{}, st, true, 0.1, 0.0);
  // Training output: (x − μ) / √σ²_biased
  const double k = std::sqrt(1.5);
  MatD want(3, 2);
  want << -k, -k, 0, 0, k, k;
  CHECK(max_abs_diff(MatD(t.value(y)), want) < 1e-12);
  // running_mean = 0.9·0 + 0.1·μ, running_var = 0.9·1 + 0.1·σ²_unbiased
  MatD rm(1, 2), rv(1, 2);
  rm << 0.2, 0.4;
  rv << 1.0, 2.5;
  CHECK(max_abs_diff(st.running_mean, rm) < 1e-15);
  CHECK(max_abs_diff(st.running_var, rv) < 1e-14);
  CHECK(st.num_batches == 1);
  // A second step on the same batch, momentum 0.1
  ops::batch_norm(t, xv, Var{}, Var{}, st, true, 0.1, 0.0);
  rm << 0.38, 0.76;
  rv << 1.0, 3.85;
  CHECK(max_abs_diff(st.running_mean, rm) < 1e-15);
  CHECK(max_abs_diff(st.running_var, rv) < 1e-14);
  CHECK(st.num_batches == 2);
  // Evaluation uses the running statistics, with affine, and leaves the state alone.
  MatD g(1, 2), b(1, 2);
  g << 2, -1;
  b << 0.5, 1;
  const double eps = 1e-5;
  Var ye = ops::batch_norm(t, xv, t.constant(g), t.constant(b), st, false, 0.1, eps);
  MatD we(3, 2);
  for (int r = 0; r < 3; ++r)
    for (int j = 0; j < 2; ++j) we(r, j) = g(0, j) * (x(r, j) - rm(0, j)) / std::sqrt(rv(0, j) + eps) + b(0, j);
  CHECK(max_abs_diff(MatD(t.value(ye)), we) < 1e-12);
  CHECK(we(0, 0) == doctest::Approx(2 * (1 - 0.38) / std::sqrt(1.0 + eps) + 0.5));
  CHECK(max_abs_diff(st.running_mean, rm) < 1e-15);
  CHECK(st.num_batches == 2);
  // momentum 1 keeps only the last batch; momentum 0 never moves.
  ops::BatchNormState<double> s1(2), s0(2);
  ops::batch_norm(t, xv, Var{}, Var{}, s1, true, 1.0);
  ops::batch_norm(t, xv, Var{}, Var{}, s0, true, 0.0);
  CHECK(max_abs_diff(s1.running_mean, MatD((MatD(1, 2) << 2, 4).finished())) < 1e-15);
  CHECK(max_abs_diff(s1.running_var, MatD((MatD(1, 2) << 1, 16).finished())) < 1e-14);
  CHECK(s0.running_mean == MatD::Zero(1, 2));
  CHECK(s0.running_var == MatD::Ones(1, 2));
  // Training columns have mean 0, biased variance ≈ 1.
  ops::BatchNormState<double> s2(7);
  const MatD xr = 3.0 * random_matrix(40, 7, 11);
  const MatD yr = t.value(ops::batch_norm(t, t.constant(xr), Var{}, Var{}, s2, true));
  for (int j = 0; j < 7; ++j) {
    CHECK(std::abs(yr.col(j).mean()) < 1e-12);
    CHECK(yr.col(j).array().square().mean() == doctest::Approx(1.0).epsilon(1e-4));
  }
}

TEST_CASE("l2_normalize_rows: gradients and values") {
  for (int64_t cols : kOddCols) {
    CAPTURE(cols);
    check_grad([](auto& t, auto& v) { return reduce_random(t, ops::l2_normalize_rows(t, v[0])); }, {random_matrix(4, cols, 1)});
  }
  // A row below eps stays clamped under the finite-difference steps: y = x / eps there.
  check_grad(
      [](auto& t, auto& v) { return reduce_random(t, ops::l2_normalize_rows(t, v[0], 0.5)); },
      {(MatD(2, 3) << 0.1, -0.05, 0.02, 0.9, 0.3, -0.4).finished()});
  Tape<double> t;
  MatD x(3, 2);
  x << 3, 4, 0, 0, 1e-14, 0;
  MatD want(3, 2);
  want << 0.6, 0.8, 0, 0, 0.01, 0;  // 1e-14 / max(1e-14, 1e-12) = 0.01
  Var xv = t.leaf(x);
  Var y = ops::l2_normalize_rows(t, xv);
  CHECK(max_abs_diff(MatD(t.value(y)), want) < 1e-15);
  t.backward(ops::weighted_sum(t, y, MatD(MatD::Ones(3, 2))));
  // Row 0: (1 − y (y·1)) / 5 = ((1, 1) − 1.4 · (0.6, 0.8)) / 5; rows 1, 2 clamped: 1 / eps.
  MatD gw(3, 2);
  gw << (1 - 1.4 * 0.6) / 5, (1 - 1.4 * 0.8) / 5, 1e12, 1e12, 1e12, 1e12;
  CHECK(max_abs_diff(MatD(t.grad(xv)).topRows(1), gw.topRows(1)) < 1e-15);
  CHECK(max_abs_diff(MatD(t.grad(xv)).bottomRows(2) / 1e12, gw.bottomRows(2) / 1e12) < 1e-12);
  const MatD norms = MatD(t.value(ops::l2_normalize_rows(t, t.constant(random_matrix(5, 33, 2))))).rowwise().norm();
  CHECK(max_abs_diff(norms, MatD::Ones(5, 1)) < 1e-14);
}

TEST_CASE("norm ops: shape errors") {
  Tape<double> t;
  Var x = t.leaf(random_matrix(4, 3, 1));
  Var g3 = t.leaf(random_matrix(1, 3, 2));
  Var g2 = t.leaf(random_matrix(1, 2, 3));
  Var g33 = t.leaf(random_matrix(3, 3, 4));
  CHECK_THROWS_AS(ops::layer_norm(t, x, g2, g3), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(t, x, g3, g2), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(t, x, g33, Var{}), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(t, t.leaf(MatD(2, 0)), Var{}, Var{}), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm(t, x, g3, g3, -1.0), ShapeError);
  ops::BatchNormState<double> st(3), st2(2), empty;
  CHECK_THROWS_AS(ops::batch_norm(t, x, g2, g3, st, true), ShapeError);
  CHECK_THROWS_AS(ops::batch_norm(t, x, g3, g33, st, true), ShapeError);
  CHECK_THROWS_AS(ops::batch_norm(t, x, g3, g3, st2, true), ShapeError);
  CHECK_THROWS_AS(ops::batch_norm(t, x, g3, g3, empty, false), ShapeError);
  CHECK_THROWS_AS(ops::batch_norm(t, x, g3, g3, st, true, 1.5), ShapeError);
  CHECK_THROWS_AS(ops::batch_norm(t, t.leaf(random_matrix(1, 3, 5)), g3, g3, st, true), ShapeError);  // n = 1
  CHECK(st.num_batches == 0);                                                                           // untouched
  CHECK(st.running_mean == MatD::Zero(1, 3));
  CHECK_NOTHROW(ops::batch_norm(t, t.leaf(random_matrix(1, 3, 5)), g3, g3, st, false));  // eval accepts n = 1
  CHECK_THROWS_AS(ops::l2_normalize_rows(t, x, 0.0), ShapeError);
}

// ---------------------------------------------------------------------------------------------
// Parallel paths (rows × cols ≥ 2^18): the same bits for 1 and several threads.

namespace {
struct RunOut {
  std::vector<Mat> values, grads;
  Mat running_mean, running_var;
};

RunOut run_all(int threads) {
  omp_set_num_threads(threads);
  const int64_t n = 700, d = 400;  // 280 000 entries ≥ 2^18
  Tape<float> t;
  const Mat xm = random_matrix(n, d, 21).cast<float>();
  Var x = t.leaf(xm);
  Var y = t.leaf(random_matrix(n, d, 22).cast<float>());
  Var g = t.leaf(random_matrix(1, d, 23).cast<float>());
  Var b = t.leaf(random_matrix(1, d, 24).cast<float>());
  Var s = t.leaf(random_matrix(n, 1, 25).cast<float>());
  ops::BatchNormState<float> st(d);
  std::vector<Var> outs{
      ops::leaky_relu(t, x),
      ops::gelu(t, x),
      ops::mul(t, x, y),
      ops::concat_cols(t, {x, y}),
      ops::head_mean(t, x, 4),
      ops::head_sum(t, y, 5),
      ops::row_scale(t, x, s),
      ops::layer_norm(t, x, g, b),
      ops::batch_norm(t, x, g, b, st, true),
      ops::batch_norm(t, y, g, b, st, false),
      ops::l2_normalize_rows(t, y),
  };
  Var total = t.constant(Mat::Zero(1, 1));
  for (size_t i = 0; i < outs.size(); ++i)
    total = ops::add(t, total, ops::weighted_sum(t, outs[i], Mat(random_matrix(t.rows(outs[i]), t.cols(outs[i]), 30 + i).cast<float>())));
  t.backward(total);
  RunOut r;
  for (Var v : outs) r.values.emplace_back(t.value(v));
  for (Var v : {x, y, g, b, s}) r.grads.emplace_back(t.grad(v));
  r.running_mean = st.running_mean;
  r.running_var = st.running_var;
  omp_set_num_threads(omp_get_num_procs());
  return r;
}
}  // namespace

TEST_CASE("new ops: bit-identical for 1 and 4 threads on the parallel path") {
  const RunOut a = run_all(1), b = run_all(4);
  REQUIRE(a.values.size() == b.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    CAPTURE(i);
    CHECK(a.values[i] == b.values[i]);
  }
  for (size_t i = 0; i < a.grads.size(); ++i) {
    CAPTURE(i);
    CHECK(a.grads[i] == b.grads[i]);
  }
  CHECK(a.running_mean == b.running_mean);
  CHECK(a.running_var == b.running_var);
}
