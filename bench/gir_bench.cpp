// One GIR training epoch on a large generated graph (issue 5: 100k nodes, 1M edges, 64 anchor sets,
// d = 32), for exact depths (the default, gnn.gir_hops -1) and for a 2-hop cutoff.
//   gir_bench [nodes=100000] [edges=1000000] [sets=64] [dim=32] [threads=2] [features=16]
//   gir_bench floor DATASET.yaml nodes|sets DIM [threads=2]   (the floor below for a dataset's graph:
//     single-node anchors as gnn.anchors=nodes draws them, or P-GNN's sets; exact depths)
// An epoch is what `locus train` does per training step: fresh anchor sets (P-GNN's sizes n/2,
// n/4, …: √sets sizes × √sets copies), their depths and hop graphs, the encoder's forward (2 hop
// weights, mean aggregation), a loss on Z_pos, backward and an Adam step. Prints the
// time of each part (median of 3 epochs after one warm-up), the entries N·K reached, and peak RSS,
// next to the size of one [N·K, d] float state, the unit of GIR.md's O(N·K·d) memory, and a lower
// bound on forward + backward: the 3·R·d² multiply-adds of the R rows past level 0 (M·W_top forward,
// Hᵀ·Q and Q·W_topᵀ backward) at the rate Eigen's dense [R, d]·[d, d] product reaches in this run.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "bench/timing.hpp"
#include "core/alloc.hpp"
#include "core/ops/basic.hpp"
#include "core/optim.hpp"
#include "datasets/generators.hpp"
#include "datasets/loader.hpp"
#include "layers/gir.hpp"

using namespace locus;

using bench::Clock;
using bench::median;
using bench::peak_rss_gib;
using bench::seconds_since;

namespace {
// Multiply-adds per second of Eigen's [rows, d]·[d, d] float product with the threads set, as GIR
// runs it: blocks of 4096 rows spread over the threads (the build sets EIGEN_DONT_PARALLELIZE), the
// best of 10 (rows a multiple of 4096).
double gemm_rate(int64_t rows, int64_t d) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  constexpr int64_t kBlock = 4096;
  const RowMat a = RowMat::Random(rows, d), w = RowMat::Random(d, d);
  RowMat out(rows, d);
  double best = 1e300;
  for (int r = 0; r < 10; ++r) {
    const auto t0 = Clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < rows / kBlock; ++b)
      out.middleRows(b * kBlock, kBlock).noalias() = a.middleRows(b * kBlock, kBlock) * w;
    best = std::min(best, seconds_since(t0));
  }
  if (!std::isfinite(out.sum())) std::fprintf(stderr, "gemm_rate: non-finite product\n");  // keeps the product live
  return static_cast<double>(rows) * static_cast<double>(d * d) / best;
}

// Rows past level 0 of an anchor state: the rows GIR multiplies by W_top.
double rows_past_start(const AnchorState& st) {
  double r = 0;
  for (const auto& f : st.frontier) r += static_cast<double>(f.size());
  return r;
}

// `gir_bench floor PATH nodes|sets DIM [threads]`: one line, "R G ms rate".
int floor_of_dataset(int argc, char** argv) {
  const std::string kind = argc > 3 ? argv[3] : "";
  const int64_t dim = argc > 4 ? std::atoll(argv[4]) : 0;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 2;
  if (argc < 5 || (kind != "nodes" && kind != "sets") || dim < 1 || threads < 1) {
    std::fprintf(stderr, "usage: gir_bench floor DATASET.yaml nodes|sets DIM [threads]\n");
    return 2;
  }
  omp_set_num_threads(threads);
  const Dataset ds = load_dataset_yaml(argv[2]);
  const Csr g = Csr::from_edges(ds.num_nodes, ds.src, ds.dst).symmetrise();
  const int64_t n = ds.num_nodes;
  const AnchorState st = make_anchor_state(
      g, kind == "nodes" ? pe::sample_anchor_nodes(n, 0, pe::anchor_node_count(n)) : pe::sample_anchor_sets(n, 0), -1);
  const double fma = 3.0 * rows_past_start(st) * static_cast<double>(dim * dim);
  const double rate = gemm_rate(int64_t(1) << 18, dim);
  std::printf("rows past level 0: %.0f; 3·R·d² = %.3f G multiply-adds; %.3f ms at %.1f G/s\n", rows_past_start(st),
              fma / 1e9, fma / rate * 1e3, rate / 1e9);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  configure_allocator();
  if (argc > 1 && std::string(argv[1]) == "floor") {
    try {
      return floor_of_dataset(argc, argv);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gir_bench floor: %s\n", e.what());
      return 1;
    }
  }
  const int64_t nodes = argc > 1 ? std::atoll(argv[1]) : 100000;
  const int64_t edges = argc > 2 ? std::atoll(argv[2]) : 1000000;
  const int sets = argc > 3 ? std::atoi(argv[3]) : 64;
  const int64_t dim = argc > 4 ? std::atoll(argv[4]) : 32;
  const int threads = argc > 5 ? std::atoi(argv[5]) : 2;
  const int features = argc > 6 ? std::atoi(argv[6]) : 16;
  const int side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(sets))));
  if (nodes < 2 || edges < 1 || side * side != sets || dim < 1 || threads < 1 || features < 1) {
    std::fprintf(stderr, "usage: gir_bench [nodes] [edges] [sets: a square, e.g. 64] [dim] [threads] [features]\n");
    return 2;
  }
  omp_set_num_threads(threads);

  RandomGraphParams gp;
  gp.nodes = nodes;
  gp.edges = edges;
  gp.classes = 2;
  gp.features = features;
  gp.seed = 1;
  const Dataset ds = generate_random(gp);
  const Csr g = Csr::from_edges(ds.num_nodes, ds.src, ds.dst).symmetrise();
  const Mat x = Mat(ds.features);
  const Mat wz = Mat::Random(nodes, sets);  // loss = Σ Z_pos ⊙ wz: a dense gradient for every entry

  std::printf("| GIR epoch, %lld nodes, %lld directed edges, %d anchor sets (%d sizes × %d), d = %lld, %d threads | exact depths | 2-hop cutoff |\n",
              static_cast<long long>(nodes), static_cast<long long>(g.num_edges()), sets, side, side,
              static_cast<long long>(dim), threads);
  std::printf("|---|---:|---:|\n");
  struct Row {
    double state_s, fwd_bwd_s, step_s, epoch_s, reached, levels, multiplied;
  };
  std::vector<Row> rows;
  for (int hops : {-1, 2}) {
    Rng rng(0);
    ParamStore<float> store;
    GirOptions opt;
    opt.aggregate = ops::Reduce::Mean;
    opt.max_hops = hops;
    GirEncoder<float> gir(store, rng, "gir", features, dim, 2, opt);
    Optimizer<float> adam({OptimKind::Adam, 0.01, 0.0});
    Tape<float> tape;
    std::vector<double> st, fb, sp, ep;
    double reached = 0, levels = 0, multiplied = 0;
    for (int e = 0; e < 4; ++e) {
      const auto t0 = Clock::now();
      const AnchorState anchors = gir.anchor_state(g, pe::sample_anchor_sets(nodes, 100 + e, side, side));
      const double t_state = seconds_since(t0);
      const auto t1 = Clock::now();
      tape.clear();
      store.zero_grad();
      const GirOutput out = gir.forward(tape, g, Features<float>{tape.constant(x), nullptr}, anchors, GirOutputs::z_pos);
      tape.backward(ops::weighted_sum(tape, out.z_pos, wz));
      const double t_fb = seconds_since(t1);
      const auto t2 = Clock::now();
      adam.step(store);
      const double t_step = seconds_since(t2);
      if (e > 0) st.push_back(t_state), fb.push_back(t_fb), sp.push_back(t_step), ep.push_back(seconds_since(t0));
      reached = static_cast<double>(anchors.start.size());
      multiplied = rows_past_start(anchors);
      reached += multiplied;
      levels = anchors.hops;
    }
    tape.clear();
    rows.push_back({median(st), median(fb), median(sp), median(ep), reached, levels, multiplied});
  }
  auto line = [&](const char* what, auto get, const char* fmt) {
    std::printf("| %s |", what);
    for (const Row& r : rows) std::printf(fmt, get(r));
    std::printf("\n");
  };
  line("anchor sets, depths and hop graphs (s)", [](const Row& r) { return r.state_s; }, " %.3f |");
  line("forward + backward (s)", [](const Row& r) { return r.fwd_bwd_s; }, " %.3f |");
  line("Adam step (s)", [](const Row& r) { return r.step_s; }, " %.4f |");
  line("**epoch (s, median of 3)**", [](const Row& r) { return r.epoch_s; }, " **%.3f** |");
  line("levels propagated", [](const Row& r) { return r.levels; }, " %.0f |");
  line("(node, set) entries reached, of N·K", [&](const Row& r) { return r.reached / (static_cast<double>(nodes) * sets); },
       " %.3f |");
  const double rate = gemm_rate(int64_t(1) << 20, dim);
  line("3·R·d² multiply-adds of the R rows past level 0 (G)",
       [&](const Row& r) { return 3.0 * r.multiplied * static_cast<double>(dim * dim) / 1e9; }, " %.2f |");
  line("their time at Eigen's dense GEMM rate here: a floor for forward + backward (s)",
       [&](const Row& r) { return 3.0 * r.multiplied * static_cast<double>(dim * dim) / rate; }, " %.3f |");
  std::printf("| Eigen's [2^20, d]·[d, d] float product, %d threads (G multiply-adds/s) | %.1f | |\n", threads, rate / 1e9);
  std::printf("| one [N·K, d] float state (GiB) | %.2f | |\n",
              static_cast<double>(nodes) * sets * static_cast<double>(dim) * 4.0 / (1024.0 * 1024.0 * 1024.0));
  std::printf("| peak RSS of the program, both runs (GiB) | %.2f | |\n", peak_rss_gib());
  return 0;
}
