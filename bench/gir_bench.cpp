// One GIR training epoch on a large generated graph (issue 5: 100k nodes, 1M edges, 64 anchor sets,
// d = 32), for exact depths (the default, gnn.gir_hops -1) and for a 2-hop cutoff.
//   gir_bench [nodes=100000] [edges=1000000] [sets=64] [dim=32] [threads=2] [features=16]
// An epoch is what `locus train` does per training step: fresh anchor sets (P-GNN's sizes n/2,
// n/4, …: √sets sizes × √sets copies), their depths and hop graphs, the encoder's forward (2 hop
// weights, mean aggregation), a loss on Z_pos, backward and an Adam step. Prints the
// time of each part (median of 3 epochs after one warm-up), the entries N·K reached, and peak RSS,
// next to the size of one [N·K, d] float state, the unit of GIR.md's O(N·K·d) memory.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/timing.hpp"
#include "core/alloc.hpp"
#include "core/ops/basic.hpp"
#include "core/optim.hpp"
#include "datasets/generators.hpp"
#include "layers/gir.hpp"

using namespace locus;
using bench::Clock;
using bench::median;
using bench::peak_rss_gib;
using bench::seconds_since;

int main(int argc, char** argv) {
  configure_allocator();
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
    double state_s, fwd_bwd_s, step_s, epoch_s, reached, levels;
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
    double reached = 0, levels = 0;
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
      for (const auto& f : anchors.frontier) reached += static_cast<double>(f.size());
      levels = anchors.hops;
    }
    tape.clear();
    rows.push_back({median(st), median(fb), median(sp), median(ep), reached, levels});
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
  std::printf("| one [N·K, d] float state (GiB) | %.2f | |\n",
              static_cast<double>(nodes) * sets * static_cast<double>(dim) * 4.0 / (1024.0 * 1024.0 * 1024.0));
  std::printf("| peak RSS of the program, both runs (GiB) | %.2f | |\n", peak_rss_gib());
  return 0;
}
