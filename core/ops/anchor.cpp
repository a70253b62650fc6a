#include "core/ops/anchor.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

namespace {

// gt[u, :] += Σ_{i : idx[i] = u} g[i, :] for u < v (rows m wide; negative idx[i] skipped). A stable
// counting sort lists the rows reading u in increasing i; each u is then summed by one thread in that
// order: no atomics, the same bits for any thread count.
template <class T, class I>
void scatter_add_rows(const std::vector<I>& idx, int64_t v, int64_t m, const T* g, T* gt) {
  const int64_t n = static_cast<int64_t>(idx.size());
  std::vector<int64_t> start(v + 1, 0), order;
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] >= 0) ++start[idx[i] + 1];
  for (int64_t u = 0; u < v; ++u) start[u + 1] += start[u];
  order.resize(start[v]);
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i)
      if (idx[i] >= 0) order[fill[idx[i]]++] = i;
  }
#pragma omp parallel for schedule(static) if (n * m >= detail::kParallelEntries)
  for (int64_t u = 0; u < v; ++u)
    for (int64_t p = start[u]; p < start[u + 1]; ++p) {
      const T* gr = g + order[p] * m;
      for (int64_t j = 0; j < m; ++j) gt[u * m + j] += gr[j];
    }
}
}  // namespace

template <class T>
Var reshape(Tape<T>& t, Var x, int64_t rows, int64_t cols) {
  const int64_t n = t.rows(x), m = t.cols(x);
  check(rows >= 0 && cols >= 0 && rows * cols == n * m,
        "reshape: cannot view x " + dims(n, m) + " as " + dims(rows, cols));
  MatT<T> out(rows, cols);
  if (n * m > 0) std::copy_n(t.value(x).data(), n * m, out.data());
  return t.push(std::move(out), "reshape", {x}, [x](Tape<T>& t, Var self) {
    const int64_t size = t.rows(x) * t.cols(x);
    const T* g = t.grad(self).data();
    T* gx = t.grad(x).data();
    for (int64_t i = 0; i < size; ++i) gx[i] += g[i];  // dx = G, same row-major entries
  });
}

template <class T>
Var repeat_rows(Tape<T>& t, Var x, int64_t k) {
  const int64_t n = t.rows(x), d = t.cols(x);
  check(k >= 0, "repeat_rows: k must be ≥ 0, got " + std::to_string(k));
  MatT<T> out(n * k, d);
  const T* xv = t.value(x).data();
  T* o = out.data();
  detail::for_each_row(n, k * d, [&](int64_t v) {
    for (int64_t j = 0; j < k; ++j) std::copy_n(xv + v * d, d, o + (v * k + j) * d);
  });
  return t.push(std::move(out), "repeat_rows", {x}, [x, k](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), d = t.cols(x);
    const T* g = t.grad(self).data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, k * d, [&](int64_t v) {
      for (int64_t j = 0; j < k; ++j)  // dx[v] = Σ_j G[v·k + j]
        for (int64_t c = 0; c < d; ++c) gx[v * d + c] += g[(v * k + j) * d + c];
    });
  });
}

template <class T>
Var gather_blocks(Tape<T>& t, Var x, std::span<const int64_t> idx, int64_t d) {
  const int64_t r = t.rows(x), c = t.cols(x), n = static_cast<int64_t>(idx.size());
  check(d >= 1 && c % d == 0, "gather_blocks: block width " + std::to_string(d) + " does not divide the " +
                                  std::to_string(c) + " columns of x " + dims(r, c));
  const int64_t blocks = r * (c / d);
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= blocks)
      check(false, "gather_blocks: index " + std::to_string(idx[i]) + " at position " + std::to_string(i) +
                       " is outside the " + std::to_string(blocks) + " blocks of x " + dims(r, c));
  auto index = std::make_shared<std::vector<int64_t>>(idx.begin(), idx.end());
  MatT<T> out(n, d);
  const T* xv = t.value(x).data();
  T* o = out.data();
  detail::for_each_row(n, d, [&](int64_t i) { std::copy_n(xv + (*index)[i] * d, d, o + i * d); });
  return t.push(std::move(out), "gather_blocks", {x}, [x, index, d](Tape<T>& t, Var self) {
    const int64_t blocks = t.rows(x) * t.cols(x) / d;
    scatter_add_rows(*index, blocks, d, t.grad(self).data(), t.grad(x).data());  // dx[block u] += G[i], idx[i] = u
  });
}

template <class T>
Var scatter_blocks(Tape<T>& t, Var base, std::span<const int64_t> idx, Var src, int64_t rows, int64_t cols) {
  const int64_t d = t.cols(src), count = static_cast<int64_t>(idx.size());
  check(t.rows(src) == count, "scatter_blocks: src has " + std::to_string(t.rows(src)) + " rows for " +
                                  std::to_string(count) + " indices");
  check(rows >= 0 && d >= 1 && cols % d == 0, "scatter_blocks: src width " + std::to_string(d) +
                                                  " does not divide the " + std::to_string(cols) + " columns");
  if (base.valid())
    check(t.rows(base) == rows && t.cols(base) == cols,
          "scatter_blocks: base must be " + dims(rows, cols) + ", got " + dims(t.rows(base), t.cols(base)));
  const int64_t blocks = rows * (cols / d);
  // written[b] = 1 when block b is replaced; also catches repeated indices.
  auto written = std::make_shared<std::vector<uint8_t>>(blocks, uint8_t(0));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t b = idx[i];
    if (b < 0 || b >= blocks)
      check(false, "scatter_blocks: index " + std::to_string(b) + " at position " + std::to_string(i) +
                       " is outside the " + std::to_string(blocks) + " blocks of " + dims(rows, cols));
    if ((*written)[b]) check(false, "scatter_blocks: block " + std::to_string(b) + " is listed twice");
    (*written)[b] = 1;
  }
  auto index = std::make_shared<std::vector<int64_t>>(idx.begin(), idx.end());
  MatT<T> out = base.valid() ? MatT<T>(t.value(base)) : MatT<T>::Zero(rows, cols);
  const T* sv = t.value(src).data();
  T* o = out.data();
  detail::for_each_row(count, d, [&](int64_t i) { std::copy_n(sv + i * d, d, o + (*index)[i] * d); });
  return t.push(std::move(out), "scatter_blocks", {base, src}, [base, src, index, written](Tape<T>& t, Var self) {
    const int64_t d = t.cols(src), count = static_cast<int64_t>(index->size());
    const T* g = t.grad(self).data();
    if (base.valid() && t.requires_grad(base)) {
      const int64_t blocks = static_cast<int64_t>(written->size());
      T* gb = t.grad(base).data();
      detail::for_each_row(blocks, d, [&](int64_t b) {
        if ((*written)[b]) return;  // overwritten blocks pass no gradient to base
        for (int64_t j = 0; j < d; ++j) gb[b * d + j] += g[b * d + j];
      });
    }
    if (t.requires_grad(src)) {
      T* gs = t.grad(src).data();
      detail::for_each_row(count, d, [&](int64_t i) {  // dsrc[i] = block idx[i] of G
        const T* gr = g + (*index)[i] * d;
        for (int64_t j = 0; j < d; ++j) gs[i * d + j] += gr[j];
      });
    }
  });
}

template <class T>
Var gather_rows_or_zero(Tape<T>& t, Var table, std::span<const int32_t> idx) {
  const int64_t v = t.rows(table), m = t.cols(table), n = static_cast<int64_t>(idx.size());
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < -1 || idx[i] >= v)
      check(false, "gather_rows_or_zero: index " + std::to_string(idx[i]) + " at position " + std::to_string(i) +
                       " is outside [-1, " + std::to_string(v) + ")");
  auto index = std::make_shared<std::vector<int32_t>>(idx.begin(), idx.end());
  MatT<T> out(n, m);
  const T* tv = t.value(table).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t i) {
    const int32_t u = (*index)[i];
    if (u < 0) std::fill_n(o + i * m, m, T(0));
    else std::copy_n(tv + static_cast<int64_t>(u) * m, m, o + i * m);
  });
  return t.push(std::move(out), "gather_rows_or_zero", {table}, [table, index](Tape<T>& t, Var self) {
    const int64_t v = t.rows(table), m = t.cols(table);
    scatter_add_rows(*index, v, m, t.grad(self).data(), t.grad(table).data());  // dtable[u] += G[i], idx[i] = u
  });
}

template <class T>
Var index_add_rows(Tape<T>& t, Var x, std::span<const int64_t> idx, int64_t n) {
  const int64_t m = t.rows(x), c = t.cols(x);
  check(static_cast<int64_t>(idx.size()) == m && n >= 0,
        "index_add_rows: " + std::to_string(idx.size()) + " indices for x " + dims(m, c));
  for (int64_t i = 0; i < m; ++i)
    if (idx[i] < 0 || idx[i] >= n)
      check(false, "index_add_rows: index " + std::to_string(idx[i]) + " at position " + std::to_string(i) +
                       " is outside [0, " + std::to_string(n) + ")");
  auto index = std::make_shared<std::vector<int64_t>>(idx.begin(), idx.end());
  MatT<T> out = MatT<T>::Zero(n, c);
  scatter_add_rows(*index, n, c, t.value(x).data(), out.data());
  return t.push(std::move(out), "index_add_rows", {x}, [x, index](Tape<T>& t, Var self) {
    const int64_t m = t.rows(x), c = t.cols(x);
    const T* g = t.grad(self).data();
    T* gx = t.grad(x).data();
    detail::for_each_row(m, c, [&](int64_t i) {  // dx[i] = G[idx[i]]
      const T* gr = g + (*index)[i] * c;
      for (int64_t j = 0; j < c; ++j) gx[i * c + j] += gr[j];
    });
  });
}

#define LOCUS_INSTANTIATE(T)                                                               \
  template Var reshape<T>(Tape<T>&, Var, int64_t, int64_t);                                \
  template Var repeat_rows<T>(Tape<T>&, Var, int64_t);                                     \
  template Var gather_blocks<T>(Tape<T>&, Var, std::span<const int64_t>, int64_t);         \
  template Var scatter_blocks<T>(Tape<T>&, Var, std::span<const int64_t>, Var, int64_t, int64_t); \
  template Var gather_rows_or_zero<T>(Tape<T>&, Var, std::span<const int32_t>);           \
  template Var index_add_rows<T>(Tape<T>&, Var, std::span<const int64_t>, int64_t);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
