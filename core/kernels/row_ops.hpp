// Row primitives shared by the kernels, specialised on the row width. Message passing runs
// many short rows (widths like 7, 16, 64); with the width known at compile time a row update
// becomes a few unrolled vector instructions instead of a loop with a remainder.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

namespace locus::kernels {

// Below this many multiply-adds a parallel region costs more than it saves. A region costs ~2.5 µs
// on the 2-core machines here; from 2^16 (Cora's 13k edges × 8 heads of 8, or × 16 columns is
// above it) two threads pay: lowering it from 2^18 took the Cora GAT epoch from 3.36 to 3.1 ms
// and the GCN epoch from 0.69 to 0.64 ms at 2 threads. Shared by the kernels and the row-wise ops.
inline constexpr int64_t kParallelWork = int64_t(1) << 16;

// Calls f(std::integral_constant<int, D>{}) with D == dim for the widths 1..16, 32, 64, 128,
// and with D == 0 (width only known at run time) otherwise.
template <class F>
inline void dispatch_width(int64_t dim, F&& f) {
  switch (dim) {
#define LOCUS_WIDTH(D) \
  case D: f(std::integral_constant<int, D>{}); return;
    LOCUS_WIDTH(1) LOCUS_WIDTH(2) LOCUS_WIDTH(3) LOCUS_WIDTH(4) LOCUS_WIDTH(5) LOCUS_WIDTH(6) LOCUS_WIDTH(7)
    LOCUS_WIDTH(8) LOCUS_WIDTH(9) LOCUS_WIDTH(10) LOCUS_WIDTH(11) LOCUS_WIDTH(12) LOCUS_WIDTH(13)
    LOCUS_WIDTH(14) LOCUS_WIDTH(15) LOCUS_WIDTH(16) LOCUS_WIDTH(32) LOCUS_WIDTH(64) LOCUS_WIDTH(128)
#undef LOCUS_WIDTH
    default: f(std::integral_constant<int, 0>{});
  }
}

// y[0:n] += a · x[0:n], n = D when D > 0.
template <int D, class T>
inline void axpy(T a, const T* __restrict x, T* __restrict y, int64_t n) {
  const int64_t len = D > 0 ? D : n;
#pragma omp simd
  for (int64_t j = 0; j < len; ++j) y[j] += a * x[j];
}

// Σ a[j] b[j] over n = D (when D > 0) entries.
template <int D, class T>
inline T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
  const int64_t len = D > 0 ? D : n;
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < len; ++j) s += a[j] * b[j];
  return s;
}

// Accumulates Σ a·x over rows of width D into one output row: in registers when D is fixed
// (written by finish()), directly into the output row when D == 0 (run-time width).
template <int D, class T>
class RowAccumulator {
 public:
  RowAccumulator(T* out, int64_t, bool accumulate) : out_(out), accumulate_(accumulate) { acc_.setZero(); }
  void add(T a, const T* x) { acc_ += a * Eigen::Map<const Eigen::Array<T, D, 1>>(x); }
  void finish() {
    Eigen::Map<Eigen::Array<T, D, 1>> o(out_);
    if (accumulate_) o += acc_;
    else o = acc_;
  }

 private:
  Eigen::Array<T, D, 1> acc_;
  T* out_;
  bool accumulate_;
};

template <class T>
class RowAccumulator<0, T> {
 public:
  RowAccumulator(T* out, int64_t dim, bool accumulate) : out_(out), dim_(dim) {
    if (!accumulate) std::fill(out, out + dim, T(0));
  }
  void add(T a, const T* x) { axpy<0>(a, x, out_, dim_); }
  void finish() {}

 private:
  T* out_;
  int64_t dim_;
};

}  // namespace locus::kernels
