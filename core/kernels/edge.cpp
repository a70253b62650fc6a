#include "core/kernels/edge.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/kernels/row_ops.hpp"
#include "core/rng.hpp"

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
// Calls f(std::integral_constant<int, H>) for the usual head counts 1, 2, 4, 8, 16, and with 0 (the
// count known at run time only) otherwise.
template <class F>
void dispatch_heads(int64_t heads, F&& f) {
  switch (heads) {
    case 1: f(std::integral_constant<int, 1>{}); return;
    case 2: f(std::integral_constant<int, 2>{}); return;
    case 4: f(std::integral_constant<int, 4>{}); return;
    case 8: f(std::integral_constant<int, 8>{}); return;
    case 16: f(std::integral_constant<int, 16>{}); return;
    default: f(std::integral_constant<int, 0>{});
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

template <class T>
void gat_attention(const Csr& g, const T* z, const T* s_src, const T* s_dst, int64_t heads, int64_t dim, T slope,
                   double drop, uint64_t key, T* A, T* D, T* out) {
  check(heads <= kMaxFusedHeads, "gat_attention: at most 64 heads");
  const int64_t H = heads, row = heads * dim, edges = g.num_edges();
  // Local restrict copies: through the lambdas' captures the compiler would reload every pointer
  // after each store (they might alias), and nothing would vectorise.
  const int32_t* __restrict idx = g.indices.data();
  const float* __restrict w = g.has_weights() ? g.weights.data() : nullptr;
  // Pass 1, per row: LeakyReLU scores less their row maximum per head (exp cannot overflow). The
  // head count is a compile-time constant for the usual counts, so that the per-head work is one
  // vector: the sign of a score is a coin flip that a scalar loop's branch predictor loses half
  // the time (~20 cycles a score).
  dispatch_heads(H, [&](auto hc) {
    constexpr int HC = decltype(hc)::value;
    for_each_row(GraphRef(g), H * dim, [=](int64_t d, int64_t begin, int64_t end, auto) {
      T* __restrict a = A;
      if constexpr (HC > 0) {
        // One vector of HC scores per edge: LeakyReLU as max(x, 0) + slope·min(x, 0) (the same
        // value, no select), and the running maximum.
        using V = Eigen::Array<T, HC, 1>;
        const Eigen::Map<const V> sd(s_dst + d * HC);
        V m = V::Constant(-std::numeric_limits<T>::infinity());
        for (int64_t p = begin; p < end; ++p) {
          const V x = Eigen::Map<const V>(s_src + static_cast<int64_t>(idx[p]) * HC) + sd;
          const V y = x.max(T(0)) + slope * x.min(T(0));
          Eigen::Map<V>(a + p * HC) = y;
          m = m.max(y);
        }
        for (int64_t p = begin; p < end; ++p) Eigen::Map<V>(a + p * HC) -= m;
      } else {
        const T* __restrict sd = s_dst + d * H;
        T m[kMaxFusedHeads];
        for (int64_t h = 0; h < H; ++h) m[h] = -std::numeric_limits<T>::infinity();
        for (int64_t p = begin; p < end; ++p) {
          const T* __restrict ss = s_src + static_cast<int64_t>(idx[p]) * H;
          for (int64_t h = 0; h < H; ++h) {
            const T x = ss[h] + sd[h];
            const T y = x > T(0) ? x : slope * x;
            a[p * H + h] = y;
            m[h] = std::max(m[h], y);
          }
        }
        for (int64_t p = begin; p < end; ++p)
          for (int64_t h = 0; h < H; ++h) a[p * H + h] -= m[h];
      }
    });
  });
  // Pass 2: one vectorised exp over every edge and head (per row, a short tail would call libm).
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> av(A, edges * H);
  av = av.exp();
  // Pass 3, per row: normalise, drop, aggregate (as spmm_csr_heads).
  const T keep_scale = static_cast<T>(1.0 / (1.0 - drop));
  const float pf = static_cast<float>(drop);
  dispatch_width(dim, [&](auto width) {
    constexpr int W = decltype(width)::value;
    for_each_row(GraphRef(g), H * dim, [=](int64_t d, int64_t begin, int64_t end, auto) {
      T* __restrict a = A;
      T sum[kMaxFusedHeads];
      std::fill(sum, sum + H, T(0));
      for (int64_t p = begin; p < end; ++p)
        for (int64_t h = 0; h < H; ++h) sum[h] += a[p * H + h];
      for (int64_t h = 0; h < H; ++h) sum[h] = T(1) / sum[h];
      for (int64_t p = begin; p < end; ++p)
        for (int64_t h = 0; h < H; ++h) a[p * H + h] *= sum[h];
      const T* __restrict kept = a;
      if (D != A) {
        T* __restrict dk = D;
        for (int64_t i = begin * H; i < end * H; ++i)
          dk[i] = Rng::uniform_at(key, static_cast<uint64_t>(i)) >= pf ? a[i] * keep_scale : T(0);
        kept = dk;
      }
      T* __restrict o = out + d * row;
      std::fill(o, o + row, T(0));
      for (int64_t p = begin; p < end; ++p) {
        const T wp = w ? static_cast<T>(w[p]) : T(1);
        const T* __restrict zs = z + static_cast<int64_t>(idx[p]) * row;
        for (int64_t h = 0; h < H; ++h) axpy<W>(wp * kept[p * H + h], zs + h * dim, o + h * dim, dim);
      }
    });
  });
}

template <class T>
void gat_attention_scores_backward(const Csr& g, const T* G, const T* z, const T* s_src, const T* s_dst,
                                   const T* A, const T* D, int64_t heads, int64_t dim, T slope, T keep_scale, T* dpre,
                                   T* g_dst) {
  check(heads <= kMaxFusedHeads, "gat_attention: at most 64 heads");
  const int64_t H = heads, row = heads * dim;
  const int32_t* __restrict idx = g.indices.data();
  const float* __restrict w = g.has_weights() ? g.weights.data() : nullptr;
  // dA into dpre (per edge and head, the dot products of width F).
  dispatch_width(dim, [&](auto width) {
    constexpr int W = decltype(width)::value;
    for_each_row(GraphRef(g), H * dim, [=](int64_t d, int64_t begin, int64_t end, auto) {
      const T* __restrict gd = G + d * row;
      T* __restrict dp = dpre;
      for (int64_t p = begin; p < end; ++p) {
        const T* __restrict zs = z + static_cast<int64_t>(idx[p]) * row;
        const T wp = w ? static_cast<T>(w[p]) : T(1);
        for (int64_t h = 0; h < H; ++h) {
          const T dD = wp * dot<W>(gd + h * dim, zs + h * dim, dim);
          dp[p * H + h] = D == A ? dD : (D[p * H + h] != T(0) ? dD * keep_scale : T(0));
        }
      }
    });
  });
  // The softmax and LeakyReLU Jacobians in place (heads a compile-time constant, as forward);
  // their row sums go to the destination.
  dispatch_heads(H, [&](auto hc) {
    constexpr int HC = decltype(hc)::value;
    for_each_row(GraphRef(g), H * dim, [=](int64_t d, int64_t begin, int64_t end, auto) {
      T* __restrict dp = dpre;
      const T* __restrict a = A;
      if constexpr (HC > 0) {
        using V = Eigen::Array<T, HC, 1>;
        const Eigen::Map<const V> sd(s_dst + d * HC);
        V s = V::Zero(), to_dst = V::Zero();
        for (int64_t p = begin; p < end; ++p) s += Eigen::Map<const V>(a + p * HC) * Eigen::Map<const V>(dp + p * HC);
        for (int64_t p = begin; p < end; ++p) {
          const V x = Eigen::Map<const V>(s_src + static_cast<int64_t>(idx[p]) * HC) + sd;
          const V de = Eigen::Map<const V>(a + p * HC) * (Eigen::Map<const V>(dp + p * HC) - s);
          const V v = de * (x > T(0)).select(V::Ones(), V::Constant(slope));
          Eigen::Map<V>(dp + p * HC) = v;
          to_dst += v;
        }
        if (g_dst) Eigen::Map<V>(g_dst + d * HC) += to_dst;
      } else {
        const T* __restrict sd = s_dst + d * H;
        T s[kMaxFusedHeads], to_dst[kMaxFusedHeads];
        for (int64_t h = 0; h < H; ++h) s[h] = to_dst[h] = T(0);
        for (int64_t p = begin; p < end; ++p)
          for (int64_t h = 0; h < H; ++h) s[h] += a[p * H + h] * dp[p * H + h];
        for (int64_t p = begin; p < end; ++p) {
          const T* __restrict ss = s_src + static_cast<int64_t>(idx[p]) * H;
          for (int64_t h = 0; h < H; ++h) {
            const T de = a[p * H + h] * (dp[p * H + h] - s[h]);
            const T v = de * (ss[h] + sd[h] > T(0) ? T(1) : slope);
            dp[p * H + h] = v;
            to_dst[h] += v;
          }
        }
        if (g_dst)
          for (int64_t h = 0; h < H; ++h) g_dst[d * H + h] += to_dst[h];
      }
    });
  });
}

#define LOCUS_INSTANTIATE(T)                                                      \
  template void gat_attention<T>(const Csr&, const T*, const T*, const T*, int64_t, int64_t, T, double, uint64_t, T*, \
                                 T*, T*);                                         \
  template void gat_attention_scores_backward<T>(const Csr&, const T*, const T*, const T*, const T*, const T*,   \
                                                 const T*, int64_t, int64_t, T, T, T*, T*); \
  template void sddmm_add<T>(GraphRef, const T*, const T*, int64_t, T*, bool);    \
  template void edge_sums<T>(GraphRef, const T*, int64_t, T*, T*);                \
  template void edge_softmax<T>(GraphRef, const T*, int64_t, T*);                 \
  template void edge_softmax_backward<T>(GraphRef, const T*, const T*, int64_t, T*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
