#include "core/kernels/sparse_dense.hpp"

#include <omp.h>

#include <algorithm>

namespace locus::kernels {

template <class T>
void csr_times_dense(const SpMatT<T>& x, const T* w, int64_t h, T* out) {
  const int64_t n = x.rows();
  const auto* ptr = x.outerIndexPtr();
  const auto* idx = x.innerIndexPtr();
  const T* val = x.valuePtr();
  const bool parallel = static_cast<int64_t>(x.nonZeros()) * h >= (1 << 14);
#pragma omp parallel for schedule(dynamic, 64) if (parallel)
  for (int64_t i = 0; i < n; ++i) {
    T* __restrict o = out + i * h;
    std::fill(o, o + h, T(0));
    for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) {
      const T a = val[p];
      const T* __restrict wr = w + static_cast<int64_t>(idx[p]) * h;
#pragma omp simd
      for (int64_t j = 0; j < h; ++j) o[j] += a * wr[j];
    }
  }
}

template <class T>
void csr_transpose_times_dense(const SpMatT<T>& x, const T* g, int64_t h, T* out, std::vector<T>& workspace) {
  const int64_t n = x.rows(), f = x.cols();
  const auto* ptr = x.outerIndexPtr();
  const auto* idx = x.innerIndexPtr();
  const T* val = x.valuePtr();
  const bool parallel = static_cast<int64_t>(x.nonZeros()) * h >= (1 << 16);
  const int threads = parallel ? omp_get_max_threads() : 1;
  workspace.assign(static_cast<size_t>(threads) * f * h, T(0));
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    T* buf = workspace.data() + static_cast<int64_t>(t) * f * h;
    const int64_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
    for (int64_t i = r0; i < r1; ++i) {
      const T* __restrict gr = g + i * h;
      for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) {
        const T a = val[p];
        T* __restrict o = buf + static_cast<int64_t>(idx[p]) * h;
#pragma omp simd
        for (int64_t j = 0; j < h; ++j) o[j] += a * gr[j];
      }
    }
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
