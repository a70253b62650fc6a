// Fused dense attention benchmark: one sequence of n nodes, d = 64, H = 8 heads, float, on a
// fixed thread count (default 2). Prints a markdown table of forward and forward+backward times,
// achieved GFLOP/s against the machine's measured GEMM rate (an Eigen 2048×2048 float GEMM split
// over the same threads, re-measured just before each row so that a shared, loaded machine
// compares like with like) and the process's peak RSS (getrusage; a running maximum, so each row
// shows the peak up to and including that n).
//
// Flop counts (the FlashAttention convention): forward 4·n²·d·H (Q·Kᵀ and P·V), backward 2.5× the
// forward (five n²·d products, recomputation of the scores not counted); causal halves both.
//
// A second table times the options at one size (default n = 4096): T5 relative position bias
// (32 buckets, max_distance 128, its gradient included in fwd+bwd), l2 normalisation, attention
// dropout p = 0.1, and all three, against plain softmax attention measured in the same run.
// Flops are counted as for plain attention, so the GFLOP/s column shows the options' cost.
//
// Usage: attention_bench [threads=2] [max_n=16384] [min_n=512] [options_n=4096]
//   (min_n = max_n runs a single size; options_n = 0 skips the options table)
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench/timing.hpp"
#include "core/ops/attention.hpp"
#include "core/ops/basic.hpp"
#include "core/rng.hpp"

using namespace locus;
using bench::peak_rss_mib;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// CPU seconds (user + system) used so far by all threads of the process.
double cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

// Best wall time and best CPU time (all threads) of f over repetitions, spending about `budget`
// seconds (at least 1 and at most 5 runs). On a machine shared with other work the CPU time is
// the steadier measure: it does not count time the threads waited for a core.
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


Mat random_mat(int64_t rows, int64_t cols, uint64_t seed) {
  Rng rng(seed);
  Mat m(rows, cols);
  for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return m;
}

// Eigen float GEMM at 2048×2048, rows split evenly over `threads` OpenMP threads (the build
// defines EIGEN_DONT_PARALLELIZE, so each thread runs a single-threaded GEMM). Flops: 2·2048³.
Timing gemm_time(int threads) {
  const int64_t n = 2048;
  const Mat a = random_mat(n, n, 1), b = random_mat(n, n, 2);
  Mat c(n, n);
  return best_time([&] {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int p = 0; p < threads; ++p) {
      const int64_t r0 = p * n / threads, r1 = (p + 1) * n / threads;
      c.middleRows(r0, r1 - r0).noalias() = a.middleRows(r0, r1 - r0) * b;
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t max_n = argc > 2 ? std::atoll(argv[2]) : 16384;
  const int64_t min_n = argc > 3 ? std::atoll(argv[3]) : 512;
  const int64_t options_n = argc > 4 ? std::atoll(argv[4]) : 4096;
  const int heads = 8;
  const int64_t d = 64, cols = heads * d;
  omp_set_num_threads(threads);

  std::printf("Fused dense attention, float, d = %lld, H = %d, %d threads, one sequence of n nodes.\n",
              static_cast<long long>(d), heads, threads);
  std::printf("GEMM: Eigen 2048x2048 float on %d threads, measured before each row. Flops: fwd 4*n^2*d*H,\n"
              "fwd+bwd 3.5x that (backward = 2.5x forward), halved when causal. Rates from the best wall\n"
              "time; 'CPU' ratios compare flops per CPU-second (all threads) of attention and GEMM.\n"
              "Load average at start: %.2f\n\n", threads, load_average());
  std::printf("| n | causal | GEMM GFLOP/s | fwd ms | fwd GFLOP/s | fwd / GEMM | fwd / GEMM (CPU) | fwd+bwd ms | fwd+bwd GFLOP/s | peak RSS MiB | one [n, H*d] array MiB | n^2*H scores MiB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int64_t n = min_n; n <= max_n; n *= 2)
    for (bool causal : {false, true}) {
      const Dense g = Dense::complete(n, causal);
      const Mat q = random_mat(n, cols, 10), k = random_mat(n, cols, 11), v = random_mat(n, cols, 12);
      const Mat w = random_mat(n, cols, 13);
      const float scale = 1.0f / std::sqrt(static_cast<float>(d));
      double fwd_flops = 4.0 * double(n) * double(n) * double(d) * heads;
      if (causal) fwd_flops /= 2;
      const Timing gt = gemm_time(threads);
      const double gemm_flops = 2.0 * 2048.0 * 2048.0 * 2048.0, gemm = gemm_flops / gt.wall / 1e9;
      const Timing ft = best_time([&] {
        Tape<float> t;
        ops::dense_attention(t, g, t.constant(q), t.constant(k), t.constant(v), heads, scale);
      });
      const Timing bt = best_time([&] {
        Tape<float> t;
        Var qv = t.leaf(q), kv = t.leaf(k), vv = t.leaf(v);
        t.backward(ops::weighted_sum(t, ops::dense_attention(t, g, qv, kv, vv, heads, scale), w));
      });
      const double mib = 1.0 / (1024.0 * 1024.0);
      const double fwd = ft.wall, both = bt.wall;
      const double cpu_ratio = (fwd_flops / ft.cpu) / (gemm_flops / gt.cpu);
      std::printf("| %lld | %s | %.1f | %.1f | %.1f | %.2f | %.2f | %.1f | %.1f | %.0f | %.0f | %.0f |\n",
                  static_cast<long long>(n), causal ? "yes" : "no", gemm, fwd * 1e3, fwd_flops / fwd / 1e9,
                  fwd_flops / fwd / 1e9 / gemm, cpu_ratio, both * 1e3, 3.5 * fwd_flops / both / 1e9, peak_rss_mib(),
                  double(n) * cols * sizeof(float) * mib, double(n) * n * heads * sizeof(float) * mib);
      std::fflush(stdout);
    }
  if (options_n > 0) {
    const int64_t n = options_n;
    std::printf("\nOptions at n = %lld (flops counted as plain attention; ratios against the plain row "
                "of the same causality, measured in this run):\n\n", static_cast<long long>(n));
    std::printf("| options | causal | fwd ms | fwd GFLOP/s | fwd rate / plain | fwd+bwd ms | fwd+bwd GFLOP/s | fwd+bwd rate / plain |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    const Mat q = random_mat(n, cols, 10), k = random_mat(n, cols, 11), v = random_mat(n, cols, 12);
    const Mat w = random_mat(n, cols, 13), table = random_mat(heads, 32, 14);
    struct Case {
      const char* name;
      bool bias, l2, drop;
    };
    const Case cases[] = {{"plain", false, false, false},
                          {"rel. bias", true, false, false},
                          {"l2", false, true, false},
                          {"dropout 0.1", false, false, true},
                          {"bias + l2 + dropout", true, true, true}};
    for (bool causal : {false, true}) {
      const Dense g = Dense::complete(n, causal);
      double fwd_flops = 4.0 * double(n) * double(n) * double(d) * heads;
      if (causal) fwd_flops /= 2;
      double plain_fwd = 0, plain_both = 0;
      for (const Case& c : cases) {
        AttnConfig cfg;
        cfg.norm = c.l2 ? AttnNorm::L2 : AttnNorm::Softmax;
        cfg.dropout = c.drop ? 0.1 : 0.0;
        const Timing ft = best_time([&] {
          Tape<float> t;
          ops::dense_attention(t, g, t.constant(q), t.constant(k), t.constant(v), heads, cfg,
                               c.bias ? t.constant(table) : Var{}, true, 5);
        });
        const Timing bt = best_time([&] {
          Tape<float> t;
          Var qv = t.leaf(q), kv = t.leaf(k), vv = t.leaf(v), bv = c.bias ? t.leaf(table) : Var{};
          t.backward(ops::weighted_sum(t, ops::dense_attention(t, g, qv, kv, vv, heads, cfg, bv, true, 5), w));
        });
        if (!c.bias && !c.l2 && !c.drop) {
          plain_fwd = ft.wall;
          plain_both = bt.wall;
        }
        std::printf("| %s | %s | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f |\n", c.name, causal ? "yes" : "no",
                    ft.wall * 1e3, fwd_flops / ft.wall / 1e9, plain_fwd / ft.wall, bt.wall * 1e3,
                    3.5 * fwd_flops / bt.wall / 1e9, plain_both / bt.wall);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\nLoad average at end: %.2f\n", load_average());
  return 0;
}
