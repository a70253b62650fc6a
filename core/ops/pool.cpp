#include "core/ops/pool.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

template <class T>
Var graph_pool(Tape<T>& t, Var x, std::span<const int32_t> graph, int64_t num_graphs, Pool kind) {
  const int64_t n = t.rows(x), d = t.cols(x);
  check(num_graphs >= 0, "graph_pool: num_graphs must be ≥ 0, got " + std::to_string(num_graphs));
  check(static_cast<int64_t>(graph.size()) == n,
        "graph_pool: " + std::to_string(graph.size()) + " graph ids for x " + dims(n, d) + " (one per row)");
  for (int64_t i = 0; i < n; ++i)
    if (graph[i] < 0 || graph[i] >= num_graphs)
      check(false, "graph_pool: graph id " + std::to_string(graph[i]) + " at position " + std::to_string(i) +
                       " is outside [0, " + std::to_string(num_graphs) + ")");
  auto ids = std::make_shared<const std::vector<int32_t>>(graph.begin(), graph.end());
  // Stable counting sort: order[start[g] .. start[g + 1]) lists graph g's rows in increasing i.
  auto start = std::make_shared<std::vector<int64_t>>(num_graphs + 1, 0);
  std::vector<int64_t>& st = *start;
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) ++st[graph[i] + 1];
  for (int64_t g = 0; g < num_graphs; ++g) st[g + 1] += st[g];
  {
    std::vector<int64_t> fill(st.begin(), st.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[fill[graph[i]]++] = i;
  }
  MatT<T> out = MatT<T>::Zero(num_graphs, d);
  const T* xv = t.value(x).data();
  T* o = out.data();
  // arg[g·d + c] = the row of out[g, c] (Max only; −1 for a graph without rows).
  auto arg = std::make_shared<std::vector<int64_t>>(kind == Pool::Max ? num_graphs * d : 0, int64_t(-1));
  int64_t* av = arg->data();
#pragma omp parallel for schedule(static) if (n * d >= detail::kParallelEntries)
  for (int64_t g = 0; g < num_graphs; ++g) {
    const int64_t first = st[g], last = st[g + 1];
    if (first == last) continue;  // no rows: zeros
    T* orow = o + g * d;
    if (kind == Pool::Max) {
      int64_t* arow = av + g * d;
      const int64_t r0 = order[first];
      for (int64_t c = 0; c < d; ++c) orow[c] = xv[r0 * d + c], arow[c] = r0;
      for (int64_t p = first + 1; p < last; ++p) {
        const int64_t r = order[p];
        const T* xr = xv + r * d;
        for (int64_t c = 0; c < d; ++c)  // strictly greater: ties keep the smaller row; NaN sticks
          if (!std::isnan(orow[c]) && (xr[c] > orow[c] || std::isnan(xr[c]))) orow[c] = xr[c], arow[c] = r;
      }
    } else {
      for (int64_t p = first; p < last; ++p) {
        const T* xr = xv + order[p] * d;
        for (int64_t c = 0; c < d; ++c) orow[c] += xr[c];
      }
      if (kind == Pool::Mean) {
        const T count = static_cast<T>(last - first);
        for (int64_t c = 0; c < d; ++c) orow[c] /= count;
      }
    }
  }
  return t.push(std::move(out), "graph_pool", {x}, [x, ids, start, arg, kind](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), d = t.cols(x), num_graphs = static_cast<int64_t>(start->size()) - 1;
    const std::vector<int64_t>& st = *start;
    const T* g = t.grad(self).data();
    T* gx = t.grad(x).data();
    if (kind == Pool::Max) {
      // dx[a(g, c), c] += G[g, c]; a(g, c) is a row of graph g, so each row is written by one thread.
      const int64_t* av = arg->data();
#pragma omp parallel for schedule(static) if (n * d >= detail::kParallelEntries)
      for (int64_t k = 0; k < num_graphs; ++k) {
        if (st[k] == st[k + 1]) continue;  // no rows, no gradient
        for (int64_t c = 0; c < d; ++c) gx[av[k * d + c] * d + c] += g[k * d + c];
      }
      return;
    }
    detail::for_each_row(n, d, [&](int64_t i) {
      const int64_t k = (*ids)[i];
      const T* gr = g + k * d;
      T* dst = gx + i * d;
      if (kind == Pool::Sum) {
        for (int64_t c = 0; c < d; ++c) dst[c] += gr[c];  // dx[i] = G[graph[i]]
      } else {
        const T count = static_cast<T>(st[k + 1] - st[k]);
        for (int64_t c = 0; c < d; ++c) dst[c] += gr[c] / count;  // dx[i] = G[graph[i]] / count
      }
    });
  });
}

#define LOCUS_INSTANTIATE(T) \
  template Var graph_pool<T>(Tape<T>&, Var, std::span<const int32_t>, int64_t, Pool);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
