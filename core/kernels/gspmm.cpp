#include "core/kernels/gspmm.hpp"

#include <Eigen/Dense>
#include <algorithm>

#include "core/tensor.hpp"

namespace locus::kernels {

namespace {
// Small row operations; the loops vectorise at -O2 and above.
template <class T>
inline void axpy(T a, const T* __restrict x, T* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) y[j] += a * x[j];
}
template <class T>
inline T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}
// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kParallelWork = 1 << 14;
}  // namespace

template <class T>
void spmm_csr(const Csr& g, const T* x, int64_t dim, const T* edge_val, bool via_perm, T* out,
              bool accumulate) {
  const int64_t n = g.num_dst;
  const bool weighted = g.has_weights();
  const bool parallel = g.num_edges() * dim >= kParallelWork;
#pragma omp parallel for schedule(dynamic, 64) if (parallel)
  for (int64_t d = 0; d < n; ++d) {
    T* o = out + d * dim;
    if (!accumulate) std::fill(o, o + dim, T(0));
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      T w = weighted ? static_cast<T>(g.weights[p]) : T(1);
      if (edge_val) w *= edge_val[via_perm ? g.perm[p] : p];
      axpy(w, x + static_cast<int64_t>(g.indices[p]) * dim, o, dim);
    }
  }
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
      if (!g.causal) {
        if (transpose_ev) ob.noalias() += ev.transpose() * xb;
        else ob.noalias() += ev * xb;
      } else {
        if (transpose_ev) ob.noalias() += ev.transpose().template triangularView<Eigen::Upper>() * xb;
        else ob.noalias() += ev.template triangularView<Eigen::Lower>() * xb;
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
void sddmm_dot_csr(const Csr& g, const T* a_dst, const T* b_src, int64_t dim, const T* row_scale, T* val,
                   bool accumulate) {
  const int64_t n = g.num_dst;
  const bool weighted = g.has_weights();
  const bool parallel = g.num_edges() * dim >= kParallelWork;
#pragma omp parallel for schedule(dynamic, 64) if (parallel)
  for (int64_t d = 0; d < n; ++d) {
    const T rs = row_scale ? row_scale[d] : T(1);
    for (int64_t p = g.indptr[d]; p < g.indptr[d + 1]; ++p) {
      T v = rs * dot(a_dst + d * dim, b_src + static_cast<int64_t>(g.indices[p]) * dim, dim);
      if (weighted) v *= static_cast<T>(g.weights[p]);
      val[p] = accumulate ? val[p] + v : v;
    }
  }
}

template <class T>
void sddmm_dot_dense(const Dense& g, const T* a_dst, const T* b_src, int64_t dim, const T* row_scale,
                     T* val, bool accumulate) {
  for (int64_t b = 0; b < g.num_blocks(); ++b) {
    const int64_t o = g.offsets[b], len = g.block_len(b), eo = g.edge_offset(b);
    for (int64_t dl = 0; dl < len; ++dl) {
      const T rs = row_scale ? row_scale[o + dl] : T(1);
      const int64_t send = g.causal ? dl + 1 : len;
      for (int64_t sl = 0; sl < send; ++sl) {
        T v = rs * dot(a_dst + (o + dl) * dim, b_src + (o + sl) * dim, dim);
        T& slot = val[eo + dl * len + sl];
        slot = accumulate ? slot + v : v;
      }
    }
  }
}

#define LOCUS_INSTANTIATE(T)                                                                          \
  template void spmm_csr<T>(const Csr&, const T*, int64_t, const T*, bool, T*, bool);                 \
  template void spmm_dense<T>(const Dense&, const T*, int64_t, const T*, bool, T*, bool);             \
  template void sddmm_dot_csr<T>(const Csr&, const T*, const T*, int64_t, const T*, T*, bool);       \
  template void sddmm_dot_dense<T>(const Dense&, const T*, const T*, int64_t, const T*, T*, bool);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
