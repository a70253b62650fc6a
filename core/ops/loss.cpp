#include "core/ops/loss.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

template <class T>
Var log_softmax(Tape<T>& t, Var x) {
  // Plain row loops for the short rows (the class count) and one vectorised exp over the whole
  // matrix: Eigen's row-wise reductions of a row-major matrix ran a scalar loop with its
  // bookkeeping per row, ~3x slower on Cora's 2708 × 7.
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  const int64_t n = t.rows(x), c = t.cols(x);
  const T* xv = t.value(x).data();
  auto softmax = std::make_shared<MatT<T>>(n, c);
  MatT<T> out(n, c);
  T* sm = softmax->data();
  T* o = out.data();
  Array lse(n);  // per row: max, then log Σ exp(x − max) added
  detail::for_each_row(n, c, [&](int64_t i) {
    const T* r = xv + i * c;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < c; ++j) m = std::max(m, r[j]);
    for (int64_t j = 0; j < c; ++j) sm[i * c + j] = r[j] - m;
    lse[i] = m;
  });
  Eigen::Map<Array> e(sm, n * c);
  e = e.exp();
  Array sum(n);
  detail::for_each_row(n, c, [&](int64_t i) {
    T s = 0;
    for (int64_t j = 0; j < c; ++j) s += sm[i * c + j];
    sum[i] = s;
  });
  const Array log_sum = sum.log();
  // (x − max) − log Σ and a division by Σ: the same roundings as the whole-matrix form before
  // (x − (max + log Σ)) and a multiplication by 1 / Σ moved the sanitizer build's position probe
  // from 1.0 to 0.875 (tests/layers/test_position_probe.cpp, a borderline training).
  detail::for_each_row(n, c, [&](int64_t i) {
    for (int64_t j = 0; j < c; ++j) {
      o[i * c + j] = (xv[i * c + j] - lse[i]) - log_sum[i];
      sm[i * c + j] /= sum[i];
    }
  });
  return t.push(std::move(out), "log_softmax", {x}, [x, softmax, n, c](Tape<T>& t, Var self) {
    // dx = g − softmax · Σ_k g_k
    const T* g = t.grad(self).data();
    const T* sm = softmax->data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, c, [&](int64_t i) {
      T gs = 0;
      for (int64_t j = 0; j < c; ++j) gs += g[i * c + j];
      for (int64_t j = 0; j < c; ++j) gx[i * c + j] += g[i * c + j] - sm[i * c + j] * gs;
    });
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

template <class T>
Var l1_loss(Tape<T>& t, Var pred, const MatT<T>& target, std::span<const int32_t> idx) {
  if (target.rows() != t.rows(pred) || target.cols() != t.cols(pred))
    throw ShapeError("l1_loss: target " + dims(target.rows(), target.cols()) + " is not the shape of pred " +
                     dims(t.rows(pred), t.cols(pred)));
  check(!idx.empty(), "l1_loss: no rows selected");
  check(t.cols(pred) > 0, "l1_loss: pred has no columns");
  auto p = t.value(pred);
  // sign(pred − target) of each listed row, kept for the backward pass: [|idx|, k].
  auto sign = std::make_shared<MatT<T>>(static_cast<Eigen::Index>(idx.size()), p.cols());
  T sum = 0;
  for (size_t r = 0; r < idx.size(); ++r) {
    const int32_t i = idx[r];
    if (i < 0 || i >= t.rows(pred)) throw ShapeError("l1_loss: row " + std::to_string(i) + " out of range");
    const auto diff = (p.row(i) - target.row(i)).array();
    sum += diff.abs().sum();
    sign->row(static_cast<Eigen::Index>(r)) = diff.sign().matrix();  // sign(0) = 0: the subgradient at the kink
  }
  const T inv = T(1) / static_cast<T>(static_cast<double>(idx.size()) * static_cast<double>(p.cols()));
  MatT<T> out(1, 1);
  out(0, 0) = sum * inv;
  auto rows = std::make_shared<std::vector<int32_t>>(idx.begin(), idx.end());
  return t.push(std::move(out), "l1_loss", {pred}, [pred, rows, sign, inv](Tape<T>& t, Var self) {
    // d/dpred[i, j] = g · sign(pred[i, j] − target[i, j]) / (|idx|·k)
    const T g = t.grad(self)(0, 0) * inv;
    auto gp = t.grad(pred);
    for (size_t r = 0; r < rows->size(); ++r) gp.row((*rows)[r]) += g * sign->row(static_cast<Eigen::Index>(r));
  });
}

template Var log_softmax<float>(Tape<float>&, Var);
template Var log_softmax<double>(Tape<double>&, Var);
template Var nll_loss<float>(Tape<float>&, Var, std::span<const int32_t>, std::span<const int32_t>);
template Var nll_loss<double>(Tape<double>&, Var, std::span<const int32_t>, std::span<const int32_t>);
template Var l1_loss<float>(Tape<float>&, Var, const MatT<float>&, std::span<const int32_t>);
template Var l1_loss<double>(Tape<double>&, Var, const MatT<double>&, std::span<const int32_t>);

}  // namespace locus::ops
