#include "core/ops/anchor.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/gspmm.hpp"
#include "core/kernels/row_ops.hpp"
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

template <class T>
Var gir_hop(Tape<T>& t, std::shared_ptr<const Csr> a, Var hw, Var y, std::shared_ptr<const std::vector<int64_t>> node,
            std::shared_ptr<const std::vector<T>> s) {
  check(a != nullptr && node != nullptr, "gir_hop: no hop graph or node list");
  const int64_t f = a->num_dst, d = t.cols(hw), v = t.rows(y);
  check(t.rows(hw) == a->num_src, "gir_hop: hw has " + std::to_string(t.rows(hw)) + " rows, the hop graph " +
                                      std::to_string(a->num_src) + " sources");
  check(t.cols(y) == d, "gir_hop: y " + dims(v, t.cols(y)) + " and hw " + dims(t.rows(hw), d) + " differ in width");
  check(static_cast<int64_t>(node->size()) == f,
        "gir_hop: " + std::to_string(node->size()) + " nodes for " + std::to_string(f) + " hop-graph rows");
  check(!s || static_cast<int64_t>(s->size()) == v,
        "gir_hop: the scale has " + std::to_string(s ? s->size() : 0) + " entries, y " + std::to_string(v) + " rows");
  for (int64_t i = 0; i < f; ++i)
    if ((*node)[i] < 0 || (*node)[i] >= v || (i > 0 && (*node)[i] < (*node)[i - 1]))
      check(false, "gir_hop: node " + std::to_string((*node)[i]) + " at row " + std::to_string(i) +
                       " is outside [0, " + std::to_string(v) + ") or below the row before");
  MatT<T> out(f, d);
  const T* hv = t.value(hw).data();
  const T* yv = t.value(y).data();
  T* o = out.data();
  const bool weighted = a->has_weights();
  kernels::dispatch_width(d, [&](auto width) {
    constexpr int kD = decltype(width)::value;
    const int64_t w = kD ? kD : d;
    detail::for_each_row(f, (a->num_edges() + f) * d / std::max<int64_t>(f, 1), [&](int64_t i) {  // ≈ (nnz + F)·d work
      T* row = o + i * w;
      std::fill_n(row, w, T(0));
      for (int64_t p = a->indptr[i]; p < a->indptr[i + 1]; ++p)  // restrict + simd: one vector per row at d = 16
        kernels::axpy<kD>(weighted ? static_cast<T>(a->weights[p]) : T(1), hv + static_cast<int64_t>(a->indices[p]) * w,
                          row, w);
      const int64_t u = (*node)[i];
      const T sc = s ? (*s)[u] : T(1);
      const T* yr = yv + u * w;
      for (int64_t c = 0; c < w; ++c) row[c] = std::max(T(0), sc * row[c] + yr[c]);
    });
  });
  return t.push(std::move(out), "gir_hop", {hw, y}, [a, hw, y, node, s](Tape<T>& t, Var self) {
    const int64_t f = a->num_dst, d = t.cols(hw);
    const T* g = t.grad(self).data();
    const T* o = t.value(self).data();
    MatT<T> gm(f, d);  // G ⊙ [out > 0]
    T* gmv = gm.data();
    detail::for_each_row(f, d, [&](int64_t i) {
      for (int64_t c = 0; c < d; ++c) gmv[i * d + c] = o[i * d + c] > T(0) ? g[i * d + c] : T(0);
    });
    if (t.requires_grad(y)) {
      // Runs of equal nodes (node is non-decreasing): dy[u] = Σ of its run, one thread per run.
      std::vector<int64_t> run{0};
      for (int64_t i = 1; i < f; ++i)
        if ((*node)[i] != (*node)[i - 1]) run.push_back(i);
      run.push_back(f);
      T* gy = t.grad(y).data();
      const int64_t runs = static_cast<int64_t>(run.size()) - 1;
      detail::for_each_row(runs, f / std::max<int64_t>(runs, 1) * d, [&](int64_t r) {
        if (run[r] == run[r + 1]) return;
        T* dst = gy + (*node)[run[r]] * d;
        for (int64_t i = run[r]; i < run[r + 1]; ++i)
          for (int64_t c = 0; c < d; ++c) dst[c] += gmv[i * d + c];
      });
    }
    if (t.requires_grad(hw)) {
      if (s)
        detail::for_each_row(f, d, [&](int64_t i) {
          const T sc = (*s)[(*node)[i]];
          for (int64_t c = 0; c < d; ++c) gmv[i * d + c] *= sc;
        });
      const T* none = nullptr;
      kernels::spmm_csr_heads(a->reversed(), gmv, 1, d, none, false, t.grad(hw).data(), true);  // dhw += aᵀ g
    }
  });
}

#define LOCUS_INSTANTIATE(T)                                                               \
  template Var reshape<T>(Tape<T>&, Var, int64_t, int64_t);                                \
  template Var repeat_rows<T>(Tape<T>&, Var, int64_t);                                     \
  template Var gather_blocks<T>(Tape<T>&, Var, std::span<const int64_t>, int64_t);         \
  template Var scatter_blocks<T>(Tape<T>&, Var, std::span<const int64_t>, Var, int64_t, int64_t); \
  template Var gather_rows_or_zero<T>(Tape<T>&, Var, std::span<const int32_t>);           \
  template Var index_add_rows<T>(Tape<T>&, Var, std::span<const int64_t>, int64_t);          \
  template Var gir_hop<T>(Tape<T>&, std::shared_ptr<const Csr>, Var, Var,                  \
                          std::shared_ptr<const std::vector<int64_t>>, std::shared_ptr<const std::vector<T>>);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
