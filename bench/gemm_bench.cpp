// Dense products at a GNN layer's shapes, Eigen (as Locus builds it) against OpenBLAS when the
// system has it (loaded at run time; nothing links it): Y = X W, dX = dY Wᵀ, dW = Xᵀ dY with
// X [n, d] row-major, the three float products of a layer's forward and backward. One thread,
// the best of 5 runs each; GFLOP/s = 2·n·d² / seconds.
//   gemm_bench [n=15000] [d ...=56 70 146 256]
#include <dlfcn.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench/timing.hpp"

namespace {

using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// cblas_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
using Sgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

double gflops(double flops, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t0 = locus::bench::Clock::now();
    f();
    best = std::min(best, locus::bench::seconds_since(t0));
  }
  return flops / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 15000;
  std::vector<int> dims;
  for (int i = 2; i < argc; ++i) dims.push_back(std::atoi(argv[i]));
  if (dims.empty()) dims = {56, 70, 146, 256};
  if (n < 1 || std::any_of(dims.begin(), dims.end(), [](int d) { return d < 1; })) {
    std::fprintf(stderr, "usage: gemm_bench [n >= 1] [d >= 1 ...]\n");
    return 2;
  }
  Sgemm sgemm = nullptr;
  const char* blas = "/usr/lib/x86_64-linux-gnu/libopenblas.so.0";
  if (void* h = dlopen(blas, RTLD_NOW)) {
    sgemm = reinterpret_cast<Sgemm>(dlsym(h, "cblas_sgemm"));
    if (auto threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"))) threads(1);
  }
  std::printf("Float products X[%d, d] W[d, d] (XW), X Wt, Xt Y[%d, d]; one thread, GFLOP/s (best of 5)\n", n, n);
  std::printf("OpenBLAS: %s\n\n", sgemm ? blas : "not installed (Debian: libopenblas0-pthread)");
  std::printf("| d | Eigen XW | Eigen XWt | Eigen XtY | OpenBLAS XW | OpenBLAS XWt | OpenBLAS XtY |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (const int d : dims) {
    const M x = M::Random(n, d), w = M::Random(d, d);
    M y(n, d), dw(d, d);
    const double flops = 2.0 * n * d * d;
    const double e1 = gflops(flops, [&] { y.noalias() = x * w; });
    const double e2 = gflops(flops, [&] { y.noalias() = x * w.transpose(); });
    const double e3 = gflops(flops, [&] { dw.noalias() = x.transpose() * y; });
    if (!sgemm) {
      std::printf("| %d | %.0f | %.0f | %.0f | — | — | — |\n", d, e1, e2, e3);
      continue;
    }
    const double b1 = gflops(flops, [&] { sgemm(kRowMajor, kNoTrans, kNoTrans, n, d, d, 1, x.data(), d, w.data(), d, 0, y.data(), d); });
    const double b2 = gflops(flops, [&] { sgemm(kRowMajor, kNoTrans, kTrans, n, d, d, 1, x.data(), d, w.data(), d, 0, y.data(), d); });
    const double b3 = gflops(flops, [&] { sgemm(kRowMajor, kTrans, kNoTrans, d, d, n, 1, x.data(), d, y.data(), d, 0, dw.data(), d); });
    std::printf("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", d, e1, e2, e3, b1, b2, b3);
  }
  return 0;
}
