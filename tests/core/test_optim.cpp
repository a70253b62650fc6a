#include <doctest/doctest.h>

#include <cmath>

#include "core/optim.hpp"

using namespace locus;

TEST_CASE("Adam first step moves each parameter by lr against its gradient sign") {
  Rng rng(0);
  ParamStore<double> s;
  ParamId a = s.add("a", 1, 2, Init::Zeros, rng);
  s.value(a) << 1.0, -2.0;
  s.grad(a) << 0.5, -3.0;
  Optimizer<double> opt({OptimKind::Adam, 0.1, 0.0});
  opt.step(s);
  // m̂ = g, v̂ = g², so the update is lr · g / (|g| + eps).
  CHECK(s.value(a)(0, 0) == doctest::Approx(0.9).epsilon(1e-7));
  CHECK(s.value(a)(0, 1) == doctest::Approx(-1.9).epsilon(1e-7));
}

TEST_CASE("weight decay: Adam adds λw to the gradient, AdamW decays directly, flags respected") {
  Rng rng(0);
  ParamStore<double> s;
  ParamId a = s.add("a", 1, 1, Init::Ones, rng, /*decay=*/true);
  ParamId b = s.add("b", 1, 1, Init::Ones, rng, /*decay=*/false);
  Optimizer<double> adamw({OptimKind::AdamW, 0.1, 0.5});
  adamw.step(s);  // zero gradients: only the decoupled decay acts
  CHECK(s.value(a)(0, 0) == doctest::Approx(1.0 - 0.1 * 0.5));
  CHECK(s.value(b)(0, 0) == doctest::Approx(1.0));
  Optimizer<double> sgd({OptimKind::Sgd, 0.1, 0.5});
  sgd.step(s);  // g = λ w
  CHECK(s.value(a)(0, 0) == doctest::Approx(0.95 - 0.1 * 0.5 * 0.95));
  CHECK(s.value(b)(0, 0) == doctest::Approx(1.0));
}

TEST_CASE("Adam minimises a quadratic") {
  Rng rng(3);
  ParamStore<double> s;
  ParamId x = s.add("x", 3, 1, Init::Glorot, rng);
  Optimizer<double> opt({OptimKind::Adam, 0.05, 0.0});
  const Eigen::Vector3d target(1.0, -2.0, 0.5);
  for (int i = 0; i < 2000; ++i) {
    s.grad(x) = 2.0 * (s.value(x) - target);  // d/dx |x − t|²
    opt.step(s);
  }
  CHECK((s.value(x) - target).norm() < 1e-3);
}

TEST_CASE("Glorot initialisation bounds and reproducibility") {
  Rng r1(11), r2(11);
  ParamStore<float> s1, s2;
  ParamId w1 = s1.add("w", 30, 10, Init::Glorot, r1);
  s2.add("w", 30, 10, Init::Glorot, r2);
  const float bound = std::sqrt(6.0f / 40.0f);
  CHECK(s1.value(w1).cwiseAbs().maxCoeff() <= bound);
  CHECK(s1.value(w1).cwiseAbs().maxCoeff() > 0.8f * bound);
  CHECK(s1.values() == s2.values());
}
