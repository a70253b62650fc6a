#include "core/ops/position.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

template <class T>
Var rope(Tape<T>& t, Var x, const Mat& pos, int64_t heads, double base) {
  const int64_t n = t.rows(x), m = t.cols(x), np = pos.cols();
  check(heads >= 1 && m % heads == 0, "rope: " + std::to_string(heads) + " heads do not divide the " +
                                          std::to_string(m) + " columns of x " + dims(n, m));
  check(pos.rows() == n, "rope: pos has " + std::to_string(pos.rows()) + " rows but x has " + std::to_string(n));
  check(np >= 1, "rope: pos needs at least one column (position dimension)");
  check(base > 0, "rope: base must be positive, got " + std::to_string(base));
  const int64_t d = m / heads;
  check(d % (2 * np) == 0, "rope: head size " + std::to_string(d) + " (= " + std::to_string(m) + " columns / " +
                               std::to_string(heads) + " heads) must be divisible by 2·P = " +
                               std::to_string(2 * np) + " for P = " + std::to_string(np) +
                               " position dimensions; choose a head size that is a multiple of " +
                               std::to_string(2 * np));
  const int64_t dr = d / np, half = dr / 2, pairs = d / 2;
  std::vector<double> inv_freq(half);  // base^(−2k/d_rot), the same ladder for every part
  for (int64_t k = 0; k < half; ++k)
    inv_freq[k] = std::pow(base, -2.0 * static_cast<double>(k) / static_cast<double>(dr));
  // cs[r, 2q] = cos θ, cs[r, 2q+1] = sin θ of pair q = c·half + k (part c, rung k) of row r:
  // shared by all heads and kept for backward.
  auto cs = std::make_shared<MatT<T>>(n, d);
  {
    T* c = cs->data();
    detail::for_each_row(n, d, [&](int64_t r) {
      for (int64_t part = 0; part < np; ++part) {
        const double p = pos(r, part);
        for (int64_t k = 0; k < half; ++k) {
          const double theta = p * inv_freq[k];
          const int64_t q = part * half + k;
          c[r * d + 2 * q] = static_cast<T>(std::cos(theta));
          c[r * d + 2 * q + 1] = static_cast<T>(std::sin(theta));
        }
      }
    });
  }
  MatT<T> out(n, m);
  const T* xv = t.value(x).data();
  const T* c = cs->data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    const T* cr = c + r * d;
    for (int64_t h = 0; h < heads; ++h) {
      const T* xr = xv + r * m + h * d;
      T* orow = o + r * m + h * d;
      for (int64_t q = 0; q < pairs; ++q) {
        const T a = xr[2 * q], b = xr[2 * q + 1], co = cr[2 * q], si = cr[2 * q + 1];
        orow[2 * q] = a * co - b * si;
        orow[2 * q + 1] = a * si + b * co;
      }
    }
  });
  return t.push(std::move(out), "rope", {x}, [x, cs, heads](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x), d = m / heads, pairs = d / 2;
    const T* g = t.grad(self).data();
    const T* c = cs->data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, m, [&](int64_t r) {
      const T* cr = c + r * d;
      for (int64_t h = 0; h < heads; ++h) {
        const T* gr = g + r * m + h * d;
        T* gxr = gx + r * m + h * d;
        for (int64_t q = 0; q < pairs; ++q) {
          const T g0 = gr[2 * q], g1 = gr[2 * q + 1], co = cr[2 * q], si = cr[2 * q + 1];
          // dx = R(θ)ᵀ G = R(−θ) G
          gxr[2 * q] += g0 * co + g1 * si;
          gxr[2 * q + 1] += g1 * co - g0 * si;
        }
      }
    });
  });
}

template <class T>
Var gather_rows(Tape<T>& t, Var table, std::span<const int64_t> indices) {
  const int64_t v = t.rows(table), m = t.cols(table), n = static_cast<int64_t>(indices.size());
  for (int64_t i = 0; i < n; ++i)
    if (indices[i] < 0 || indices[i] >= v)
      check(false, "gather_rows: index " + std::to_string(indices[i]) + " at position " + std::to_string(i) +
                       " is outside the table's " + std::to_string(v) + " rows");
  auto idx = std::make_shared<std::vector<int64_t>>(indices.begin(), indices.end());
  MatT<T> out(n, m);
  const T* tv = t.value(table).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t i) {
    const T* src = tv + (*idx)[i] * m;
    for (int64_t j = 0; j < m; ++j) o[i * m + j] = src[j];
  });
  return t.push(std::move(out), "gather_rows", {table}, [table, idx](Tape<T>& t, Var self) {
    const int64_t v = t.rows(table), m = t.cols(table), n = static_cast<int64_t>(idx->size());
    // Inverse index by a stable counting sort: the output rows reading table row u are
    // order[start[u] .. start[u+1]), in increasing order. Each table row is then summed by one
    // thread in that fixed order: no atomics, the same bits for any thread count.
    std::vector<int64_t> start(v + 1, 0), order(n);
    for (int64_t i = 0; i < n; ++i) ++start[(*idx)[i] + 1];
    for (int64_t u = 0; u < v; ++u) start[u + 1] += start[u];
    {
      std::vector<int64_t> fill(start.begin(), start.end() - 1);
      for (int64_t i = 0; i < n; ++i) order[fill[(*idx)[i]]++] = i;
    }
    const T* g = t.grad(self).data();
    T* gt = t.grad(table).data();
#pragma omp parallel for schedule(static) if (n * m >= detail::kParallelEntries)
    for (int64_t u = 0; u < v; ++u)
      for (int64_t p = start[u]; p < start[u + 1]; ++p) {
        const T* gr = g + order[p] * m;
        for (int64_t j = 0; j < m; ++j) gt[u * m + j] += gr[j];  // dtable[u] += G[i] for indices[i] = u
      }
  });
}

// Scalar std::cos / std::sin loops: Eigen's packet sin/cos trips a GCC 12 -Wuninitialized false
// positive inside its AVX-512 intrinsics, and these ops only see small [N, F/2] inputs.
template <class T>
Var cosine(Tape<T>& t, Var x) {
  const int64_t n = t.rows(x), m = t.cols(x);
  MatT<T> out(n, m);
  const T* xv = t.value(x).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    for (int64_t j = r * m; j < (r + 1) * m; ++j) o[j] = std::cos(xv[j]);
  });
  return t.push(std::move(out), "cosine", {x}, [x](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x);
    const T* g = t.grad(self).data();
    const T* xv = t.value(x).data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, m, [&](int64_t r) {
      for (int64_t j = r * m; j < (r + 1) * m; ++j) gx[j] -= g[j] * std::sin(xv[j]);  // d cos x = −sin x
    });
  });
}

template <class T>
Var sine(Tape<T>& t, Var x) {
  const int64_t n = t.rows(x), m = t.cols(x);
  MatT<T> out(n, m);
  const T* xv = t.value(x).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    for (int64_t j = r * m; j < (r + 1) * m; ++j) o[j] = std::sin(xv[j]);
  });
  return t.push(std::move(out), "sine", {x}, [x](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x);
    const T* g = t.grad(self).data();
    const T* xv = t.value(x).data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, m, [&](int64_t r) {
      for (int64_t j = r * m; j < (r + 1) * m; ++j) gx[j] += g[j] * std::cos(xv[j]);  // d sin x = cos x
    });
  });
}

#define LOCUS_INSTANTIATE(T)                                                 \
  template Var rope<T>(Tape<T>&, Var, const Mat&, int64_t, double);          \
  template Var gather_rows<T>(Tape<T>&, Var, std::span<const int64_t>);      \
  template Var cosine<T>(Tape<T>&, Var);                                     \
  template Var sine<T>(Tape<T>&, Var);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
