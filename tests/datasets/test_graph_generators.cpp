// The benchmarking-GNNs generators of many graphs (PATTERN, CLUSTER, CSL): the disjoint-union
// layout, simple symmetric edges inside graphs, label and feature rules, edge densities against
// p / q, the CSL skip structure and its stratified folds, determinism across seeds and thread
// counts, and parameter errors.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "datasets/graph_generators.hpp"
#include "tests/testing/errors.hpp"
#include "tests/testing/threads.hpp"

using namespace locus;
using locus::testing::input_error_of;
using locus::testing::with_threads;

namespace {

using Pair = std::pair<int32_t, int32_t>;

// Node range [first[g], first[g+1]) of each graph, checking graph_of is consecutive and covers 0..G-1.
std::vector<int64_t> graph_ranges(const Dataset& d) {
  REQUIRE(d.num_graphs > 0);
  REQUIRE(static_cast<int64_t>(d.graph_of.size()) == d.num_nodes);
  std::vector<int64_t> first(static_cast<size_t>(d.num_graphs) + 1, 0);
  bool consecutive = d.graph_of.front() == 0;
  for (int64_t v = 1; v < d.num_nodes; ++v) {
    const int32_t a = d.graph_of[static_cast<size_t>(v - 1)], b = d.graph_of[static_cast<size_t>(v)];
    consecutive = consecutive && (b == a || b == a + 1);
    if (b == a + 1) first[static_cast<size_t>(b)] = v;
  }
  CHECK(consecutive);
  CHECK(d.graph_of.back() == d.num_graphs - 1);
  first.back() = d.num_nodes;
  return first;
}

// The undirected pairs, checking the layout: edge 2i is a->b with a < b, edge 2i+1 its reverse,
// pairs strictly increasing (no duplicates), no self loops, both ends in the same graph.
std::vector<Pair> checked_pairs(const Dataset& d) {
  REQUIRE(d.src.size() == d.dst.size());
  REQUIRE(d.src.size() % 2 == 0);
  CHECK_FALSE(d.directed);
  CHECK(d.weight.empty());
  std::vector<Pair> pairs;
  bool layout = true, increasing = true, in_range = true, same_graph = true;
  for (size_t e = 0; e < d.src.size(); e += 2) {
    const int32_t a = d.src[e], b = d.dst[e];
    layout = layout && a < b && d.src[e + 1] == b && d.dst[e + 1] == a;
    in_range = in_range && a >= 0 && b < d.num_nodes;
    if (!in_range) break;
    same_graph = same_graph && d.graph_of[static_cast<size_t>(a)] == d.graph_of[static_cast<size_t>(b)];
    if (!pairs.empty()) increasing = increasing && pairs.back() < Pair(a, b);
    pairs.emplace_back(a, b);
  }
  CHECK(layout);
  CHECK(increasing);
  CHECK(in_range);
  CHECK(same_graph);
  CHECK(d.num_input_edges == static_cast<int64_t>(pairs.size()));
  return pairs;
}

// The one-hot column of each node (checking one non-zero 1.0 per row).
std::vector<int32_t> one_hot_columns(const Dataset& d) {
  REQUIRE(d.features.rows() == d.num_nodes);
  CHECK(d.features_dense);
  std::vector<int32_t> col(static_cast<size_t>(d.num_nodes), -1);
  bool one_per_row = true;
  for (Eigen::Index r = 0; r < d.features.outerSize(); ++r) {
    int nnz = 0;
    for (SpMat::InnerIterator it(d.features, r); it; ++it) {
      ++nnz;
      one_per_row = one_per_row && it.value() == 1.0f;
      col[static_cast<size_t>(r)] = static_cast<int32_t>(it.col());
    }
    one_per_row = one_per_row && nnz == 1;
  }
  CHECK(one_per_row);
  return col;
}

// Graph splits: consecutive train / val / test graph ids of the given sizes, and (node tasks) the
// node splits are exactly the nodes of those graphs.
void check_split(const Dataset& d, int64_t train, int64_t val, int64_t test) {
  const std::vector<int64_t> first = graph_ranges(d);
  auto ids = [](int64_t lo, int64_t n) {
    std::vector<int32_t> out;
    for (int64_t g = lo; g < lo + n; ++g) out.push_back(static_cast<int32_t>(g));
    return out;
  };
  CHECK(d.num_graphs == train + val + test);
  CHECK(d.train_graphs == ids(0, train));
  CHECK(d.val_graphs == ids(train, val));
  CHECK(d.test_graphs == ids(train + val, test));
  auto nodes = [&](int64_t g0, int64_t g1) {
    std::vector<int32_t> out;
    for (int64_t v = first[static_cast<size_t>(g0)]; v < first[static_cast<size_t>(g1)]; ++v)
      out.push_back(static_cast<int32_t>(v));
    return out;
  };
  CHECK(d.train == nodes(0, train));
  CHECK(d.val == nodes(train, train + val));
  CHECK(d.test == nodes(train + val, train + val + test));
}

bool same_features(const SpMat& a, const SpMat& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  for (Eigen::Index r = 0; r < a.outerSize(); ++r) {
    SpMat::InnerIterator ia(a, r), ib(b, r);
    for (; ia && ib; ++ia, ++ib)
      if (ia.col() != ib.col() || ia.value() != ib.value()) return false;
    if (ia || ib) return false;
  }
  return true;
}

void check_same(const Dataset& a, const Dataset& b) {
  CHECK(a.source == b.source);
  CHECK(a.num_nodes == b.num_nodes);
  CHECK(a.src == b.src);
  CHECK(a.dst == b.dst);
  CHECK(a.labels == b.labels);
  CHECK(same_features(a.features, b.features));
  CHECK(a.graph_of == b.graph_of);
  CHECK(a.graph_labels == b.graph_labels);
  CHECK(a.train_graphs == b.train_graphs);
  CHECK(a.val_graphs == b.val_graphs);
  CHECK(a.test_graphs == b.test_graphs);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  CHECK(a.test == b.test);
}



// Expected share of within-block pairs among all pairs of an SBM with `blocks` sizes uniform on
// [lo, hi] (the ratio of expectations, which the pooled count over many graphs estimates):
// E[sum s(s-1)/2] / E[N(N-1)/2], N = sum s.
double within_share(int blocks, int lo, int hi) {
  const double k = hi - lo + 1, mean = (lo + hi) / 2.0, var = (k * k - 1) / 12.0;
  const double within = blocks * (var + mean * mean - mean) / 2;
  const double n_mean = blocks * mean, n_var = blocks * var;
  return within / ((n_var + n_mean * n_mean - n_mean) / 2);
}

}  // namespace

// =============================================================================================
TEST_CASE("PATTERN: many-graph layout, sizes, pattern of 20 per graph, features, split") {
  const PatternParams p{300, 60, 60, 7};
  const Dataset d = generate_pattern(p);
  CHECK(d.name == "pattern");
  CHECK(d.task == Task::NodeClassification);
  CHECK(d.num_classes == 2);
  CHECK(d.num_graphs == 420);
  check_split(d, 300, 60, 60);
  const std::vector<Pair> pairs = checked_pairs(d);
  const std::vector<int64_t> first = graph_ranges(d);
  const std::vector<int32_t> col = one_hot_columns(d);
  REQUIRE(d.num_features() == 3);
  REQUIRE(d.labels.size() == static_cast<size_t>(d.num_nodes));
  int64_t smallest = 1 << 30, largest = 0;
  bool pattern_20 = true;
  std::vector<int64_t> value_count(3, 0);
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    const int64_t n = first[static_cast<size_t>(g) + 1] - first[static_cast<size_t>(g)];
    smallest = std::min(smallest, n), largest = std::max(largest, n);
    int ones = 0;
    for (int64_t v = first[static_cast<size_t>(g)]; v < first[static_cast<size_t>(g) + 1]; ++v) {
      ones += d.labels[static_cast<size_t>(v)];
      if (d.labels[static_cast<size_t>(v)] == 0) ++value_count[static_cast<size_t>(col[static_cast<size_t>(v)])];
    }
    pattern_20 = pattern_20 && ones == 20;
  }
  CHECK(pattern_20);
  // 5 blocks of 5..34 nodes plus 20: 45..190; over 420 graphs the extremes come close.
  CHECK(smallest >= 5 * 5 + 20);
  CHECK(largest <= 5 * 34 + 20);
  CHECK(smallest < 90);
  CHECK(largest > 150);
  // Labels are exactly 0 / 1; G features uniform over {0, 1, 2}: each ~1/3 of ~41000 (sd ~95).
  CHECK(std::all_of(d.labels.begin(), d.labels.end(), [](int32_t l) { return l == 0 || l == 1; }));
  const double g_nodes = static_cast<double>(value_count[0] + value_count[1] + value_count[2]);
  CHECK(g_nodes == doctest::Approx(420 * 97.5).epsilon(0.05));
  for (int64_t c : value_count) CHECK(std::abs(static_cast<double>(c) / g_nodes - 1.0 / 3) < 0.01);
  // The node order is shuffled: pattern nodes are not all at the end of their graph.
  int tail_patterns = 0;
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    bool tail = true;
    for (int64_t v = first[static_cast<size_t>(g) + 1] - 20; v < first[static_cast<size_t>(g) + 1]; ++v)
      tail = tail && d.labels[static_cast<size_t>(v)] == 1;
    tail_patterns += tail;
  }
  CHECK(tail_patterns == 0);
  CHECK(pairs.size() > 420 * 2000);
}

TEST_CASE("PATTERN: edge densities match p = 0.5, q = 0.35 and the pattern's p_P = q_P = 0.5") {
  // Pooled over 600 graphs: ~2.9M G-G pairs, ~1.2M pattern-G pairs, 114000 pattern pairs.
  const PatternParams p{400, 100, 100, 3};
  const Dataset d = generate_pattern(p);
  const std::vector<int64_t> first = graph_ranges(d);
  double gg_pairs = 0, pg_pairs = 0, pp_pairs = 0, gg_edges = 0, pg_edges = 0, pp_edges = 0;
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    const double n = static_cast<double>(first[static_cast<size_t>(g) + 1] - first[static_cast<size_t>(g)]);
    const double k = 20, n_g = n - k;
    gg_pairs += n_g * (n_g - 1) / 2, pg_pairs += n_g * k, pp_pairs += k * (k - 1) / 2;
  }
  for (auto [a, b] : checked_pairs(d)) {
    const int ones = d.labels[static_cast<size_t>(a)] + d.labels[static_cast<size_t>(b)];
    (ones == 0 ? gg_edges : ones == 1 ? pg_edges : pp_edges) += 1;
  }
  // G-G pairs mix within blocks (p) and across (q): expected 0.5 w + 0.35 (1 - w), w ~ 0.2227,
  // i.e. ~0.383; swapping p and q gives ~0.467, q = 0.2 (the notebook) ~0.267.
  const double w = within_share(5, 5, 34);
  CHECK(w == doctest::Approx(0.2227).epsilon(0.01));
  CHECK(gg_edges / gg_pairs == doctest::Approx(0.5 * w + 0.35 * (1 - w)).epsilon(0.02));
  CHECK(pg_edges / pg_pairs == doctest::Approx(0.5).epsilon(0.02));
  CHECK(pp_edges / pp_pairs == doctest::Approx(0.5).epsilon(0.04));
}

TEST_CASE("PATTERN: p_pattern and q_pattern reach the pattern edges they name; instances repeat") {
  PatternParams p{200, 40, 40, 5};
  p.p_pattern = 0.85, p.q_pattern = 0.1, p.patterns = 10;
  const Dataset d = generate_pattern(p);
  const std::vector<int64_t> first = graph_ranges(d);
  double pg_pairs = 0, pg_edges = 0, pp_edges = 0;
  std::vector<int64_t> pp_per_graph(static_cast<size_t>(d.num_graphs), 0);
  std::vector<std::multiset<int32_t>> pattern_features(static_cast<size_t>(d.num_graphs));
  const std::vector<int32_t> col = one_hot_columns(d);
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    pg_pairs += 20.0 * static_cast<double>(first[static_cast<size_t>(g) + 1] - first[static_cast<size_t>(g)] - 20);
    for (int64_t v = first[static_cast<size_t>(g)]; v < first[static_cast<size_t>(g) + 1]; ++v)
      if (d.labels[static_cast<size_t>(v)] == 1)
        pattern_features[static_cast<size_t>(g)].insert(col[static_cast<size_t>(v)]);
  }
  for (auto [a, b] : checked_pairs(d)) {
    const int ones = d.labels[static_cast<size_t>(a)] + d.labels[static_cast<size_t>(b)];
    if (ones == 1) pg_edges += 1;
    if (ones == 2) pp_edges += 1, ++pp_per_graph[static_cast<size_t>(d.graph_of[static_cast<size_t>(a)])];
  }
  CHECK(pg_edges / pg_pairs == doctest::Approx(0.1).epsilon(0.05));
  CHECK(pp_edges / (280 * 190.0) == doctest::Approx(0.85).epsilon(0.03));
  // 10 instances: train graphs 20i .. 20i+19 share instance i (same pattern edges and features),
  // val / test graphs 4i .. 4i+3 too; and the instance's val / test graphs match its train graphs.
  bool repeat = true;
  int differ = 0;
  for (int i = 0; i < 10; ++i) {
    const size_t t0 = static_cast<size_t>(20 * i);
    for (size_t g : {t0 + 1, t0 + 19, static_cast<size_t>(200 + 4 * i), static_cast<size_t>(243 + 4 * i)})
      repeat = repeat && pp_per_graph[g] == pp_per_graph[t0] && pattern_features[g] == pattern_features[t0];
    if (i > 0) differ += pp_per_graph[t0] != pp_per_graph[t0 - 20] || pattern_features[t0] != pattern_features[t0 - 20];
  }
  CHECK(repeat);
  CHECK(differ >= 7);
}

TEST_CASE("PATTERN: same seed and 1 or 2 threads give the same graphs; another seed others") {
  const PatternParams p{150, 20, 30, 11};  // 200 graphs: the parallel path (>= 64 graphs)
  const Dataset one = with_threads(1, [&] { return generate_pattern(p); });
  const Dataset two = with_threads(2, [&] { return generate_pattern(p); });
  check_same(one, two);
  PatternParams q = p;
  q.seed = 12;
  const Dataset other = generate_pattern(q);
  CHECK(other.src != one.src);
  CHECK(other.labels != one.labels);
}

TEST_CASE("PATTERN: the default sizes are 10000 / 2000 / 2000 graphs") {
  const PatternParams p;
  CHECK(p.train_graphs == 10000);
  CHECK(p.val_graphs == 2000);
  CHECK(p.test_graphs == 2000);
  CHECK(p.patterns == 100);
  // Scaled down to one train and one val graph, no test graph.
  const Dataset d = generate_pattern(PatternParams{1, 1, 0, 0});
  check_split(d, 1, 1, 0);
  checked_pairs(d);
}

TEST_CASE("PATTERN: parameter errors name the option") {
  CHECK(input_error_of([] { generate_pattern(PatternParams{0, 0, 0, 0}); }).find("--train-graphs") != std::string::npos);
  CHECK(input_error_of([] { generate_pattern(PatternParams{-1, 0, 0, 0}); }).find("--train-graphs") != std::string::npos);
  PatternParams p{10, 2, 2, 0};
  p.q = 1.5;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("--q") != std::string::npos);
  p = PatternParams{10, 2, 2, 0};
  p.min_size = 10, p.max_size = 9;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("--max-size") != std::string::npos);
  p = PatternParams{10, 2, 2, 0};
  p.pattern_size = 0;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("--pattern-size") != std::string::npos);
  p = PatternParams{10, 2, 2, 0};
  p.q_pattern = -0.1;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("--q-pattern") != std::string::npos);
  p = PatternParams{10, 2, 2, 0};
  p.patterns = 0;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("--patterns") != std::string::npos);
  p = PatternParams{10, 2, 2, 0};
  p.communities = 5000;
  CHECK(input_error_of([&] { generate_pattern(p); }).find("nodes per graph") != std::string::npos);
}

// =============================================================================================
TEST_CASE("CLUSTER: layout, block sizes, one labelled node per community, split") {
  const ClusterParams p{200, 50, 50, 4};
  const Dataset d = generate_cluster(p);
  CHECK(d.name == "cluster");
  CHECK(d.task == Task::NodeClassification);
  CHECK(d.num_classes == 6);
  check_split(d, 200, 50, 50);
  checked_pairs(d);
  const std::vector<int64_t> first = graph_ranges(d);
  const std::vector<int32_t> col = one_hot_columns(d);
  REQUIRE(d.num_features() == 7);
  bool sizes_ok = true, one_seed_per_block = true, seed_in_block = true;
  int64_t smallest_block = 1 << 30, largest_block = 0;
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    std::vector<int> size(6, 0), seeds(6, 0);
    for (int64_t v = first[static_cast<size_t>(g)]; v < first[static_cast<size_t>(g) + 1]; ++v) {
      const int32_t l = d.labels[static_cast<size_t>(v)], f = col[static_cast<size_t>(v)];
      REQUIRE(l >= 0);
      REQUIRE(l < 6);
      ++size[static_cast<size_t>(l)];
      if (f != 0) ++seeds[static_cast<size_t>(f - 1)], seed_in_block = seed_in_block && f == l + 1;
    }
    for (int r = 0; r < 6; ++r) {
      sizes_ok = sizes_ok && size[static_cast<size_t>(r)] >= 5 && size[static_cast<size_t>(r)] <= 34;
      one_seed_per_block = one_seed_per_block && seeds[static_cast<size_t>(r)] == 1;
      smallest_block = std::min<int64_t>(smallest_block, size[static_cast<size_t>(r)]);
      largest_block = std::max<int64_t>(largest_block, size[static_cast<size_t>(r)]);
    }
  }
  CHECK(sizes_ok);
  CHECK(one_seed_per_block);
  CHECK(seed_in_block);
  CHECK(smallest_block == 5);  // 1800 draws from 30 values: both ends appear
  CHECK(largest_block == 34);
  // Shuffled node order: labels are not sorted inside most graphs.
  int sorted_graphs = 0;
  for (int64_t g = 0; g < d.num_graphs; ++g)
    sorted_graphs += std::is_sorted(d.labels.begin() + first[static_cast<size_t>(g)],
                                    d.labels.begin() + first[static_cast<size_t>(g) + 1]);
  CHECK(sorted_graphs == 0);
}

TEST_CASE("CLUSTER: within-community density ~ p = 0.55, across ~ q = 0.25") {
  const ClusterParams p{250, 25, 25, 9};
  const Dataset d = generate_cluster(p);
  const std::vector<int64_t> first = graph_ranges(d);
  double in_pairs = 0, out_pairs = 0, in_edges = 0, out_edges = 0;
  for (int64_t g = 0; g < d.num_graphs; ++g) {
    std::vector<double> size(6, 0);
    for (int64_t v = first[static_cast<size_t>(g)]; v < first[static_cast<size_t>(g) + 1]; ++v)
      size[static_cast<size_t>(d.labels[static_cast<size_t>(v)])] += 1;
    double n = 0;
    for (double s : size) in_pairs += s * (s - 1) / 2, n += s;
    out_pairs += n * (n - 1) / 2;
  }
  out_pairs -= in_pairs;
  for (auto [a, b] : checked_pairs(d))
    (d.labels[static_cast<size_t>(a)] == d.labels[static_cast<size_t>(b)] ? in_edges : out_edges) += 1;
  // ~390K within and ~1.4M across pairs: binomial sd below 0.001.
  CHECK(std::abs(in_edges / in_pairs - 0.55) < 0.01);
  CHECK(std::abs(out_edges / out_pairs - 0.25) < 0.01);
}

TEST_CASE("CLUSTER: deterministic for a seed and 1 or 2 threads; other seeds and sizes") {
  const ClusterParams p{100, 10, 10, 21};
  const Dataset one = with_threads(1, [&] { return generate_cluster(p); });
  const Dataset two = with_threads(2, [&] { return generate_cluster(p); });
  check_same(one, two);
  const Dataset other = generate_cluster(ClusterParams{100, 10, 10, 22});
  CHECK(other.src != one.src);
  CHECK(other.labels != one.labels);
  const ClusterParams def;
  CHECK(def.train_graphs == 10000);
  CHECK(def.val_graphs == 1000);
  CHECK(def.test_graphs == 1000);
  // Fixed sizes, p = 1, q = 0: 3 disjoint cliques of 4 per graph.
  ClusterParams c{5, 0, 0, 1};
  c.communities = 3, c.min_size = 4, c.max_size = 4, c.p = 1, c.q = 0;
  const Dataset cliques = generate_cluster(c);
  CHECK(cliques.num_nodes == 60);
  const auto pairs = checked_pairs(cliques);
  CHECK(pairs.size() == 5 * 3 * 6);
  for (auto [a, b] : pairs) CHECK(cliques.labels[static_cast<size_t>(a)] == cliques.labels[static_cast<size_t>(b)]);
}

TEST_CASE("CLUSTER: parameter errors name the option") {
  ClusterParams p{10, 2, 2, 0};
  p.p = std::nan("");
  CHECK(input_error_of([&] { generate_cluster(p); }).find("--p ") != std::string::npos);
  p = ClusterParams{10, 2, 2, 0};
  p.communities = 0;
  CHECK(input_error_of([&] { generate_cluster(p); }).find("--communities") != std::string::npos);
  p = ClusterParams{10, 2, 2, 0};
  p.min_size = 0;
  CHECK(input_error_of([&] { generate_cluster(p); }).find("--min-size") != std::string::npos);
  CHECK(input_error_of([] { generate_cluster(ClusterParams{10, -2, 2, 0}); }).find("--val-graphs") != std::string::npos);
}

// =============================================================================================
namespace {

// Adjacency lists of graph g (local ids) of a CSL Dataset with n nodes per graph.
std::vector<std::vector<int32_t>> local_adjacency(const Dataset& d, int64_t g, int32_t n) {
  std::vector<std::vector<int32_t>> adj(static_cast<size_t>(n));
  for (size_t e = 0; e < d.src.size(); ++e)
    if (d.graph_of[static_cast<size_t>(d.src[e])] == g)
      adj[static_cast<size_t>(d.src[e] - g * n)].push_back(static_cast<int32_t>(d.dst[e] - g * n));
  for (auto& a : adj) std::sort(a.begin(), a.end());
  return adj;
}

bool adjacent(const std::vector<std::vector<int32_t>>& adj, int32_t a, int32_t b) {
  return std::binary_search(adj[static_cast<size_t>(a)].begin(), adj[static_cast<size_t>(a)].end(), b);
}

// Is `adj` G_skip(n, s) up to relabelling? Backtracking map phi from the base labelling (i ~ i±1,
// i±s) onto adj, in BFS order of the base graph, with phi(0) = 0 (circulants are vertex-transitive);
// each new node must agree with every mapped node on adjacency.
bool isomorphic_to_csl(const std::vector<std::vector<int32_t>>& adj, int32_t n, int32_t s) {
  auto base_adj = [&](int32_t a, int32_t b) {
    const int32_t d = ((a - b) % n + n) % n;
    return d == 1 || d == n - 1 || d == s || d == n - s;
  };
  std::vector<int32_t> order{0}, parent{-1};
  std::vector<char> queued(static_cast<size_t>(n), 0);
  queued[0] = 1;
  for (size_t i = 0; i < order.size(); ++i)
    for (int32_t off : {1, n - 1, s, n - s}) {
      const int32_t w = (order[i] + off) % n;
      if (!queued[static_cast<size_t>(w)]) queued[static_cast<size_t>(w)] = 1, order.push_back(w), parent.push_back(order[i]);
    }
  if (static_cast<int32_t>(order.size()) != n) return false;
  std::vector<int32_t> phi(static_cast<size_t>(n), -1);
  std::vector<char> used(static_cast<size_t>(n), 0);
  std::function<bool(size_t)> place = [&](size_t i) {
    if (i == order.size()) return true;
    const int32_t u = order[i];
    std::vector<int32_t> candidates;
    if (i == 0)
      candidates = {0};
    else
      candidates = adj[static_cast<size_t>(phi[static_cast<size_t>(parent[i])])];
    for (int32_t x : candidates) {
      if (used[static_cast<size_t>(x)]) continue;
      bool ok = true;
      for (size_t j = 0; j < i && ok; ++j)
        ok = base_adj(u, order[j]) == adjacent(adj, x, phi[static_cast<size_t>(order[j])]);
      if (!ok) continue;
      phi[static_cast<size_t>(u)] = x, used[static_cast<size_t>(x)] = 1;
      if (place(i + 1)) return true;
      phi[static_cast<size_t>(u)] = -1, used[static_cast<size_t>(x)] = 0;
    }
    return false;
  };
  return place(0);
}

}  // namespace

TEST_CASE("CSL: 150 graphs of 41 nodes, 4-regular, constant feature, graph labels") {
  const Dataset d = generate_csl(CslParams{});
  CHECK(d.name == "csl");
  CHECK(d.task == Task::GraphClassification);
  CHECK(d.num_graphs == 150);
  CHECK(d.num_nodes == 150 * 41);
  CHECK(d.num_edges() == 150 * 164);
  CHECK(d.labels.empty());
  CHECK(d.train.empty());
  CHECK(d.num_graph_classes == 10);
  REQUIRE(d.graph_labels.size() == 150);
  for (int64_t g = 0; g < 150; ++g) CHECK(d.graph_labels[static_cast<size_t>(g)] == g / 15);
  const std::vector<int64_t> first = graph_ranges(d);
  for (int64_t g = 0; g <= 150; ++g) CHECK(first[static_cast<size_t>(g)] == 41 * g);
  checked_pairs(d);
  REQUIRE(d.num_features() == 1);
  const std::vector<int32_t> col = one_hot_columns(d);
  CHECK(std::all_of(col.begin(), col.end(), [](int32_t c) { return c == 0; }));
  std::vector<int> degree(static_cast<size_t>(d.num_nodes), 0);
  for (int32_t s : d.src) ++degree[static_cast<size_t>(s)];
  CHECK(std::all_of(degree.begin(), degree.end(), [](int k) { return k == 4; }));
}

TEST_CASE("CSL: the skip structure, relabelled by the first lexicographic permutations") {
  const CslParams p;
  const Dataset d = generate_csl(p);
  const int32_t n = 41;
  const std::vector<int32_t> skips{2, 3, 4, 5, 6, 9, 11, 12, 13, 16};
  bool first_is_base = true, relabelled = true, all_distinct = true;
  for (int c = 0; c < 10; ++c) {
    const int32_t s = skips[static_cast<size_t>(c)];
    // Graph 0 of each class: node i adjacent to exactly i±1 and i±s (mod 41).
    const auto adj0 = local_adjacency(d, 15 * c, n);
    for (int32_t i = 0; i < n; ++i) {
      std::vector<int32_t> want{(i + 1) % n, (i + n - 1) % n, (i + s) % n, (i + n - s) % n};
      std::sort(want.begin(), want.end());
      first_is_base = first_is_base && adj0[static_cast<size_t>(i)] == want;
    }
    // Graph k: graph 0 relabelled by the k-th permutation of 0..40 in lexicographic order (none
    // of the first 14 is an automorphism, so none is skipped).
    std::vector<int32_t> pi(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) pi[static_cast<size_t>(i)] = i;
    std::set<std::vector<std::vector<int32_t>>> seen;
    for (int k = 0; k < 15; ++k) {
      if (k > 0) std::next_permutation(pi.begin(), pi.end());
      std::vector<std::vector<int32_t>> want(static_cast<size_t>(n));
      for (int32_t i = 0; i < n; ++i)
        for (int32_t j : adj0[static_cast<size_t>(i)]) want[static_cast<size_t>(pi[static_cast<size_t>(i)])].push_back(pi[static_cast<size_t>(j)]);
      for (auto& a : want) std::sort(a.begin(), a.end());
      const auto adj = local_adjacency(d, 15 * c + k, n);
      relabelled = relabelled && adj == want;
      all_distinct = all_distinct && seen.insert(adj).second;
    }
  }
  CHECK(first_is_base);
  CHECK(relabelled);
  CHECK(all_distinct);
}

TEST_CASE("CSL: random relabellings stay in their isomorphism class") {
  CslParams p;
  p.random_relabel = true, p.seed = 4;
  const Dataset d = generate_csl(p);
  const std::vector<int32_t> skips{2, 3, 4, 5, 6, 9, 11, 12, 13, 16};
  bool own_class = true, not_other = true;
  int moved = 0;
  for (int64_t g = 0; g < 150; g += 7) {
    const int c = static_cast<int>(g / 15);
    const auto adj = local_adjacency(d, g, 41);
    own_class = own_class && isomorphic_to_csl(adj, 41, skips[static_cast<size_t>(c)]);
    not_other = not_other && !isomorphic_to_csl(adj, 41, skips[static_cast<size_t>((c + 1) % 10)]);
    moved += !adjacent(adj, 0, 1) || !adjacent(adj, 5, 6);
  }
  CHECK(own_class);
  CHECK(not_other);
  CHECK(moved >= 15);  // 22 graphs checked; random relabellings rarely keep 0~1 and 5~6
}

TEST_CASE("CSL: stratified 5-fold cross-validation, 9/3/3 graphs per class") {
  CslParams p;
  std::vector<int> tested(150, 0), validated(150, 0);
  std::vector<int32_t> fold0_test;
  for (int32_t f = 0; f < 5; ++f) {
    p.fold = f;
    const Dataset d = generate_csl(p);
    std::vector<int> per_class_train(10, 0), per_class_val(10, 0), per_class_test(10, 0);
    for (int32_t g : d.train_graphs) ++per_class_train[static_cast<size_t>(d.graph_labels[static_cast<size_t>(g)])];
    for (int32_t g : d.val_graphs) ++per_class_val[static_cast<size_t>(d.graph_labels[static_cast<size_t>(g)])], ++validated[static_cast<size_t>(g)];
    for (int32_t g : d.test_graphs) ++per_class_test[static_cast<size_t>(d.graph_labels[static_cast<size_t>(g)])], ++tested[static_cast<size_t>(g)];
    for (int c = 0; c < 10; ++c) {
      CHECK(per_class_train[static_cast<size_t>(c)] == 9);
      CHECK(per_class_val[static_cast<size_t>(c)] == 3);
      CHECK(per_class_test[static_cast<size_t>(c)] == 3);
    }
    std::vector<int32_t> all = d.train_graphs;
    all.insert(all.end(), d.val_graphs.begin(), d.val_graphs.end());
    all.insert(all.end(), d.test_graphs.begin(), d.test_graphs.end());
    std::sort(all.begin(), all.end());
    CHECK(all.size() == 150);
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    CHECK(std::is_sorted(d.test_graphs.begin(), d.test_graphs.end()));
    if (f == 0) fold0_test = d.test_graphs;
  }
  // Each graph is tested in exactly one fold (and validated in exactly one).
  CHECK(std::all_of(tested.begin(), tested.end(), [](int t) { return t == 1; }));
  CHECK(std::all_of(validated.begin(), validated.end(), [](int t) { return t == 1; }));
  // Another seed draws other folds; the graphs themselves do not depend on the seed.
  p.fold = 0, p.seed = 99;
  const Dataset other = generate_csl(p);
  CHECK(other.test_graphs != fold0_test);
  const Dataset base = generate_csl(CslParams{});
  CHECK(other.src == base.src);
  // Thread counts do not matter.
  const Dataset one = with_threads(1, [] { return generate_csl(CslParams{}); });
  const Dataset two = with_threads(2, [] { return generate_csl(CslParams{}); });
  check_same(one, two);
}

TEST_CASE("CSL: parameter errors name the option") {
  CslParams p;
  p.fold = 5;
  CHECK(input_error_of([&] { generate_csl(p); }).find("--fold") != std::string::npos);
  p = CslParams{};
  p.skips = {2, 39};  // 39 = 41 - 2: the same graph
  CHECK(input_error_of([&] { generate_csl(p); }).find("isomorphic") != std::string::npos);
  p = CslParams{};
  p.skips = {1};
  CHECK(input_error_of([&] { generate_csl(p); }).find("--skips") != std::string::npos);
  p = CslParams{};
  p.nodes = 40, p.skips = {2};
  CHECK(input_error_of([&] { generate_csl(p); }).find("coprime") != std::string::npos);
  p = CslParams{};
  p.skips.clear();
  CHECK(input_error_of([&] { generate_csl(p); }).find("--skips") != std::string::npos);
  p = CslParams{};
  p.graphs_per_class = 4;
  CHECK(input_error_of([&] { generate_csl(p); }).find("--graphs-per-class") != std::string::npos);
}
