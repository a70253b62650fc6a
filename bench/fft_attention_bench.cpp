// FFT kernelized attention with a relative bias (kernels::fft_attention_forward) against the
// quadratic computation of the same formula (kernels::fft_attention_quadratic_forward) and the
// fused softmax dense attention (kernels::dense_attention_forward) for reference. One sequence of
// n nodes, d = 64, H = 8 heads, float, Performer positive random features with m features
// (default 64), a bias table of radius n − 1 (every relative position its own column).
// Forward pass only; times are the best wall time of up to 5 runs (at least one) within a ~2 s
// budget per measurement, plus the CPU times (all threads) of the FFT and quadratic paths,
// steadier on a loaded machine. The last column divides the FFT time by n·log2(n), normalised to the first row: flat
// means O(n log n).
//
// Usage: fft_attention_bench [threads=2] [max_n=65536] [max_quadratic_n=16384] [m=64]
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "core/kernels/attention.hpp"
#include "core/kernels/fft_attention.hpp"
#include "core/rng.hpp"

using namespace locus;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

struct Timing {
  double wall = 1e30, cpu = 1e30;
};
Timing best_time(const std::function<void()>& f, double budget = 2.0) {
  Timing best;
  double spent = 0;
  for (int rep = 0; rep < 5 && (rep == 0 || spent + best.wall < budget); ++rep) {
    const double t0 = now(), c0 = cpu_now();
    f();
    const double s = now() - t0;
    best.cpu = std::min(best.cpu, cpu_now() - c0);
    best.wall = std::min(best.wall, s);
    spent += s;
  }
  return best;
}

double load_average() {
  double l = -1;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = -1;
    std::fclose(f);
  }
  return l;
}

Mat random_mat(int64_t rows, int64_t cols, uint64_t seed, float amp = 1.0f) {
  Rng rng(seed);
  Mat m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = amp * static_cast<float>(rng.uniform(-1.0, 1.0));
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t max_n = argc > 2 ? std::atoll(argv[2]) : 65536;
  const int64_t max_quad = argc > 3 ? std::atoll(argv[3]) : 16384;
  const int64_t m = argc > 4 ? std::atoll(argv[4]) : 64;
  const int heads = 8;
  const int64_t d = 64, cols = heads * d;
  omp_set_num_threads(threads);
  kernels::FftAttentionOptions opt;
  opt.feature_map = kernels::FftFeatureMap::PositiveRandom;
  opt.num_features = m;
  const Mat w = kernels::fft_attention_projection<float>(opt, d);

  std::printf("FFT kernelized attention (Luo et al. 2021), float, one sequence of n nodes, d = %lld, H = %d,\n"
              "Performer positive random features m = %lld, %d threads. Forward pass only. FFT: m*(d+1) = %lld\n"
              "convolutions per head, each a forward and an inverse FFT of length L = 2n (two columns per complex\n"
              "FFT up to L = 8192, one real-to-complex FFT per column above). Quadratic: the same\n"
              "formula with the n x n kernel matrix (tiles of 128 query rows, Eigen GEMMs). Softmax-fused:\n"
              "FlashAttention-style exact softmax attention (a different formula; for reference).\n"
              "Load average at start: %.2f\n\n",
              static_cast<long long>(d), heads, static_cast<long long>(m), threads,
              static_cast<long long>(m * (d + 1)), load_average());
  std::printf("| n | fft ms | quadratic ms | softmax-fused ms | fft ms / (n log2 n), first row = 1 | fft CPU ms | quadratic CPU ms |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  double norm0 = 0;
  int64_t crossover = -1, crossover_cpu = -1;
  for (int64_t n = 512; n <= max_n; n *= 2) {
    const Dense g = Dense::complete(n);
    const int64_t radius = n - 1;
    const Mat q = random_mat(n, cols, 10), k = random_mat(n, cols, 11), v = random_mat(n, cols, 12);
    const Mat bias = random_mat(heads, 2 * radius + 1, 13, 0.5f);
    Mat out(n, cols);
    std::vector<float> den(n * heads), lse(n * heads);
    const Timing fft = best_time([&] {
      kernels::fft_attention_forward<float>(g, q.data(), k.data(), v.data(), bias.data(), radius, heads, d, opt,
                                            w.data(), out.data(), den.data());
    });
    const double norm = fft.wall / (static_cast<double>(n) * std::log2(static_cast<double>(n)));
    if (norm0 == 0) norm0 = norm;
    char quad_s[32] = "skipped", soft_s[32] = "skipped", quad_cpu_s[32] = "skipped";
    if (n <= max_quad) {
      Mat out2(n, cols);
      const Timing quad = best_time([&] {
        kernels::fft_attention_quadratic_forward<float>(g, q.data(), k.data(), v.data(), bias.data(), radius, heads,
                                                        d, opt, w.data(), out2.data());
      });
      std::snprintf(quad_s, sizeof quad_s, "%.1f", 1e3 * quad.wall);
      std::snprintf(quad_cpu_s, sizeof quad_cpu_s, "%.1f", 1e3 * quad.cpu);
      if (crossover_cpu < 0 && fft.cpu < quad.cpu) crossover_cpu = n;
      if (crossover < 0 && fft.wall < quad.wall) crossover = n;
      // Sanity: both paths compute the same formula.
      const float err = (out - out2).cwiseAbs().maxCoeff();
      if (!(err < 1e-3f)) std::fprintf(stderr, "n = %lld: FFT and quadratic differ by %g\n", static_cast<long long>(n), err);
      const float scale = 1.0f / std::sqrt(static_cast<float>(d));
      const Timing soft = best_time([&] {
        kernels::dense_attention_forward<float>(g, q.data(), k.data(), v.data(), heads, d, scale, 0.0f, out2.data(),
                                                lse.data());
      });
      std::snprintf(soft_s, sizeof soft_s, "%.1f", 1e3 * soft.wall);
    }
    std::printf("| %lld | %.1f | %s | %s | %.2f | %.1f | %s |\n", static_cast<long long>(n), 1e3 * fft.wall, quad_s,
                soft_s, norm / norm0, 1e3 * fft.cpu, quad_cpu_s);
    std::fflush(stdout);
  }
  if (crossover > 0)
    std::printf("\nCrossover: the FFT path is faster than the quadratic one from n = %lld on (of the n measured).\n",
                static_cast<long long>(crossover));
  else
    std::printf("\nCrossover: the FFT path did not overtake the quadratic one up to n = %lld.\n",
                static_cast<long long>(std::min(max_n, max_quad)));
  if (crossover_cpu > 0)
    std::printf("By CPU time (all threads): from n = %lld on.\n", static_cast<long long>(crossover_cpu));
  std::printf("Load average at end: %.2f\n", load_average());
  return 0;
}
