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

namespace {
// Rows per parallel block of gir_frontier; fixed, so no sum depends on the thread count.
constexpr int64_t kGirBlock = 256;

// Runs of equal values in a non-decreasing list: run r is [run[r], run[r + 1]).
std::vector<int64_t> runs_of(const std::vector<int64_t>& node) {
  std::vector<int64_t> run{0};
  const int64_t n = static_cast<int64_t>(node.size());
  for (int64_t i = 1; i < n; ++i)
    if (node[i] != node[i - 1]) run.push_back(i);
  if (n > 0) run.push_back(n);
  return run;
}

// out = x · w for x [rows, n] and w [n, n], row-major (n = D when D > 0). For fixed widths up to 64,
// R rows at a time with their R·D sums in registers (8 vectors of 8 floats): each w row loaded once
// serves R independent multiply-add chains, which one row alone would leave waiting on each other
// (and a general GEMM spends longer packing so short a product than computing it).
template <int D, class T>
void rows_times(const T* __restrict x, const T* __restrict w, T* __restrict out, int64_t rows, int64_t n) {
  if constexpr (D > 0 && D <= 64) {
    constexpr int R = D <= 16 ? 4 : D <= 32 ? 2 : 1;
    auto block = [&]<int Q>(std::integral_constant<int, Q>, int64_t r) {
      T acc[Q][D] = {};
      for (int c = 0; c < D; ++c) {
        const T* wr = w + c * D;
        for (int q = 0; q < Q; ++q) {
          const T xq = x[(r + q) * D + c];
#pragma omp simd
          for (int j = 0; j < D; ++j) acc[q][j] += xq * wr[j];
        }
      }
      for (int q = 0; q < Q; ++q) std::copy_n(acc[q], D, out + (r + q) * D);
    };
    int64_t r = 0;
    for (; r + R <= rows; r += R) block(std::integral_constant<int, R>{}, r);
    for (; r < rows; ++r) block(std::integral_constant<int, 1>{}, r);
  } else {
    Eigen::Map<MatT<T>>(out, rows, n).noalias() =
        Eigen::Map<const MatT<T>>(x, rows, n) * Eigen::Map<const MatT<T>>(w, n, n);
  }
}

// m[0:n] = Σ_p a_p x[idx_p] over row i of a (rows of x n wide).
template <int D, class T>
inline void aggregate_row(const Csr& a, int64_t i, const T* __restrict x, T* __restrict m, int64_t n) {
  // The rows gathered lie scattered over the level before and the loop waits on them: fetch those
  // of row i + kAhead now (no arithmetic changes, so the sums keep their bits).
  constexpr int64_t kAhead = 4;
  if (i + kAhead < a.num_dst) {
    const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
    for (int64_t p = a.indptr[i + kAhead]; p < a.indptr[i + kAhead + 1]; ++p)
      for (int64_t b = 0; b < bytes; b += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(x + static_cast<int64_t>(a.indices[p]) * n) + b);
  }
  std::fill_n(m, n, T(0));
  const bool weighted = a.has_weights();
  for (int64_t p = a.indptr[i]; p < a.indptr[i + 1]; ++p)
    kernels::axpy<D>(weighted ? static_cast<T>(a.weights[p]) : T(1), x + static_cast<int64_t>(a.indices[p]) * n, m, n);
}

// Calls f(r) for every run r of `run` (runs_of), in parallel when the runs' rows × d are many:
// a node's run is written by one thread.
template <class F>
void for_each_run(const std::vector<int64_t>& run, int64_t d, F&& f) {
  const int64_t runs = static_cast<int64_t>(run.size()) - 1;
  if (runs <= 0) return;
  detail::for_each_row(runs, run.back() * d / runs, std::forward<F>(f));  // ≈ rows × d work in all
}

// Calls f(first, last) for consecutive blocks of kGirBlock rows of [0, rows), in parallel when
// rows × work ≥ kParallelWork; f gets its block's index as well.
template <class F>
void for_each_block(int64_t rows, int64_t work, F&& f) {
  const int64_t blocks = (rows + kGirBlock - 1) / kGirBlock;
#pragma omp parallel for schedule(dynamic, 1) if (rows * work >= kernels::kParallelWork && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) f(b, b * kGirBlock, std::min(rows, (b + 1) * kGirBlock));
}
}  // namespace

template <class T>
Var gir_frontier(Tape<T>& t, GirLevels<T> levels, Var start, Var w_top, Var y, GirReadout readout, double out_scale,
                 Var w_out) {
  const int64_t hops = static_cast<int64_t>(levels.hop.size()), d = t.cols(start);
  check(static_cast<int64_t>(levels.node.size()) == hops + 1 && static_cast<int64_t>(levels.weight.size()) == hops,
        "gir_frontier: " + std::to_string(hops) + " hop graphs need " + std::to_string(hops + 1) + " node lists and " +
            std::to_string(hops) + " weight indices, got " + std::to_string(levels.node.size()) + " and " +
            std::to_string(levels.weight.size()));
  for (const auto& nd : levels.node) check(nd != nullptr, "gir_frontier: a level has no node list");
  check(static_cast<int64_t>(levels.node[0]->size()) == t.rows(start),
        "gir_frontier: start has " + std::to_string(t.rows(start)) + " rows, level 0 " +
            std::to_string(levels.node[0]->size()) + " nodes");
  const int64_t v = levels.num_nodes;
  int64_t blocks = 0;
  if (hops > 0) {
    check(w_top.valid() && y.valid(), "gir_frontier: hops need w_top and y");
    check(d > 0 && t.cols(w_top) == d && t.rows(w_top) % d == 0 && t.rows(w_top) > 0,
          "gir_frontier: w_top must be [B·" + std::to_string(d) + ", " + std::to_string(d) + "], got " +
              dims(t.rows(w_top), t.cols(w_top)));
    blocks = t.rows(w_top) / d;
    check(t.rows(y) == v && t.cols(y) == blocks * d, "gir_frontier: y must be " + dims(v, blocks * d) + ", got " +
                                                          dims(t.rows(y), t.cols(y)));
  }
  check(!levels.scale || static_cast<int64_t>(levels.scale->size()) == v,
        "gir_frontier: the scale has " + std::to_string(levels.scale ? levels.scale->size() : 0) + " entries for " +
            std::to_string(v) + " nodes");
  const bool dot = readout == GirReadout::entry_dot;
  const int64_t k = levels.num_sets;
  if (dot) {
    check(w_out.valid() && t.rows(w_out) == 1 && t.cols(w_out) == d,
          "gir_frontier: entry_dot needs w_out [1, " + std::to_string(d) + "]");
    check(k >= 1 && static_cast<int64_t>(levels.entry.size()) == hops + 1,
          "gir_frontier: entry_dot needs num_sets ≥ 1 and an entry list per level");
    for (int64_t l = 0; l <= hops; ++l) {
      check(levels.entry[l] != nullptr && levels.entry[l]->size() == levels.node[l]->size(),
            "gir_frontier: level " + std::to_string(l) + "'s entry list differs in length from its node list");
      const std::vector<int64_t>& en = *levels.entry[l];
      const std::vector<int64_t>& nd = *levels.node[l];
      for (size_t i = 0; i < en.size(); ++i)  // node v's entries lie in [v·K, (v + 1)·K)
        if (en[i] < nd[i] * k || en[i] >= (nd[i] + 1) * k)
          check(false, "gir_frontier: entry " + std::to_string(en[i]) + " at row " + std::to_string(i) + " of level " +
                           std::to_string(l) + " is not of node " + std::to_string(nd[i]));
    }
  }
  std::vector<int64_t> offset{0};  // first stacked row of each level
  for (int64_t l = 0; l <= hops; ++l) {
    const std::vector<int64_t>& nd = *levels.node[l];
    const int64_t f = static_cast<int64_t>(nd.size());
    for (int64_t i = 0; i < f; ++i)
      if (nd[i] < 0 || nd[i] >= v || (i > 0 && nd[i] < nd[i - 1]))
        check(false, "gir_frontier: node " + std::to_string(nd[i]) + " at row " + std::to_string(i) + " of level " +
                         std::to_string(l) + " is outside [0, " + std::to_string(v) + ") or below the row before");
    if (l > 0) {
      const Csr* a = levels.hop[l - 1].get();
      check(a != nullptr && a->num_dst == f && a->num_src == static_cast<int64_t>(levels.node[l - 1]->size()),
            "gir_frontier: hop graph " + std::to_string(l) + " must be [" + std::to_string(f) + ", " +
                std::to_string(levels.node[l - 1]->size()) + "]");
      check(levels.weight[l - 1] >= 0 && levels.weight[l - 1] < blocks,
            "gir_frontier: hop " + std::to_string(l) + " reads weight block " + std::to_string(levels.weight[l - 1]) +
                " of " + std::to_string(blocks));
    }
    offset.push_back(offset.back() + f);
  }
  const int64_t e = offset.back();
  auto h = std::make_shared<MatT<T>>(e, d);  // every level's rows, stacked
  T* hv = h->data();
  if (e > 0 && t.rows(start) > 0) std::copy_n(t.value(start).data(), t.rows(start) * d, hv);
  const T* sv = levels.scale ? levels.scale->data() : nullptr;
  kernels::dispatch_width(d, [&](auto width) {
    constexpr int kD = decltype(width)::value;
    for (int64_t l = 1; l <= hops; ++l) {
      const Csr& a = *levels.hop[l - 1];
      const std::vector<int64_t>& nd = *levels.node[l];
      const int64_t b = levels.weight[l - 1], yc = t.cols(y);
      const T* wt = t.value(w_top).data() + b * d * d;
      const T* yv = t.value(y).data() + b * d;
      const T* prev = hv + offset[l - 1] * d;
      T* cur = hv + offset[l] * d;
      // Per block: the aggregates M [rows, d], then M W_top into the level's rows.
      const int64_t dk = kD > 0 ? kD : d;  // d, known at compile time where it can be (whole-vector loops)
      for_each_block(a.num_dst, d * d, [&](int64_t, int64_t first, int64_t last) {
        MatT<T> m(last - first, d);
        for (int64_t i = first; i < last; ++i) aggregate_row<kD>(a, i, prev, m.data() + (i - first) * d, d);
        rows_times<kD>(m.data(), wt, cur + first * d, last - first, d);
        for (int64_t i = first; i < last; ++i) {
          const int64_t u = nd[i];
          const T sc = sv ? sv[u] : T(1);
          const T* __restrict yr = yv + u * yc;
          T* __restrict row = cur + i * d;
#pragma omp simd
          for (int64_t c = 0; c < dk; ++c) row[c] = std::max(T(0), sc * row[c] + yr[c]);
        }
      });
    }
  });
  auto runs = std::make_shared<std::vector<std::vector<int64_t>>>();
  for (const auto& nd : levels.node) runs->push_back(runs_of(*nd));
  MatT<T> out;
  if (readout == GirReadout::rows) {
    out = std::move(*h);
    h.reset();
  } else if (dot) {  // out[e] = H[i] · w at each row's entry, each written once
    out = MatT<T>::Zero(v, k);
    T* o = out.data();
    const T* w = t.value(w_out).data();
    for (int64_t l = 0; l <= hops; ++l) {
      const std::vector<int64_t>& en = *levels.entry[l];
      const T* src = hv + offset[l] * d;
      kernels::dispatch_width(d, [&](auto width) {
        constexpr int kD = decltype(width)::value;
        detail::for_each_row(static_cast<int64_t>(en.size()), d,
                             [&](int64_t i) { o[en[i]] = kernels::dot<kD>(src + i * d, w, d); });
      });
    }
  } else {  // out[v] = Σ of v's rows, level by level; within a level one thread per node
    out = MatT<T>::Zero(v, d);
    T* o = out.data();
    for (int64_t l = 0; l <= hops; ++l) {
      const std::vector<int64_t>& nd = *levels.node[l];
      const std::vector<int64_t>& run = (*runs)[l];
      const T* src = hv + offset[l] * d;
      for_each_run(run, d, [&](int64_t r) {
        T* dst = o + nd[run[r]] * d;
        for (int64_t i = run[r]; i < run[r + 1]; ++i)
          for (int64_t c = 0; c < d; ++c) dst[c] += src[i * d + c];
      });
    }
    out *= static_cast<T>(out_scale);
  }
  auto plan = std::make_shared<const GirLevels<T>>(std::move(levels));
  return t.push(std::move(out), "gir_frontier", {start, w_top, y, w_out},
                [plan, h, runs, offset, start, w_top, y, w_out, readout, out_scale](Tape<T>& t, Var self) {
    const GirLevels<T>& lv = *plan;
    const int64_t hops = static_cast<int64_t>(lv.hop.size()), d = t.cols(start);
    const T* hv = h ? h->data() : t.value(self).data();
    const T* g = t.grad(self).data();
    const T sc_out = static_cast<T>(out_scale);
    const T* sv = lv.scale ? lv.scale->data() : nullptr;
    // dOut's share of row i of level l: factor · vec[0:d] (entry_dot: dOut[e] · w_out).
    const T* wo = readout == GirReadout::entry_dot ? t.value(w_out).data() : nullptr;
    auto ext_row = [&](int64_t l, int64_t i) -> std::pair<const T*, T> {
      switch (readout) {
        case GirReadout::rows: return {g + (offset[l] + i) * d, T(1)};
        case GirReadout::node_sum: return {g + (*lv.node[l])[i] * d, sc_out};
        default: return {wo, g[(*lv.entry[l])[i]]};
      }
    };
    if (readout == GirReadout::entry_dot && t.requires_grad(w_out)) {
      // dw_out = Σ_rows dOut[e] H[i], per level through detail::reduce_rows (fixed blocks, added in order).
      T* gw = t.grad(w_out).data();
      for (int64_t l = 0; l <= hops; ++l) {
        const std::vector<int64_t>& en = *lv.entry[l];
        const T* rows = hv + offset[l] * d;
        const MatT<T> sum = detail::reduce_rows<T>(static_cast<int64_t>(en.size()), d, 1, [&](int64_t i, T* acc) {
          kernels::axpy<0>(g[en[i]], rows + i * d, acc, d);
        });
        for (int64_t c = 0; c < d; ++c) gw[c] += sum(0, c);
      }
    }
    int64_t widest = 0;
    for (const auto& nd : lv.node) widest = std::max<int64_t>(widest, static_cast<int64_t>(nd->size()));
    // carry: dH of the current level from the level above it (zero for the deepest);
    // gm: the masked gradient of the current level, times s.
    // Uninitialised: every row is written before it is read.
    std::unique_ptr<T[]> carry_buf(new T[static_cast<size_t>(widest * d)]), gm_buf(new T[static_cast<size_t>(widest * d)]);
    T* carry = carry_buf.get();
    T* gm = gm_buf.get();
    const bool want_w = w_top.valid() && t.requires_grad(w_top), want_y = y.valid() && t.requires_grad(y);
    kernels::dispatch_width(d, [&](auto width) {
      constexpr int kD = decltype(width)::value;
      for (int64_t l = hops; l >= 1; --l) {
        const Csr& a = *lv.hop[l - 1];
        const std::vector<int64_t>& nd = *lv.node[l];
        const std::vector<int64_t>& run = (*runs)[l];
        const int64_t b = lv.weight[l - 1], yc = t.cols(y);
        const T* cur = hv + offset[l] * d;
        const T* prev = hv + offset[l - 1] * d;
        const bool carried = l < hops;
        const int64_t dk = kD > 0 ? kD : d;
        // g = (dOut + carry) ⊙ [H_l > 0]; dy[u, b] += Σ over u's rows (one thread per node); then
        // gm = s g, the gradient of the level's aggregate after W_top: dM = gm W_top[b]ᵀ.
        T* gy = want_y ? t.grad(y).data() + b * d : nullptr;
        for_each_run(run, d, [&](int64_t r) {
          for (int64_t i = run[r]; i < run[r + 1]; ++i) {
            // Plain variables, not a structured binding: clang 14 cannot use one inside omp simd.
            const std::pair<const T*, T> ext = ext_row(l, i);
            const T* __restrict er = ext.first;
            const T ext_factor = ext.second;
            const T* __restrict hr = cur + i * d;
            const T* __restrict cr = carry + i * d;
            T* __restrict gr = gm + i * d;
            if (carried) {
#pragma omp simd
              for (int64_t c = 0; c < dk; ++c) gr[c] = hr[c] > T(0) ? ext_factor * er[c] + cr[c] : T(0);
            } else {
#pragma omp simd
              for (int64_t c = 0; c < dk; ++c) gr[c] = hr[c] > T(0) ? ext_factor * er[c] : T(0);
            }
          }
          const int64_t u = nd[run[r]];
          if (gy) {
            T* dst = gy + u * yc;
            for (int64_t i = run[r]; i < run[r + 1]; ++i)
              for (int64_t c = 0; c < dk; ++c) dst[c] += gm[i * d + c];
          }
          if (sv)
            for (int64_t i = run[r]; i < run[r + 1]; ++i)
              for (int64_t c = 0; c < dk; ++c) gm[i * d + c] *= sv[u];
        });
        // M = A_l H_{l−1}, so with Q = A_lᵀ gm [|level l−1|, d]: dW_top[b] += Mᵀ gm = H_{l−1}ᵀ Q and
        // dH_{l−1} = A_lᵀ dM = Q W_top[b]ᵀ. Q goes into carry (level l's carry is spent): one sparse
        // pass over the reversed hop graph (sources in increasing row order), no recomputed M.
        const Csr& rev = a.reversed();  // cached on the hop graph (GIR builds it with the graph)
        const int64_t p = rev.num_dst;
        detail::for_each_row(p, (rev.num_edges() + p) * d / std::max<int64_t>(p, 1),
                             [&](int64_t j) { aggregate_row<kD>(rev, j, gm, carry + j * d, d); });
        // Per block of Q's rows: dW_top[b] += H_{l−1}ᵀ Q, then Q ← Q W_top[b]ᵀ (= dH_{l−1} from level l).
        const MatT<T> wt = Eigen::Map<const MatT<T>>(t.value(w_top).data() + b * d * d, d, d).transpose();
        const int64_t nblocks = (p + kGirBlock - 1) / kGirBlock;
        MatT<T> partial = want_w ? MatT<T>::Zero(nblocks, d * d) : MatT<T>();
        for_each_block(p, d * d * 2, [&](int64_t blk, int64_t first, int64_t last) {
          Eigen::Map<MatT<T>> q(carry + first * d, last - first, d);
          if (want_w)
            Eigen::Map<MatT<T>>(partial.data() + blk * d * d, d, d).noalias() =
                Eigen::Map<const MatT<T>>(prev + first * d, last - first, d).transpose() * q;
          const MatT<T> qb = q;
          rows_times<kD>(qb.data(), wt.data(), q.data(), last - first, d);
        });
        if (want_w) {
          T* gw = t.grad(w_top).data() + b * d * d;
          for (int64_t blk = 0; blk < nblocks; ++blk)
            for (int64_t c = 0; c < d * d; ++c) gw[c] += partial(blk, c);
        }
      }
    });
    if (t.requires_grad(start)) {
      T* gs = t.grad(start).data();
      const int64_t f = t.rows(start);
      detail::for_each_row(f, d, [&](int64_t i) {
        const std::pair<const T*, T> ext = ext_row(0, i);
        const T* er = ext.first;
        const T ext_factor = ext.second;
        for (int64_t c = 0; c < d; ++c) gs[i * d + c] += ext_factor * er[c] + (hops > 0 ? carry[i * d + c] : T(0));
      });
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
  template Var gir_frontier<T>(Tape<T>&, GirLevels<T>, Var, Var, Var, GirReadout, double, Var);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
