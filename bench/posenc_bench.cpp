// Graph positional encodings on large random graphs: Laplacian eigenvectors (Lanczos) on a uniform
// and on a community (SBM) graph, anchor distances with a hop cutoff (P-GNN sets, sampling + BFS),
// random-walk return probabilities (with a drop tolerance on the large graph, exact on a small one).
//   posenc_bench [key=value ...]   keys (defaults): lap_n=100000 lap_m=1000000 lap_k=16
//     lap_ncv=0 lap_tol=0 (0: LapPEOptions defaults) lap_degree=0,1 (a list, one row each: 0 the
//     default filter degree, 1 plain Lanczos)
//     sbm_blocks=50 sbm_in=0.8
//     anchor_n=1000000 anchor_m=10000000 cutoff=2 anchor_dir=bitparallel,hybrid (a list of
//     bitparallel: posenc_Anchor's anchor_values, hybrid|top_down|bottom_up: anchor_distances)
//     rw_n=100000 rw_m=1000000 rw_K=16 rw_tol=1e-3 rwx_n=5000 rwx_m=50000 threads=2
//     only=all|lap|sbm|anchor|rw|rwx
// Graphs: m random pairs (a != b; the rare duplicates are merged by the PEs), stored in both
// directions, generated here (not timed): uniform, or SBM (a fraction sbm_in of the pairs inside
// one of sbm_blocks equal blocks of consecutive ids, the rest uniform). Each case runs in a forked
// child so that its peak RSS (getrusage) is its own; wall and CPU (user + system, all threads)
// seconds are of the PE calls alone. The load average is printed at the start and the end: on a
// shared machine compare CPU seconds.
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "bench/timing.hpp"
#include "core/rng.hpp"
#include "layers/positional/anchors.hpp"
#include "layers/positional/laplacian.hpp"
#include "layers/positional/random_walk.hpp"

using namespace locus;
using bench::Clock;
using bench::cpu_seconds;
using bench::peak_rss_gib;
using bench::seconds_since;

namespace {

std::string loadavg() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[128] = "?";
  if (f) {
    if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
    std::fclose(f);
  }
  std::string s = buf;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// blocks = 0: uniform pairs. Otherwise a fraction `in` of the pairs lie inside one block.
Csr random_graph(int64_t n, int64_t m, uint64_t seed, int64_t blocks = 0, double in = 0.0) {
  std::vector<int32_t> src, dst;
  src.reserve(2 * m);
  dst.reserve(2 * m);
  Rng rng(seed);
  const int64_t bs = blocks > 0 ? n / blocks : n;
  while (static_cast<int64_t>(src.size()) < 2 * m) {
    int32_t a, b;
    if (blocks > 0 && rng.uniform() < in) {
      const int64_t base = static_cast<int64_t>(rng.below(blocks)) * bs;
      a = static_cast<int32_t>(base + rng.below(bs));
      b = static_cast<int32_t>(base + rng.below(bs));
    } else {
      a = static_cast<int32_t>(rng.below(n));
      b = static_cast<int32_t>(rng.below(n));
    }
    if (a == b) continue;
    src.push_back(a);
    dst.push_back(b);
    src.push_back(b);
    dst.push_back(a);
  }
  return Csr::from_edges(n, src, dst);
}

// Runs f in a child process (its own peak RSS); f prints its table row.
template <class F>
void in_child(F f) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    f();
    std::fflush(stdout);
    std::_Exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("| (case failed, status %d) |\n", status);
}
}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> kv{{"lap_n", "100000"},    {"lap_m", "1000000"},   {"lap_k", "16"},
                                        {"lap_ncv", "0"},        {"lap_tol", "0"},       {"lap_degree", "0,1"},       {"sbm_blocks", "50"},
                                        {"sbm_in", "0.8"},       {"anchor_dir", "bitparallel,hybrid"},
                                        {"anchor_n", "1000000"}, {"anchor_m", "10000000"}, {"cutoff", "2"},
                                        {"rw_n", "100000"},     {"rw_m", "1000000"},    {"rw_K", "16"},
                                        {"rw_tol", "1e-3"},     {"rwx_n", "5000"},      {"rwx_m", "50000"},
                                        {"threads", "2"},       {"only", "all"}};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (eq == std::string::npos || !kv.count(a.substr(0, eq))) {
      std::fprintf(stderr, "unknown argument '%s' (expected key=value; see the header of posenc_bench.cpp)\n", a.c_str());
      return 2;
    }
    kv[a.substr(0, eq)] = a.substr(eq + 1);
  }
  auto I = [&](const char* k) { return std::atoll(kv[k].c_str()); };
  const std::string only = kv["only"];
  const int threads = static_cast<int>(I("threads"));
  omp_set_num_threads(threads);
  std::printf("threads: %d, load average at start: %s\n\n"
              "| case | graph (nodes / undirected edges) | parameters | wall (s) | CPU (s) | peak RSS (GiB) | notes |\n"
              "|---|---|---|---|---|---|---|\n", threads, loadavg().c_str());

  auto list = [&](const char* key) {  // a comma-separated value
    std::vector<std::string> out;
    for (std::string rest = kv[key]; !rest.empty();) {
      const size_t comma = rest.find(',');
      out.push_back(rest.substr(0, comma));
      rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
    }
    return out;
  };
  auto lap_case = [&](bool sbm) {
    for (const std::string& degree : list("lap_degree"))
      in_child([&] {
        const int64_t n = I("lap_n"), m = I("lap_m");
        const int k = static_cast<int>(I("lap_k"));
        const int64_t blocks = sbm ? I("sbm_blocks") : 0;
        const double in = std::atof(kv["sbm_in"].c_str());
        const Csr g = random_graph(n, m, 1, blocks, in);
        pe::LapPEOptions opt;
        if (I("lap_ncv") > 0) opt.ncv = static_cast<int>(I("lap_ncv"));
        if (std::atoi(degree.c_str()) > 0) opt.filter_degree = std::atoi(degree.c_str());
        if (std::atof(kv["lap_tol"].c_str()) > 0) opt.tol = std::atof(kv["lap_tol"].c_str());
        const double c0 = cpu_seconds();
        const auto t0 = Clock::now();
        const pe::LapPE r = pe::laplacian_pe(g, k, opt);
        const double t = seconds_since(t0), c = cpu_seconds() - c0;
        // Sanity: orthonormality of the returned vectors.
        const Eigen::MatrixXd v = r.vectors.cast<double>();
        const double ortho = (v.transpose() * v - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff();
        char graph[96];
        if (sbm) std::snprintf(graph, sizeof graph, "SBM, %lld blocks, %.0f%% inside", (long long)blocks, 100 * in);
        else std::snprintf(graph, sizeof graph, "uniform");
        std::printf("| laplacian_pe (%s) | %lld / %lld | k = %d, ncv %d, tol %g, filter degree %d | %.2f | %.2f | %.2f | %lld products M x; lambda_1..3 = %.4f %.4f %.4f, lambda_k = %.4f, |V'V - I| = %.1e |\n",
                    graph, (long long)n, (long long)m, k, opt.ncv, opt.tol, opt.filter_degree, t, c, peak_rss_gib(), (long long)r.num_products,
                    r.values[0], r.values[1], r.values[2], r.values[k - 1], ortho);
      });
  };
  if (only == "all" || only == "lap") lap_case(false);
  if (only == "all" || only == "sbm") lap_case(true);
  const std::vector<std::string> anchor_dirs = list("anchor_dir");
  for (const std::string& dir_name : (only == "all" || only == "anchor") ? anchor_dirs : std::vector<std::string>{})
    in_child([&] {
      const int64_t n = I("anchor_n"), m = I("anchor_m");
      const int cutoff = static_cast<int>(I("cutoff"));
      const Csr g = random_graph(n, m, 2);
      const double c0 = cpu_seconds();
      auto t0 = Clock::now();
      const pe::AnchorSets sets = pe::sample_anchor_sets(n, 7);
      const double ts = seconds_since(t0);
      t0 = Clock::now();
      // bitparallel: pe::anchor_values (what posenc_Anchor computes); else anchor_distances' BFS per
      // set in that direction (values and nearest anchors, what P-GNN's branch needs).
      const bool bits = dir_name == "bitparallel";
      const pe::BfsDirection dir = dir_name == "top_down"    ? pe::BfsDirection::top_down
                                   : dir_name == "bottom_up" ? pe::BfsDirection::bottom_up
                                                             : pe::BfsDirection::hybrid;
      const Mat value = bits ? pe::anchor_values(g, sets, cutoff) : pe::anchor_distances(g, sets, cutoff, dir).value;
      const double tb = seconds_since(t0);
      const int64_t reached = (value.array() > 0).count();
      std::printf("| sample_anchor_sets + %s (%s) | %lld / %lld | %lld sets (%lld anchors), cutoff %d | %.2f | %.2f | %.2f | wall: sampling %.2f s, distances %.2f s; %.1f%% of (node, set) pairs within the cutoff |\n",
                  bits ? "anchor_values" : "anchor_distances", dir_name.c_str(), (long long)n, (long long)m,
                  (long long)sets.num_sets(), (long long)sets.nodes.size(), cutoff, ts + tb, cpu_seconds() - c0, peak_rss_gib(),
                  ts, tb, 100.0 * reached / static_cast<double>(value.size()));
    });
  if (only == "all" || only == "rw")
    in_child([&] {
      const int64_t n = I("rw_n"), m = I("rw_m");
      const int K = static_cast<int>(I("rw_K"));
      const Csr g = random_graph(n, m, 3);
      pe::RandomWalkOptions opt;
      opt.drop_tol = std::atof(kv["rw_tol"].c_str());
      const double c0 = cpu_seconds();
      const auto t0 = Clock::now();
      const Mat r = pe::random_walk_pe(g, K, opt);
      const double t = seconds_since(t0);
      std::printf("| random_walk_pe (drop_tol %g) | %lld / %lld | K = %d | %.2f | %.2f | %.2f | mean of columns 2, 4, K: %.3e %.3e %.3e |\n",
                  opt.drop_tol, (long long)n, (long long)m, K, t, cpu_seconds() - c0, peak_rss_gib(), r.col(1).mean(), r.col(3).mean(),
                  r.col(K - 1).mean());
    });
  if (only == "all" || only == "rwx")
    in_child([&] {
      const int64_t n = I("rwx_n"), m = I("rwx_m");
      const int K = static_cast<int>(I("rw_K"));
      const Csr g = random_graph(n, m, 4);
      const double c0 = cpu_seconds();
      const auto t0 = Clock::now();
      const Mat r = pe::random_walk_pe(g, K);
      const double t = seconds_since(t0);
      std::printf("| random_walk_pe (exact) | %lld / %lld | K = %d | %.2f | %.2f | %.2f | mean of columns 2, 4, K: %.3e %.3e %.3e |\n",
                  (long long)n, (long long)m, K, t, cpu_seconds() - c0, peak_rss_gib(), r.col(1).mean(), r.col(3).mean(), r.col(K - 1).mean());
    });
  std::printf("\nload average at the end: %s\n", loadavg().c_str());
  return 0;
}
