#include "core/ops/pair.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"

namespace locus::ops {

template <class T>
Var pair_dot(Tape<T>& t, Var z, std::span<const int32_t> u, std::span<const int32_t> v) {
  if (u.size() != v.size())
    throw ShapeError("pair_dot: u has " + std::to_string(u.size()) + " entries, v " + std::to_string(v.size()));
  const int64_t n = t.rows(z), d = t.cols(z);
  const int64_t P = static_cast<int64_t>(u.size());
  for (int64_t p = 0; p < P; ++p) {
    // The message is built only on failure.
    if (u[p] < 0 || u[p] >= n || v[p] < 0 || v[p] >= n)
      throw ShapeError("pair_dot: pair " + std::to_string(p) + " (" + std::to_string(u[p]) + ", " +
                       std::to_string(v[p]) + ") out of range for " + std::to_string(n) + " nodes");
  }
  auto uu = std::make_shared<std::vector<int32_t>>(u.begin(), u.end());
  auto vv = std::make_shared<std::vector<int32_t>>(v.begin(), v.end());
  auto zv = t.value(z);
  MatT<T> out(P, 1);
  const T* zp = zv.data();
  T* op = out.data();
  detail::for_each_row(P, d, [&](int64_t p) {
    const T* a = zp + (*uu)[p] * d;
    const T* b = zp + (*vv)[p] * d;
    T s = 0;
    for (int64_t j = 0; j < d; ++j) s += a[j] * b[j];
    op[p] = s;
  });
  return t.push(std::move(out), "pair_dot", {z}, [z, uu, vv, d](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    auto zv = t.value(z);
    auto gz = t.grad(z);
    const T* zp = zv.data();
    T* gp = gz.data();
    const int64_t P = static_cast<int64_t>(uu->size());
    for (int64_t p = 0; p < P; ++p) {
      const T gs = g(p, 0);
      const int64_t a = (*uu)[p] * d, b = (*vv)[p] * d;
      for (int64_t j = 0; j < d; ++j) {
        gp[a + j] += gs * zp[b + j];
        gp[b + j] += gs * zp[a + j];
      }
    }
  });
}

template <class T>
Var bce_with_logits(Tape<T>& t, Var scores, std::span<const int32_t> targets) {
  const int64_t P = t.rows(scores) * t.cols(scores);
  if (P != static_cast<int64_t>(targets.size()))
    throw ShapeError("bce_with_logits: " + std::to_string(P) + " scores but " + std::to_string(targets.size()) +
                     " targets");
  check(P > 0, "bce_with_logits: no scores");
  for (int64_t p = 0; p < P; ++p)
    if (targets[p] != 0 && targets[p] != 1)
      throw ShapeError("bce_with_logits: target " + std::to_string(p) + " is " + std::to_string(targets[p]) +
                       ", not 0 or 1");
  auto y = std::make_shared<std::vector<int32_t>>(targets.begin(), targets.end());
  auto xv = t.value(scores);
  const T* x = xv.data();
  double sum = 0;
  for (int64_t p = 0; p < P; ++p) {
    const double xp = static_cast<double>(x[p]);
    sum += std::max(xp, 0.0) - xp * (*y)[p] + std::log1p(std::exp(-std::abs(xp)));
  }
  const double inv = 1.0 / static_cast<double>(P);
  MatT<T> out(1, 1);
  out(0, 0) = static_cast<T>(sum * inv);
  return t.push(std::move(out), "bce_with_logits", {scores}, [scores, y, inv](Tape<T>& t, Var self) {
    const T g = static_cast<T>(t.grad(self)(0, 0) * inv);
    auto xv = t.value(scores);
    auto gx = t.grad(scores);
    const T* x = xv.data();
    T* gp = gx.data();
    const int64_t P = static_cast<int64_t>(y->size());
    for (int64_t p = 0; p < P; ++p) {
      // σ(x) without overflow: e^(−|x|) ≤ 1.
      const T e = std::exp(-std::abs(x[p]));
      const T sig = x[p] >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
      gp[p] += g * (sig - static_cast<T>((*y)[p]));
    }
  });
}

template Var pair_dot<float>(Tape<float>&, Var, std::span<const int32_t>, std::span<const int32_t>);
template Var pair_dot<double>(Tape<double>&, Var, std::span<const int32_t>, std::span<const int32_t>);
template Var bce_with_logits<float>(Tape<float>&, Var, std::span<const int32_t>);
template Var bce_with_logits<double>(Tape<double>&, Var, std::span<const int32_t>);

}  // namespace locus::ops
