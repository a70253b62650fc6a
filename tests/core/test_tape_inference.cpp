// Tape::NoGrad and Tape::transient: what inference relies on (layers/gnn.cpp, Trainer::predict); and how
// backward frees and passes gradients on.
#include <doctest/doctest.h>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/rng.hpp"
#include "core/tape.hpp"

using namespace locus;

TEST_CASE("NoGrad: parameters need no gradient, ops keep no closure, backward leaves the store alone") {
  ParamStore<double> store;
  Rng rng(1);
  const ParamId w = store.add("w", 2, 2, Init::Zeros, rng);
  store.value(w) << 1, -2, 3, 4;
  const MatD ones = MatD::Ones(2, 2);
  Tape<double> t;
  {
    const Tape<double>::NoGrad no_grad(t);
    CHECK_FALSE(t.grad_enabled());
    const Var p = t.param(store, w);
    const Var y = ops::weighted_sum(t, ops::relu(t, p), ones);
    CHECK_FALSE(t.requires_grad(p));
    CHECK_FALSE(t.requires_grad(y));
    CHECK(t.value(y)(0, 0) == 8.0);
    t.backward(y);
    CHECK(store.grad(w).cwiseAbs().sum() == 0.0);
  }
  CHECK(t.grad_enabled());  // the guard restores the mode
  const Var y = ops::weighted_sum(t, ops::relu(t, t.param(store, w)), ones);
  t.backward(y);
  CHECK(store.grad(w)(0, 0) == 1.0);
  CHECK(store.grad(w)(0, 1) == 0.0);
}

TEST_CASE("transient: an elementwise op takes the buffer, other ops free it, reading it again throws") {
  Tape<float> t;
  const Tape<float>::NoGrad no_grad(t);
  Mat a(2, 3);
  a << 1, -2, 3, -4, 5, -6;
  const Var x = t.transient(t.constant(a));
  const float* buffer = t.value(x).data();
  const Var y = ops::relu(t, x);
  CHECK(t.value(y).data() == buffer);  // in place
  CHECK(t.value(y)(1, 1) == 5.0f);
  CHECK_THROWS_WITH_AS(t.value(x), doctest::Contains("was read after its one use"), ShapeError);
  // A non-elementwise op (a row sum) reads it, then push() frees it.
  const Var z = t.transient(t.constant(a));
  const Var s = ops::weighted_sum(t, z, Mat(Mat::Ones(2, 3)));
  CHECK(t.value(s)(0, 0) == -3.0f);
  CHECK_THROWS_AS(t.value(z), ShapeError);
  // Not transient: copied, and readable afterwards.
  const Var k = t.constant(a);
  (void)ops::relu(t, k);
  CHECK(t.value(k)(0, 1) == -2.0f);
  // A view is never released (the tape does not own it).
  const Var v = t.transient(t.view(a));
  (void)ops::relu(t, v);
  CHECK(t.value(v)(0, 0) == 1.0f);
}

TEST_CASE("transient does nothing while gradients are on (backward reads the values)") {
  Tape<double> t;
  MatD a(1, 3);
  a << -1, 2, 3;
  const Var x = t.leaf(a);
  const Var h = t.transient(ops::scale(t, x, 2.0));
  const Var y = ops::weighted_sum(t, ops::relu(t, h), MatD(MatD::Ones(1, 3)));
  CHECK(t.value(h)(0, 1) == 4.0);
  t.backward(y);
  CHECK(t.grad(x)(0, 0) == 0.0);
  CHECK(t.grad(x)(0, 2) == 2.0);
}

TEST_CASE("backward frees spent gradients; pass_grad moves or adds, never loses a gradient") {
  Tape<double> t;
  const Var x = t.leaf(MatD::Constant(2, 3, 1.5));
  const Var y = t.leaf(MatD::Constant(2, 3, -0.5));
  const Var xx = ops::add(t, x, x);         // one input twice: both halves land (dx = 2·G)
  const Var s = ops::add(t, xx, y);         // y's gradient taken from s's buffer
  const Var loss = ops::weighted_sum(t, s, MatD(MatD::Constant(2, 3, 3.0)));
  t.backward(loss);
  CHECK(t.grad(x).isApprox(MatD::Constant(2, 3, 6.0)));
  CHECK(t.grad(y).isApprox(MatD::Constant(2, 3, 3.0)));
  CHECK(!t.has_grad(xx));  // an op result's gradient is freed once its closure ran
  CHECK(!t.has_grad(s));
  CHECK(t.has_grad(x));    // leaves keep theirs
}
