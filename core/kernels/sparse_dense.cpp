#include "core/kernels/sparse_dense.hpp"

#include <omp.h>

#include <algorithm>

#include "core/kernels/row_ops.hpp"

namespace locus::kernels {

template <class T>
void csr_times_dense(const SpMatT<T>& x, const T* w, int64_t h, T* out) {
  const int64_t n = x.rows();
  const int32_t* __restrict ptr = x.outerIndexPtr();
  const int32_t* __restrict idx = x.innerIndexPtr();
  const T* __restrict val = x.valuePtr();
  // Threshold measured on a 2-core machine (see kParallelWork in gspmm.cpp).
  const bool parallel = static_cast<int64_t>(x.nonZeros()) * h >= (1 << 19);
  dispatch_width(h, [&](auto width) {
    constexpr int D = decltype(width)::value;
#pragma omp parallel for schedule(dynamic, 64) if (parallel)
    for (int64_t i = 0; i < n; ++i) {
      RowAccumulator<D, T> acc(out + i * h, h, false);
      for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) acc.add(val[p], w + static_cast<int64_t>(idx[p]) * h);
      acc.finish();
    }
  });
}

template <class T>
void csr_transpose_times_dense(const SpMatT<T>& x, const T* g, int64_t h, T* out, std::vector<T>& workspace) {
  const int64_t n = x.rows(), f = x.cols();
  const auto* ptr = x.outerIndexPtr();
  const auto* idx = x.innerIndexPtr();
  const T* val = x.valuePtr();
  // Private buffers and their reduction only pay off on large inputs (2-core measurement).
  const bool parallel = static_cast<int64_t>(x.nonZeros()) * h >= (1 << 21);
  const int threads = parallel ? omp_get_max_threads() : 1;
  workspace.assign(static_cast<size_t>(threads) * f * h, T(0));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    T* buf = workspace.data() + static_cast<int64_t>(t) * f * h;
    const int64_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
    dispatch_width(h, [&](auto width) {
      constexpr int D = decltype(width)::value;
      for (int64_t i = r0; i < r1; ++i)
        for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) axpy<D>(val[p], g + i * h, buf + static_cast<int64_t>(idx[p]) * h, h);
    });
#pragma omp barrier
    // Reduce the buffers in thread order, each thread owning a slice of the output.
    const int64_t total = f * h, c0 = total * t / nt, c1 = total * (t + 1) / nt;
    for (int u = 0; u < nt; ++u) {
      const T* b = workspace.data() + static_cast<int64_t>(u) * f * h;
      for (int64_t c = c0; c < c1; ++c) out[c] += b[c];
    }
  }
}

template void csr_times_dense<float>(const SpMatT<float>&, const float*, int64_t, float*);
template void csr_times_dense<double>(const SpMatT<double>&, const double*, int64_t, double*);
template void csr_transpose_times_dense<float>(const SpMatT<float>&, const float*, int64_t, float*,
                                               std::vector<float>&);
template void csr_transpose_times_dense<double>(const SpMatT<double>&, const double*, int64_t, double*,
                                                std::vector<double>&);

}  // namespace locus::kernels
