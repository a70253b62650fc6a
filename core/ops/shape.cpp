#include "core/ops/shape.hpp"

#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

namespace {

// Shared by head_mean / head_sum: out[r, j] = w · Σ_h x[r, h·d + j].
template <class T>
Var head_reduce(Tape<T>& t, Var x, int64_t heads, T w, const char* op) {
  const int64_t n = t.rows(x), m = t.cols(x);
  check(heads >= 1 && m % heads == 0, std::string(op) + ": " + std::to_string(heads) +
                                          " heads do not divide the " + std::to_string(m) + " columns of x " +
                                          dims(n, m));
  const int64_t d = m / heads;
  MatT<T> out(n, d);
  const T* xv = t.value(x).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    T* orow = o + r * d;
    const T* xrow = xv + r * m;
    for (int64_t j = 0; j < d; ++j) orow[j] = xrow[j];
    for (int64_t h = 1; h < heads; ++h)
      for (int64_t j = 0; j < d; ++j) orow[j] += xrow[h * d + j];
    if (w != T(1))
      for (int64_t j = 0; j < d; ++j) orow[j] *= w;
  });
  return t.push(std::move(out), op, {x}, [x, heads, w](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x), d = m / heads;
    const T* g = t.grad(self).data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, m, [&](int64_t r) {
      // dx[r, h·d + j] = w · G[r, j] for every head h
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < d; ++j) gx[r * m + h * d + j] += w * g[r * d + j];
    });
  });
}
}  // namespace

template <class T>
Var concat_cols(Tape<T>& t, const std::vector<Var>& xs) {
  check(!xs.empty(), "concat_cols: no inputs");
  const int64_t n = t.rows(xs[0]);
  auto offsets = std::make_shared<std::vector<int64_t>>();  // column offset of each input, then the total
  offsets->reserve(xs.size() + 1);
  int64_t total = 0;
  Var any_grad = xs[0];  // an input that requires a gradient, if one does
  for (size_t i = 0; i < xs.size(); ++i) {
    check(t.rows(xs[i]) == n, "concat_cols: input " + std::to_string(i) + " has " + std::to_string(t.rows(xs[i])) +
                                  " rows, input 0 has " + std::to_string(n));
    offsets->push_back(total);
    total += t.cols(xs[i]);
    if (t.requires_grad(xs[i])) any_grad = xs[i];
  }
  offsets->push_back(total);
  MatT<T> out(n, total);
  for (size_t i = 0; i < xs.size(); ++i) out.middleCols((*offsets)[i], t.cols(xs[i])) = t.value(xs[i]);
  // Tape::push takes a fixed input list and only derives requires_grad from it (any input
  // requiring a gradient), so passing one input that requires a gradient is equivalent.
  auto inputs = std::make_shared<std::vector<Var>>(xs);
  return t.push(std::move(out), "concat_cols", {any_grad}, [inputs, offsets](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    for (size_t i = 0; i < inputs->size(); ++i) {
      const Var v = (*inputs)[i];
      const int64_t c0 = (*offsets)[i], c = (*offsets)[i + 1] - c0;
      if (t.requires_grad(v)) t.grad(v) += g.middleCols(c0, c);  // dx_i = G[:, its columns]
    }
  });
}

template <class T>
Var concat_rows(Tape<T>& t, const std::vector<Var>& xs) {
  check(!xs.empty(), "concat_rows: no inputs");
  const int64_t m = t.cols(xs[0]);
  auto offsets = std::make_shared<std::vector<int64_t>>();  // row offset of each input, then the total
  offsets->reserve(xs.size() + 1);
  int64_t total = 0;
  Var any_grad = xs[0];
  for (size_t i = 0; i < xs.size(); ++i) {
    check(t.cols(xs[i]) == m, "concat_rows: input " + std::to_string(i) + " has " + std::to_string(t.cols(xs[i])) +
                                  " columns, input 0 has " + std::to_string(m));
    offsets->push_back(total);
    total += t.rows(xs[i]);
    if (t.requires_grad(xs[i])) any_grad = xs[i];
  }
  offsets->push_back(total);
  MatT<T> out(total, m);
  for (size_t i = 0; i < xs.size(); ++i) out.middleRows((*offsets)[i], t.rows(xs[i])) = t.value(xs[i]);
  auto inputs = std::make_shared<std::vector<Var>>(xs);  // see concat_cols for the single input passed to push
  return t.push(std::move(out), "concat_rows", {any_grad}, [inputs, offsets](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    for (size_t i = 0; i < inputs->size(); ++i) {
      const Var v = (*inputs)[i];
      const int64_t r0 = (*offsets)[i], r = (*offsets)[i + 1] - r0;
      if (t.requires_grad(v)) t.grad(v) += g.middleRows(r0, r);  // dx_i = G[its rows, :]
    }
  });
}

template <class T>
Var slice_cols(Tape<T>& t, Var x, int64_t start, int64_t count) {
  const int64_t m = t.cols(x);
  check(start >= 0 && count >= 0 && start + count <= m,
        "slice_cols: columns [" + std::to_string(start) + ", " + std::to_string(start + count) +
            ") out of range for x " + dims(t.rows(x), m));
  MatT<T> out = t.value(x).middleCols(start, count);
  return t.push(std::move(out), "slice_cols", {x}, [x, start, count](Tape<T>& t, Var self) {
    t.grad(x).middleCols(start, count) += t.grad(self);  // dx[:, start:start+count] = G, 0 elsewhere
  });
}

template <class T>
Var slice_rows(Tape<T>& t, Var x, int64_t start, int64_t count) {
  const int64_t m = t.rows(x);
  if (start < 0 || count < 0 || start + count > m)
    throw ShapeError("slice_rows: rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                     ") out of range for x " + dims(m, t.cols(x)));
  MatT<T> out = t.value(x).middleRows(start, count);
  return t.push(std::move(out), "slice_rows", {x}, [x, start, count](Tape<T>& t, Var self) {
    t.grad(x).middleRows(start, count) += t.grad(self);
  });
}

template <class T>
Var head_mean(Tape<T>& t, Var x, int64_t heads) {
  return head_reduce(t, x, heads, heads >= 1 ? T(1) / static_cast<T>(heads) : T(1), "head_mean");
}

template <class T>
Var head_sum(Tape<T>& t, Var x, int64_t heads) {
  return head_reduce(t, x, heads, T(1), "head_sum");
}

template <class T>
Var row_scale(Tape<T>& t, Var x, Var s) {
  const int64_t n = t.rows(x), m = t.cols(x);
  check(t.rows(s) == n && t.cols(s) == 1,
        "row_scale: s must be " + dims(n, 1) + " for x " + dims(n, m) + ", got " + dims(t.rows(s), t.cols(s)));
  MatT<T> out(n, m);
  const T* xv = t.value(x).data();
  const T* sv = t.value(s).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    for (int64_t j = 0; j < m; ++j) o[r * m + j] = sv[r] * xv[r * m + j];
  });
  return t.push(std::move(out), "row_scale", {x, s}, [x, s](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x);
    const T* g = t.grad(self).data();
    const T* xv = t.value(x).data();
    const T* sv = t.value(s).data();
    T* gx = t.requires_grad(x) ? t.grad(x).data() : nullptr;
    T* gs = t.requires_grad(s) ? t.grad(s).data() : nullptr;
    detail::for_each_row(n, m, [&](int64_t r) {
      if (gx)
        for (int64_t j = 0; j < m; ++j) gx[r * m + j] += sv[r] * g[r * m + j];  // dx[r, :] = s[r] · G[r, :]
      if (gs) {
        T acc = 0;
        for (int64_t j = 0; j < m; ++j) acc += g[r * m + j] * xv[r * m + j];
        gs[r] += acc;  // ds[r] = G[r, :] · x[r, :]
      }
    });
  });
}

#define LOCUS_INSTANTIATE(T)                                                \
  template Var concat_cols<T>(Tape<T>&, const std::vector<Var>&);           \
  template Var concat_rows<T>(Tape<T>&, const std::vector<Var>&);           \
  template Var slice_cols<T>(Tape<T>&, Var, int64_t, int64_t);              \
  template Var slice_rows<T>(Tape<T>&, Var, int64_t, int64_t);              \
  template Var head_mean<T>(Tape<T>&, Var, int64_t);                        \
  template Var head_sum<T>(Tape<T>&, Var, int64_t);                         \
  template Var row_scale<T>(Tape<T>&, Var, Var);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
