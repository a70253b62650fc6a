#include "tests/testing/gradcheck.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "core/ops/basic.hpp"
#include "core/rng.hpp"

namespace locus::testing {

ParamId param_named(const ParamStore<double>& store, const std::string& name) {
  const ParamId id = store.find(name);
  if (id.index < 0) FAIL_CHECK("no parameter " << name);
  return id;
}

GradCheckResult gradcheck(const GradFn& f, std::vector<MatD> inputs, double h) {
  GradCheckResult res;
  auto eval = [&](std::vector<MatD>* grads) {
    Tape<double> t;
    std::vector<Var> leaves;
    for (const auto& m : inputs) leaves.push_back(t.leaf(m));
    Var loss = f(t, leaves);
    if (grads) {
      t.backward(loss);
      for (Var v : leaves) grads->push_back(t.has_grad(v) ? MatD(t.grad(v)) : MatD::Zero(t.rows(v), t.cols(v)));
    }
    return t.value(loss)(0, 0);
  };
  std::vector<MatD> analytic;
  eval(&analytic);
  for (size_t i = 0; i < inputs.size(); ++i)
    for (int64_t r = 0; r < inputs[i].rows(); ++r)
      for (int64_t c = 0; c < inputs[i].cols(); ++c) {
        const double x0 = inputs[i](r, c);
        inputs[i](r, c) = x0 + h;
        const double fp = eval(nullptr);
        inputs[i](r, c) = x0 - h;
        const double fm = eval(nullptr);
        inputs[i](r, c) = x0;
        res.analytic.push_back(analytic[i](r, c));
        res.numeric.push_back((fp - fm) / (2 * h));
        res.where.push_back("leaf " + std::to_string(i) + " (" + std::to_string(r) + "," + std::to_string(c) + ")");
      }
  return res;
}

GradCheckResult gradcheck_params(const std::function<Var(Tape<double>&)>& f, ParamStore<double>& store, double h) {
  GradCheckResult res;
  store.zero_grad();
  {
    Tape<double> t;
    t.backward(f(t));
  }
  const auto analytic = store.grads();
  auto& v = store.values();
  auto eval = [&] {
    Tape<double> t;
    return t.value(f(t))(0, 0);
  };
  for (const ParamInfo& p : store.params())
    for (int64_t k = p.offset; k < p.offset + p.rows * p.cols; ++k) {
      const double x0 = v[k];
      v[k] = x0 + h;
      const double fp = eval();
      v[k] = x0 - h;
      const double fm = eval();
      v[k] = x0;
      res.analytic.push_back(analytic[k]);
      res.numeric.push_back((fp - fm) / (2 * h));
      res.where.push_back("param " + p.name + "[" + std::to_string(k - p.offset) + "]");
    }
  return res;
}

std::string grad_mismatch(const GradCheckResult& r, double atol, double rtol) {
  double worst = 0;
  std::string msg;
  for (size_t i = 0; i < r.size(); ++i) {
    const double excess = std::abs(r.analytic[i] - r.numeric[i]) - (atol + rtol * std::abs(r.numeric[i]));
    if (excess > worst) {
      worst = excess;
      msg = r.where[i] + ": analytic " + std::to_string(r.analytic[i]) + " numeric " + std::to_string(r.numeric[i]);
    }
  }
  return msg;
}

MatD random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  MatD m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(-1.0, 1.0);
  return m;
}

Var reduce_random(Tape<double>& t, Var y, uint64_t seed) {
  return ops::weighted_sum(t, y, random_matrix(t.rows(y), t.cols(y), seed));
}

void check_grad(const GradFn& f, std::vector<MatD> inputs) {
  const GradCheckResult r = gradcheck(f, std::move(inputs));
  CHECK(r.size() > 0);
  const std::string worst = grad_mismatch(r);
  CHECK_MESSAGE(worst.empty(), worst);
}

}  // namespace locus::testing
