#include "core/ops/loss.hpp"

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus::ops {

template <class T>
Var log_softmax(Tape<T>& t, Var x) {
  // Whole-matrix operations, so exp/log vectorise across rows as short as the class count.
  auto xv = t.value(x);
  MatT<T> out = xv;
  out.colwise() -= xv.rowwise().maxCoeff();
  auto softmax = std::make_shared<MatT<T>>(out.array().exp());
  const Eigen::Matrix<T, Eigen::Dynamic, 1> sum = softmax->rowwise().sum();
  out.colwise() -= sum.array().log().matrix();
  softmax->array().colwise() /= sum.array();
  return t.push(std::move(out), "log_softmax", {x}, [x, softmax](Tape<T>& t, Var self) {
    // dx = g − softmax · Σ_k g_k
    auto g = t.grad(self);
    const Eigen::Matrix<T, Eigen::Dynamic, 1> gsum = g.rowwise().sum();
    t.grad(x).array() += g.array() - softmax->array().colwise() * gsum.array();
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
    // Messages are built only on failure: this loop runs once per training node per epoch.
    if (i < 0 || i >= t.rows(logp)) throw ShapeError("nll_loss: row " + std::to_string(i) + " out of range");
    if (labels[i] < 0 || labels[i] >= c) throw ShapeError("nll_loss: row " + std::to_string(i) + " has no valid label");
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
