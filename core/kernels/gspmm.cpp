#include "core/kernels/gspmm.hpp"

#include <Eigen/Dense>
#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/row_ops.hpp"
#include "core/tensor.hpp"

namespace locus::kernels {

namespace {
// g.perm where edge values are read through it (via_perm), else null; a transpose built without
// its perm (Csr::set_reversed) cannot serve there.
template <class T>
const int64_t* perm_of(const Csr& g, const T* edge_val, bool via_perm) {
  if (!via_perm) return nullptr;
  check(!edge_val || static_cast<int64_t>(g.perm.size()) == g.num_edges(),
        "spmm_csr: edge values through a transposed graph without its perm");
  return g.perm.data();
}
}  // namespace

template <class T>
void spmm_csr(const Csr& g, const T* x, int64_t dim, const T* edge_val, bool via_perm, T* out,
              bool accumulate) {
  // Raw local pointers: the compiler cannot otherwise prove that writes to `out` leave the
  // graph's arrays alone, and reloads them on every edge.
  const int64_t n = g.num_dst;
  const int64_t* __restrict indptr = g.indptr.data();
  const int32_t* __restrict indices = g.indices.data();
  const float* __restrict weights = g.has_weights() ? g.weights.data() : nullptr;
  const int64_t* __restrict perm = perm_of(g, edge_val, via_perm);
  const bool parallel = g.num_edges() * dim >= kParallelWork;
  dispatch_width(dim, [&](auto width) {
    constexpr int D = decltype(width)::value;
#pragma omp parallel for schedule(dynamic, 256) if (parallel)
    for (int64_t d = 0; d < n; ++d) {
      RowAccumulator<D, T> acc(out + d * dim, dim, accumulate);
      for (int64_t p = indptr[d]; p < indptr[d + 1]; ++p) {
        T w = weights ? static_cast<T>(weights[p]) : T(1);
        if (edge_val) w *= edge_val[perm ? perm[p] : p];
        acc.add(w, x + static_cast<int64_t>(indices[p]) * dim);
      }
      acc.finish();
    }
  });
}

template <class T>
void spmm_dense(const Dense& g, const T* x, int64_t dim, const T* edge_val, bool transpose_ev, T* out,
                bool accumulate) {
  using Map = Eigen::Map<MatT<T>>;
  using CMap = Eigen::Map<const MatT<T>>;
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b);
    if (len == 0) continue;
    CMap xb(x + o * dim, len, dim);
    Map ob(out + o * dim, len, dim);
    if (!accumulate) ob.setZero();
    if (edge_val) {
      CMap ev(edge_val + g.edge_offset(b), len, len);  // ev(d, s)
      // Destination rows in chunks of 64, one GEMM per chunk: parallel with no shared writes.
      const int64_t chunks = (len + 63) / 64;
      const bool parallel = len * len * dim >= kParallelWork;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t r0 = c * 64, rows = std::min<int64_t>(64, len - r0);
        auto oc = ob.middleRows(r0, rows);
        if (!g.causal) {
          if (transpose_ev) oc.noalias() += ev.middleCols(r0, rows).transpose() * xb;
          else oc.noalias() += ev.middleRows(r0, rows) * xb;
        } else if (transpose_ev) {
          // out[s] += Σ_{d ≥ s} ev(d, s) x[d]: rows r0.. of evᵀ, restricted to d ≥ s.
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t sidx = r0 + i;
            oc.row(i).noalias() += ev.col(sidx).tail(len - sidx).transpose() * xb.bottomRows(len - sidx);
          }
        } else {
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t d = r0 + i;
            oc.row(i).noalias() += ev.row(d).head(d + 1) * xb.topRows(d + 1);
          }
        }
      }
    } else if (!g.causal) {
      // Every destination receives the same sum of the block's rows.
      Eigen::Matrix<T, 1, Eigen::Dynamic> sum = xb.colwise().sum();
      ob.rowwise() += sum;
    } else {
      // Causal: prefix sums (forward) or suffix sums (transposed) over the block.
      Eigen::Matrix<T, 1, Eigen::Dynamic> run = Eigen::Matrix<T, 1, Eigen::Dynamic>::Zero(dim);
      for (int64_t i = 0; i < len; ++i) {
        const int64_t r = transpose_ev ? len - 1 - i : i;
        run += xb.row(r);
        ob.row(r) += run;
      }
    }
  }
}



template <class T>
void spmm_csr_heads(const Csr& g, const T* x, int64_t heads, int64_t dim, const T* edge_val, bool via_perm,
                    T* out, bool accumulate) {
  if (heads == 1) return spmm_csr(g, x, dim, edge_val, via_perm, out, accumulate);
  const int64_t n = g.num_dst, row = heads * dim;
  const int64_t* __restrict indptr = g.indptr.data();
  const int32_t* __restrict indices = g.indices.data();
  const float* __restrict weights = g.has_weights() ? g.weights.data() : nullptr;
  const int64_t* __restrict perm = perm_of(g, edge_val, via_perm);
  const bool parallel = g.num_edges() * row >= kParallelWork;
  dispatch_width(dim, [&](auto width) {
    constexpr int D = decltype(width)::value;
#pragma omp parallel for schedule(dynamic, 256) if (parallel)
    for (int64_t d = 0; d < n; ++d) {
      T* o = out + d * row;
      if (!accumulate) std::fill(o, o + row, T(0));
      for (int64_t p = indptr[d]; p < indptr[d + 1]; ++p) {
        const T w = weights ? static_cast<T>(weights[p]) : T(1);
        const T* ev = edge_val ? edge_val + (perm ? perm[p] : p) * heads : nullptr;
        const T* xs = x + static_cast<int64_t>(indices[p]) * row;
        for (int64_t h = 0; h < heads; ++h) axpy<D>(ev ? w * ev[h] : w, xs + h * dim, o + h * dim, dim);
      }
    }
  });
}

template <class T>
void spmm_dense_heads(const Dense& g, const T* x, int64_t heads, int64_t dim, const T* edge_val,
                      bool transpose_ev, T* out, bool accumulate) {
  if (heads == 1 || !edge_val) return spmm_dense(g, x, heads * dim, edge_val, transpose_ev, out, accumulate);
  using Stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  const int64_t row = heads * dim;
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b);
    if (len == 0) continue;
    const bool parallel = len * len * row >= kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t h = 0; h < heads; ++h) {
      // Head h's slices: x and out rows with stride `row`, edge values with stride `heads`.
      Eigen::Map<const MatT<T>, 0, Stride> xb(x + o * row + h * dim, len, dim, Stride(row, 1));
      Eigen::Map<MatT<T>, 0, Stride> ob(out + o * row + h * dim, len, dim, Stride(row, 1));
      Eigen::Map<const MatT<T>, 0, Stride> ev(edge_val + g.edge_offset(b) * heads + h, len, len,
                                              Stride(len * heads, heads));
      if (!accumulate) ob.setZero();
      if (!g.causal) {
        if (transpose_ev) ob.noalias() += ev.transpose() * xb;
        else ob.noalias() += ev * xb;
      } else {
        MatT<T> evh = ev;  // [len, len] copy of one head's values (causal path only)
        if (transpose_ev) ob.noalias() += evh.transpose().template triangularView<Eigen::Upper>() * xb;
        else ob.noalias() += evh.template triangularView<Eigen::Lower>() * xb;
      }
    }
  }
}

template <class T>
void sddmm_dot_csr_heads(const Csr& g, const T* a_dst, const T* b_src, int64_t heads, int64_t dim, T* val,
                         bool accumulate) {
  const int64_t n = g.num_dst, row = heads * dim;
  const bool weighted = g.has_weights();
  const bool parallel = g.num_edges() * row >= kParallelWork;
  dispatch_width(dim, [&](auto width) {
    constexpr int D = decltype(width)::value;
#pragma omp parallel for schedule(dynamic, 256) if (parallel)
    for (int64_t d = 0; d < n; ++d)
      for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
        const T w = weighted ? static_cast<T>(g.weights[p]) : T(1);
        const T* a = a_dst + d * row;
        const T* bs = b_src + static_cast<int64_t>(g.indices[p]) * row;
        for (int64_t h = 0; h < heads; ++h) {
          const T v = w * dot<D>(a + h * dim, bs + h * dim, dim);
          T& slot = val[p * heads + h];
          slot = accumulate ? slot + v : v;
        }
      }
  });
}

template <class T>
void sddmm_dot_dense_heads(const Dense& g, const T* a_dst, const T* b_src, int64_t heads, int64_t dim, T* val,
                           bool accumulate) {
  const int64_t row = heads * dim;
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b), eo = g.edge_offset(b);
    const bool parallel = len * len * row >= kParallelWork;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t dl = 0; dl < len; ++dl) {
      const int64_t send = g.causal ? dl + 1 : len;
      for (int64_t sl = 0; sl < send; ++sl)
        for (int64_t h = 0; h < heads; ++h) {
          const T v = dot<0>(a_dst + (o + dl) * row + h * dim, b_src + (o + sl) * row + h * dim, dim);
          T& slot = val[(eo + dl * len + sl) * heads + h];
          slot = accumulate ? slot + v : v;
        }
    }
  }
}

#define LOCUS_INSTANTIATE(T)                                                                          \
  template void spmm_csr<T>(const Csr&, const T*, int64_t, const T*, bool, T*, bool);                 \
  template void spmm_dense<T>(const Dense&, const T*, int64_t, const T*, bool, T*, bool);             \
  template void spmm_csr_heads<T>(const Csr&, const T*, int64_t, int64_t, const T*, bool, T*, bool);   \
  template void spmm_dense_heads<T>(const Dense&, const T*, int64_t, int64_t, const T*, bool, T*, bool); \
  template void sddmm_dot_csr_heads<T>(const Csr&, const T*, const T*, int64_t, int64_t, T*, bool);    \
  template void sddmm_dot_dense_heads<T>(const Dense&, const T*, const T*, int64_t, int64_t, T*, bool);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
