// SpMM and GCN epoch on a large generated graph, against the machine's memory bandwidth, for
// each node order of dataset.reorder (datasets/reorder.hpp).
//   spmm_bench [nodes=1000000] [edges=10000000] [cols=64] [threads=2] [features=16]
//              [graph=random|rmat] [orders=none,rcm,degree,metis]
// Prints a STREAM-style triad bandwidth, then per order: the time to compute the order and
// renumber the dataset, one SpMM (Â X with X [n, cols]) as time and fraction of the memory
// bound, and a 2-layer GCN training epoch (hidden = cols). Minimal SpMM bytes: CSR arrays
// (indptr, indices, weights) + one gathered feature row per non-zero + the output; on a graph
// with locality most gathers hit cache, so a fraction above 1 is possible.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/timing.hpp"
#include "core/alloc.hpp"
#include "core/kernels/gspmm.hpp"
#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "datasets/generators.hpp"
#include "datasets/reorder.hpp"
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


// One order's row of the table: reorder time, SpMM time, GCN epoch.
struct OrderResult {
  double reorder_s = 0, spmm_s = 0, epoch_s = 0;
};

OrderResult measure(Dataset ds, Reorder kind, int64_t cols) {
  OrderResult r;
  auto t0 = Clock::now();
  if (kind != Reorder::None) renumber_nodes(ds, node_order(Csr::from_edges(ds.num_nodes, ds.src, ds.dst), kind));
  r.reorder_s = seconds_since(t0);
  const int64_t nodes = ds.num_nodes;
  {
    const Csr a_hat = gcn_normalize(Csr::from_edges(ds.num_nodes, ds.src, ds.dst));
    Mat x = Mat::Random(nodes, cols), out(nodes, cols);
    std::vector<double> times;
    for (int rep = 0; rep < 7; ++rep) {
      t0 = Clock::now();
      kernels::spmm_csr(a_hat, x.data(), cols, static_cast<const float*>(nullptr), false, out.data(), false);
      times.push_back(seconds_since(t0));
    }
    r.spmm_s = median(times);
  }
  // GCN training epochs (hidden = cols) on the dataset's dense features.
  Rng rng(0);
  ParamStore<float> store;
  GnnSpec spec;
  spec.in_dim = ds.num_features() > 0 ? ds.num_features() : 1;
  spec.hidden = cols;
  spec.out_dim = ds.num_classes;
  GnnClassifier<float> model(store, rng, spec, Csr::from_edges(ds.num_nodes, ds.src, ds.dst));
  Tape<float> tape;
  const Mat feats = Mat(ds.features);
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
  r.epoch_s = median(epochs);
  return r;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t e; (e = s.find(',', b)) != std::string::npos; b = e + 1) out.push_back(s.substr(b, e - b));
  out.push_back(s.substr(b));
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  configure_allocator();
  const int64_t nodes = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t edges = argc > 2 ? std::atoll(argv[2]) : 10000000;
  const int64_t cols = argc > 3 ? std::atoll(argv[3]) : 64;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  const int features = argc > 5 ? std::atoi(argv[5]) : 16;
  const std::string graph = argc > 6 ? argv[6] : "random";
  const std::vector<std::string> orders = split_list(argc > 7 ? argv[7] : "none,rcm,degree,metis");
  if (graph != "random" && graph != "rmat") {
    std::fprintf(stderr, "spmm_bench: graph must be random or rmat, not '%s'\n", graph.c_str());
    return 2;
  }
  std::vector<Reorder> kinds;
  try {
    for (const auto& o : orders) kinds.push_back(parse_reorder(o));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spmm_bench: %s\n", e.what());
    return 2;
  }
  omp_set_num_threads(threads);

  auto t0 = Clock::now();
  RandomGraphParams gp;
  gp.nodes = nodes;
  gp.edges = edges;
  gp.classes = 10;
  gp.features = features;
  gp.seed = 1;
  const Dataset ds = graph == "rmat" ? generate_rmat(gp) : generate_random(gp);
  const double gen_s = seconds_since(t0);
  const double bw = triad_gbs();
  const int64_t nnz = Csr::from_edges(ds.num_nodes, ds.src, ds.dst).num_edges() + nodes;  // Â's, with self loops
  const double bytes = 8.0 * (nodes + 1) + (4.0 + 4.0) * nnz + 4.0 * cols * nnz + 4.0 * cols * nodes;

  std::printf("%s graph: %lld nodes, %lld undirected edges (%lld non-zeros in Â with self loops), generated in "
              "%.1f s; %d threads; STREAM triad %.1f GB/s; SpMM x %lld columns: %.2f GB minimal, %.3f s at the "
              "triad bandwidth; GCN-%lld with %d input features\n\n",
              graph == "rmat" ? "R-MAT power-law" : "uniform random", static_cast<long long>(nodes),
              static_cast<long long>(edges), static_cast<long long>(nnz), gen_s, threads, bw,
              static_cast<long long>(cols), bytes / 1e9, bytes / bw / 1e9, static_cast<long long>(cols), features);
  std::printf("| order | reorder (s) | SpMM (s, median of 7) | fraction of the triad bound | SpMM speed-up | GCN "
              "epoch (s, median of 4) | epoch speed-up |\n|---|---:|---:|---:|---:|---:|---:|\n");
  OrderResult base;
  for (size_t i = 0; i < kinds.size(); ++i) {
    const OrderResult r = measure(ds, kinds[i], cols);
    if (i == 0) base = r;
    std::printf("| %s | %.2f | %.3f | %.2f | %.2f× | %.3f | %.2f× |\n", orders[i].c_str(), r.reorder_s, r.spmm_s,
                bytes / bw / 1e9 / r.spmm_s, base.spmm_s / r.spmm_s, r.epoch_s, base.epoch_s / r.epoch_s);
    std::fflush(stdout);
  }
  std::printf("\nSpeed-ups against the first order listed; peak RSS %.2f GiB.\n", peak_rss_gib());
  return 0;
}
