// SpMM and GCN epoch on a large generated graph, against the machine's memory bandwidth.
//   spmm_bench [nodes=1000000] [edges=10000000] [cols=64] [threads=2] [features=16]
// Prints a STREAM-style triad bandwidth, one SpMM (Â X with X [n, cols]) as time, effective
// GB/s and fraction of the memory bound, then a 2-layer GCN training epoch (hidden = cols) with
// its peak RSS. Minimal SpMM bytes: CSR arrays (indptr, indices, weights) + one gathered feature
// row per non-zero + the output.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/timing.hpp"
#include "core/alloc.hpp"
#include "core/kernels/gspmm.hpp"
#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "datasets/generators.hpp"
#include "layers/gcn.hpp"
#include "layers/gnn.hpp"

using namespace locus;
using bench::Clock;
using bench::median;
using bench::peak_rss_gib;
using bench::seconds_since;

namespace {

// STREAM triad a = b + s·c over three arrays of 2^26 doubles (512 MiB each), best of 5;
// bytes counted as STREAM does: 3 × 8 per element.
double triad_gbs() {
  const int64_t n = int64_t(1) << 26;
  std::vector<double> a(n), b(n, 1.0), c(n, 2.0);
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + 3.0 * c[i];
    best = std::max(best, 24.0 * static_cast<double>(n) / seconds_since(t0) / 1e9);
  }
  if (a[n / 2] != 7.0) std::abort();  // keeps the loop from being optimised away
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  configure_allocator();
  const int64_t nodes = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t edges = argc > 2 ? std::atoll(argv[2]) : 10000000;
  const int64_t cols = argc > 3 ? std::atoll(argv[3]) : 64;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int features = argc > 5 ? std::atoi(argv[5]) : 16;
  omp_set_num_threads(threads);

  auto t0 = Clock::now();
  RandomGraphParams gp;
  gp.nodes = nodes;
  gp.edges = edges;
  gp.classes = 10;
  gp.features = features;
  gp.seed = 1;
  Dataset ds = generate_random(gp);
  const double gen_s = seconds_since(t0);
  t0 = Clock::now();
  const Csr a_hat = gcn_normalize(Csr::from_edges(ds.num_nodes, ds.src, ds.dst));
  a_hat.reversed();
  const double build_s = seconds_since(t0);
  const double bw = triad_gbs();

  // One SpMM, out = Â X, X [n, cols].
  Mat x = Mat::Random(nodes, cols), out(nodes, cols);
  std::vector<double> times;
  for (int rep = 0; rep < 7; ++rep) {
    t0 = Clock::now();
    kernels::spmm_csr(a_hat, x.data(), cols, static_cast<const float*>(nullptr), false, out.data(), false);
    times.push_back(seconds_since(t0));
  }
  const double nnz = static_cast<double>(a_hat.num_edges());
  const double bytes = 8.0 * (nodes + 1) + (4.0 + 4.0) * nnz + 4.0 * cols * nnz + 4.0 * cols * nodes;
  const double spmm_s = median(times);

  // GCN training epochs (hidden = cols), dense generated features.
  Rng rng(0);
  ParamStore<float> store;
  GnnSpec spec;
  spec.in_dim = ds.num_features() > 0 ? ds.num_features() : 1;
  spec.hidden = cols;
  spec.out_dim = ds.num_classes;
  GnnClassifier<float> model(store, rng, spec, Csr::from_edges(ds.num_nodes, ds.src, ds.dst));
  x.resize(0, 0);
  out.resize(0, 0);
  Tape<float> tape;
  const Var none{};
  Mat feats = Mat(ds.features);
  Optimizer<float> opt({OptimKind::Adam, 0.01, 5e-4});
  std::vector<double> epochs;
  for (int e = 0; e < 4; ++e) {
    t0 = Clock::now();
    tape.clear();
    store.zero_grad();
    Var in = tape.constant(feats);
    Var logp = model.forward(tape, Features<float>{in, nullptr}, true, rng.next_key());
    tape.backward(ops::nll_loss(tape, logp, ds.labels, ds.train));
    opt.step(store);
    epochs.push_back(seconds_since(t0));
  }
  tape.clear();
  (void)none;

  std::printf("| quantity | value |\n|---|---|\n");
  std::printf("| graph | %lld nodes, %lld undirected edges (%lld non-zeros in Â with self loops) |\n",
              static_cast<long long>(nodes), static_cast<long long>(edges), static_cast<long long>(a_hat.num_edges()));
  std::printf("| threads | %d |\n| generate / build Â (s) | %.2f / %.2f |\n", threads, gen_s, build_s);
  std::printf("| STREAM triad bandwidth (GB/s) | %.1f |\n", bw);
  std::printf("| SpMM x %lld columns (s, median of 7) | %.3f |\n", static_cast<long long>(cols), spmm_s);
  std::printf("| SpMM minimal bytes (GB) / effective GB/s | %.2f / %.1f |\n", bytes / 1e9, bytes / spmm_s / 1e9);
  std::printf("| memory-bound time at triad bandwidth (s) / fraction achieved | %.3f / %.2f |\n", bytes / bw / 1e9,
              bytes / bw / 1e9 / spmm_s);
  std::printf("| GCN-%lld train epoch (s, median of 4; %d input features) | %.3f |\n", static_cast<long long>(cols),
              static_cast<int>(spec.in_dim), median(epochs));
  std::printf("| peak RSS (GiB) | %.2f |\n", peak_rss_gib());
  return 0;
}
