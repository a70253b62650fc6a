#include "core/ops/loss.hpp"

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus::ops {

template <class T>
Var log_softmax(Tape<T>& t, Var x) {
  auto xv = t.value(x);
  MatT<T> out(xv.rows(), xv.cols());
  const int64_t n = xv.rows();
#pragma omp parallel for schedule(static) if (n * xv.cols() >= (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    const T m = xv.row(i).maxCoeff();
    const T lse = m + std::log((xv.row(i).array() - m).exp().sum());
    out.row(i) = xv.row(i).array() - lse;
  }
  return t.push(std::move(out), "log_softmax", {x}, [x](Tape<T>& t, Var self) {
    // dx = g − softmax · Σ_k g_k, softmax = exp(y)
    auto g = t.grad(self);
    auto y = t.value(self);
    auto gx = t.grad(x);
    for (int64_t i = 0; i < g.rows(); ++i) gx.row(i).array() += g.row(i).array() - y.row(i).array().exp() * g.row(i).sum();
  });
}

template <class T>
Var nll_loss(Tape<T>& t, Var logp, std::span<const int32_t> labels, std::span<const int32_t> idx) {
  check(static_cast<int64_t>(labels.size()) == t.rows(logp), "nll_loss: one label per row");
  check(!idx.empty(), "nll_loss: no rows selected");
  const int64_t c = t.cols(logp);
  auto rows = std::make_shared<std::vector<std::pair<int32_t, int32_t>>>();
  rows->reserve(idx.size());
  for (int32_t i : idx) {
    check(i >= 0 && i < t.rows(logp), "nll_loss: row " + std::to_string(i) + " out of range");
    check(labels[i] >= 0 && labels[i] < c, "nll_loss: row " + std::to_string(i) + " has no valid label");
    rows->emplace_back(i, labels[i]);
  }
  auto lp = t.value(logp);
  T sum = 0;
  for (auto [i, y] : *rows) sum -= lp(i, y);
  const T inv = T(1) / static_cast<T>(rows->size());
  MatT<T> out(1, 1);
  out(0, 0) = sum * inv;
  return t.push(std::move(out), "nll_loss", {logp}, [logp, rows, inv](Tape<T>& t, Var self) {
    const T g = t.grad(self)(0, 0) * inv;
    auto gl = t.grad(logp);
    for (auto [i, y] : *rows) gl(i, y) -= g;  // d/dlogp[i,y] = −1/|idx|
  });
}

template Var log_softmax<float>(Tape<float>&, Var);
template Var log_softmax<double>(Tape<double>&, Var);
template Var nll_loss<float>(Tape<float>&, Var, std::span<const int32_t>, std::span<const int32_t>);
template Var nll_loss<double>(Tape<double>&, Var, std::span<const int32_t>, std::span<const int32_t>);

}  // namespace locus::ops
