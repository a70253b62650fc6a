#include "core/kernels/edge.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/kernels/row_ops.hpp"

namespace locus::kernels {

namespace {

// Calls f(d, begin, end, src) for every destination row: its in-edge slots are
// [begin, end) and src(p) gives the source of slot p. Parallel over rows when large.
template <class F>
void for_each_row(GraphRef g, int64_t heads, F&& f) {
  if (g.csr) {
    const Csr& c = *g.csr;
    const int32_t* idx = c.indices.data();
    auto src = [idx](int64_t p) { return static_cast<int64_t>(idx[p]); };
    const bool parallel = c.num_edges() * heads >= kParallelWork;
#pragma omp parallel for schedule(dynamic, 256) if (parallel)
    for (int64_t d = 0; d < c.num_dst; ++d) f(d, c.indptr[d], c.indptr[d + 1], src);
    return;
  }
  const Dense& dg = *g.dense;
  for (int64_t b = 0; b < dg.num_blocks(); ++b) {
    const int64_t o = dg.offsets[b], len = dg.block_len(b), eo = dg.edge_offset(b);
    const bool parallel = len * len * heads >= kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t dl = 0; dl < len; ++dl) {
      const int64_t begin = eo + dl * len;
      auto src = [o, begin](int64_t p) { return o + (p - begin); };
      f(o + dl, begin, begin + (dg.causal ? dl + 1 : len), src);
    }
  }
}

// Causal rows: zero the slots above the diagonal so stale values never leak into sums.
template <class T>
void zero_causal_tail(GraphRef g, int64_t heads, T* v) {
  if (!g.dense || !g.dense->causal) return;
  const Dense& dg = *g.dense;
  for (int64_t b = 0; b < dg.num_blocks(); ++b) {
    const int64_t len = dg.block_len(b), eo = dg.edge_offset(b);
    for (int64_t dl = 0; dl < len; ++dl)
      std::fill(v + (eo + dl * len + dl + 1) * heads, v + (eo + (dl + 1) * len) * heads, T(0));
  }
}
}  // namespace

template <class T>
void sddmm_add(GraphRef g, const T* a_src, const T* a_dst, int64_t heads, T* e, bool accumulate) {
  for_each_row(g, heads, [&](int64_t d, int64_t begin, int64_t end, auto src) {
    for (int64_t p = begin; p < end; ++p)
      for (int64_t h = 0; h < heads; ++h)
        e[p * heads + h] = (accumulate ? e[p * heads + h] : T(0)) + (a_src[src(p) * heads + h] + a_dst[d * heads + h]);
  });
  zero_causal_tail(g, heads, e);
}

template <class T>
void edge_sums(GraphRef g, const T* e, int64_t heads, T* out_dst, T* out_src) {
  if (out_dst)
    for_each_row(g, heads, [&](int64_t d, int64_t begin, int64_t end, auto) {
      for (int64_t p = begin; p < end; ++p)
        for (int64_t h = 0; h < heads; ++h) out_dst[d * heads + h] += e[p * heads + h];
    });
  if (!out_src) return;
  if (g.csr) {
    // Sources own rows of the reversed graph, so each is written by one thread.
    const Csr& r = g.csr->reversed();
    check(static_cast<int64_t>(r.perm.size()) == r.num_edges(), "edge sums: a transposed graph without its perm");
    const bool parallel = r.num_edges() * heads >= kParallelWork;
#pragma omp parallel for schedule(dynamic, 256) if (parallel)
    for (int64_t s = 0; s < r.num_dst; ++s)
      for (int64_t q = r.indptr[s]; q < r.indptr[s + 1]; ++q)
        for (int64_t h = 0; h < heads; ++h) out_src[s * heads + h] += e[r.perm[q] * heads + h];
    return;
  }
  // Dense: a source's out-edges are one column of its block; sum columns row by row (serial
  // over rows keeps the order fixed).
  const Dense& dg = *g.dense;
  for (int64_t b = 0; b < dg.num_blocks(); ++b) {
    const int64_t o = dg.offsets[b], len = dg.block_len(b), eo = dg.edge_offset(b);
    for (int64_t dl = 0; dl < len; ++dl) {
      const int64_t send = dg.causal ? dl + 1 : len;
      for (int64_t sl = 0; sl < send; ++sl)
        for (int64_t h = 0; h < heads; ++h) out_src[(o + sl) * heads + h] += e[(eo + dl * len + sl) * heads + h];
    }
  }
}

template <class T>
void edge_softmax(GraphRef g, const T* e, int64_t heads, T* a) {
  // Three passes so the exponentials run over one contiguous array (vectorised), not per row:
  // a = e − rowmax, a = exp(a), a /= rowsum.
  for_each_row(g, heads, [&](int64_t, int64_t begin, int64_t end, auto) {
    for (int64_t h = 0; h < heads; ++h) {
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t p = begin; p < end; ++p) m = std::max(m, e[p * heads + h]);
      for (int64_t p = begin; p < end; ++p) a[p * heads + h] = e[p * heads + h] - m;
    }
  });
  zero_causal_tail(g, heads, a);  // exp(0) = 1 there for now; zeroed again below
  const int64_t slots = g.csr ? g.csr->num_edges() : g.dense->num_edge_slots();
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> av(a, slots * heads);
  av = av.exp();
  for_each_row(g, heads, [&](int64_t, int64_t begin, int64_t end, auto) {
    for (int64_t h = 0; h < heads; ++h) {
      T sum = 0;
      for (int64_t p = begin; p < end; ++p) sum += a[p * heads + h];
      const T inv = T(1) / sum;
      for (int64_t p = begin; p < end; ++p) a[p * heads + h] *= inv;
    }
  });
  zero_causal_tail(g, heads, a);
}

template <class T>
void edge_softmax_backward(GraphRef g, const T* a, const T* ga, int64_t heads, T* de) {
  for_each_row(g, heads, [&](int64_t, int64_t begin, int64_t end, auto) {
    for (int64_t h = 0; h < heads; ++h) {
      T s = 0;
      for (int64_t p = begin; p < end; ++p) s += a[p * heads + h] * ga[p * heads + h];
      for (int64_t p = begin; p < end; ++p) de[p * heads + h] += a[p * heads + h] * (ga[p * heads + h] - s);
    }
  });
}

#define LOCUS_INSTANTIATE(T)                                                      \
  template void sddmm_add<T>(GraphRef, const T*, const T*, int64_t, T*, bool);    \
  template void edge_sums<T>(GraphRef, const T*, int64_t, T*, T*);                \
  template void edge_softmax<T>(GraphRef, const T*, int64_t, T*);                 \
  template void edge_softmax_backward<T>(GraphRef, const T*, const T*, int64_t, T*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
