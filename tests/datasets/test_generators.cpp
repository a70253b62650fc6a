// Synthetic graph generators (random G(n, m), R-MAT, SBM, grid, connected caveman), the generated
// built-ins, and the dataset writer: exact counts, simple symmetric edge lists, determinism
// across seeds and thread counts, connectedness, SBM edge statistics, and write/load round trips.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <queue>
#include <set>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/builtin.hpp"
#include "datasets/generators.hpp"
#include "datasets/graph_generators.hpp"
#include "datasets/loader.hpp"
#include "datasets/writer.hpp"
#include "tests/datasets/temp_files.hpp"
#include "tests/testing/errors.hpp"
#include "tests/testing/paths.hpp"
#include "tests/testing/threads.hpp"

using namespace locus;
using locus::testing::input_error_of;
using locus::testing::with_threads;
namespace fs = std::filesystem;

namespace {

using Pair = std::pair<int32_t, int32_t>;

// The undirected pairs of a generated Dataset, checking its layout on the way: edge 2i is a->b
// with a < b, edge 2i+1 its reverse, pairs strictly increasing (so no duplicates), no self loops.
std::vector<Pair> checked_pairs(const Dataset& d) {
  REQUIRE(d.src.size() == d.dst.size());
  REQUIRE(d.src.size() % 2 == 0);
  CHECK_FALSE(d.directed);
  CHECK(d.weight.empty());
  std::vector<Pair> pairs;
  bool layout = true, increasing = true, in_range = true;
  for (size_t e = 0; e < d.src.size(); e += 2) {
    const int32_t a = d.src[e], b = d.dst[e];
    layout = layout && a < b && d.src[e + 1] == b && d.dst[e + 1] == a;
    in_range = in_range && a >= 0 && b < d.num_nodes;
    if (!pairs.empty()) increasing = increasing && pairs.back() < Pair(a, b);
    pairs.emplace_back(a, b);
  }
  CHECK(layout);
  CHECK(increasing);
  CHECK(in_range);
  CHECK(d.num_input_edges == static_cast<int64_t>(pairs.size()));
  return pairs;
}

bool connected(const Dataset& d) {
  std::vector<std::vector<int32_t>> adj(static_cast<size_t>(d.num_nodes));
  for (size_t e = 0; e < d.src.size(); ++e) adj[static_cast<size_t>(d.src[e])].push_back(d.dst[e]);
  std::vector<char> seen(static_cast<size_t>(d.num_nodes), 0);
  std::queue<int32_t> q;
  q.push(0);
  seen[0] = 1;
  int64_t reached = 1;
  while (!q.empty()) {
    const int32_t v = q.front();
    q.pop();
    for (int32_t u : adj[static_cast<size_t>(v)])
      if (!seen[static_cast<size_t>(u)]) seen[static_cast<size_t>(u)] = 1, ++reached, q.push(u);
  }
  return reached == d.num_nodes;
}

// Labels cover 0..C-1 and the split is a stratified 60/20/rest partition of all nodes.
void check_labels_and_split(const Dataset& d) {
  REQUIRE(static_cast<int64_t>(d.labels.size()) == d.num_nodes);
  std::vector<int64_t> per_class(static_cast<size_t>(d.num_classes), 0), train_per_class = per_class;
  for (int32_t l : d.labels) {
    REQUIRE(l >= 0);
    REQUIRE(l < d.num_classes);
    ++per_class[static_cast<size_t>(l)];
  }
  std::vector<int32_t> all;
  for (const auto* part : {&d.train, &d.val, &d.test}) {
    CHECK(std::is_sorted(part->begin(), part->end()));
    all.insert(all.end(), part->begin(), part->end());
  }
  std::sort(all.begin(), all.end());
  CHECK(static_cast<int64_t>(all.size()) == d.num_nodes);
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  for (int32_t v : d.train) ++train_per_class[static_cast<size_t>(d.labels[static_cast<size_t>(v)])];
  for (size_t c = 0; c < per_class.size(); ++c)
    CHECK(train_per_class[c] == std::llround(0.6 * static_cast<double>(per_class[c])));
}

bool same_features(const SpMat& a, const SpMat& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  for (Eigen::Index r = 0; r < a.outerSize(); ++r) {
    SpMat::InnerIterator ia(a, r), ib(b, r);
    for (; ia && ib; ++ia, ++ib) {
      const float x = ia.value(), y = ib.value();
      if (ia.col() != ib.col() || std::memcmp(&x, &y, sizeof x) != 0) return false;
    }
    if (ia || ib) return false;
  }
  return true;
}

// Every field but `source`; the input-file counters only when `input_counts`.
void check_same(const Dataset& a, const Dataset& b, bool input_counts = true) {
  CHECK(a.name == b.name);
  CHECK(a.task == b.task);
  CHECK(a.directed == b.directed);
  CHECK(a.num_nodes == b.num_nodes);
  CHECK(a.src == b.src);
  CHECK(a.dst == b.dst);
  CHECK(a.weight == b.weight);
  if (input_counts) {
    CHECK(a.num_input_edges == b.num_input_edges);
    CHECK(a.num_duplicates_merged == b.num_duplicates_merged);
    CHECK(a.num_self_loops_dropped == b.num_self_loops_dropped);
  }
  CHECK(same_features(a.features, b.features));
  CHECK(a.features_dense == b.features_dense);
  CHECK(a.labels == b.labels);
  CHECK(a.num_classes == b.num_classes);
  CHECK(a.label_names == b.label_names);
  CHECK(a.train == b.train);
  CHECK(a.val == b.val);
  CHECK(a.test == b.test);
  CHECK(a.node_names == b.node_names);
}

Dataset round_trip(const Dataset& d, const testing::TempDir& tmp, const std::string& sub = "out") {
  write_dataset(d, tmp.path(sub));
  return load_dataset_yaml(tmp.path(sub) + "/dataset.yaml");
}



}  // namespace

// ---------------------------------------------------------------------------------------------
TEST_CASE("random G(n, m): exactly m simple undirected edges, labels, split") {
  RandomGraphParams p;
  p.nodes = 3000, p.edges = 20000, p.classes = 7, p.features = 0, p.seed = 3;
  const Dataset d = generate_random(p);
  CHECK(d.name == "random");
  CHECK(d.task == Task::NodeClassification);
  CHECK(d.num_nodes == 3000);
  CHECK(d.num_edges() == 40000);
  CHECK(checked_pairs(d).size() == 20000);
  CHECK(d.num_classes == 7);
  CHECK(d.num_features() == 0);
  CHECK(d.features.rows() == 3000);
  check_labels_and_split(d);
  // Uniform labels: each of 7 classes holds about 3000/7 = 429 nodes (sd ~19).
  std::vector<int> count(7, 0);
  for (int32_t l : d.labels) ++count[static_cast<size_t>(l)];
  for (int c : count) CHECK(std::abs(c - 429) < 120);
  // Uniform pairs: the mean degree is 2m/n = 13.3 and no node is far above it.
  std::vector<int> deg(3000, 0);
  for (int32_t s : d.src) ++deg[static_cast<size_t>(s)];
  CHECK(*std::max_element(deg.begin(), deg.end()) < 40);
}

TEST_CASE("random G(n, m): same seed and any thread count give the same graph; another seed another") {
  // Large enough that every loop runs in parallel (kParallelMin = 65536 items).
  RandomGraphParams p;
  p.nodes = 70000, p.edges = 150000, p.classes = 4, p.features = 2, p.seed = 11;
  const Dataset one = with_threads(1, [&] { return generate_random(p); });
  const Dataset two = with_threads(2, [&] { return generate_random(p); });
  const Dataset five = with_threads(5, [&] { return generate_random(p); });
  check_same(one, two);
  check_same(one, five);
  p.seed = 12;
  const Dataset other = generate_random(p);
  CHECK(other.src != one.src);
  CHECK(other.labels != one.labels);
  CHECK(other.train != one.train);
}

TEST_CASE("R-MAT: exactly m simple edges, a heavy-tailed degree distribution, seeded, any thread count") {
  RandomGraphParams p;
  p.nodes = 70000, p.edges = 150000, p.classes = 4, p.features = 2, p.seed = 5;
  const Dataset d = with_threads(1, [&] { return generate_rmat(p); });
  CHECK(d.name == "rmat");
  CHECK(checked_pairs(d).size() == 150000);
  check_labels_and_split(d);
  check_same(d, with_threads(2, [&] { return generate_rmat(p); }));
  // Power law: the mean degree is 2m/n = 4.3, yet hubs hold hundreds of edges and half of the nodes
  // at most 1 (G(n, m) of the same size: max ≈ 15, median 4).
  std::vector<int> deg(static_cast<size_t>(p.nodes), 0);
  for (int32_t s : d.src) ++deg[static_cast<size_t>(s)];
  std::vector<int> sorted = deg;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted.back() > 300);
  CHECK(sorted[sorted.size() / 2] <= 1);
  // Relabelled: the hubs are spread over the ids, not at the low ids R-MAT's quadrants favour.
  int64_t hub_ids = 0, hubs = 0;
  for (int64_t v = 0; v < p.nodes; ++v)
    if (deg[static_cast<size_t>(v)] > 50) hub_ids += v, ++hubs;
  REQUIRE(hubs > 10);
  CHECK(static_cast<double>(hub_ids) / static_cast<double>(hubs) > p.nodes / 4.0);
  p.seed = 6;
  CHECK(generate_rmat(p).src != d.src);
  // Too dense to stay skewed: refused, naming --edges.
  p.nodes = 100, p.edges = 1300;  // > 4950 / 4
  const std::string err = input_error_of([&] { (void)generate_rmat(p); });
  CHECK(err.find("edges") != std::string::npos);
  CHECK(err.find("1237") != std::string::npos);
}

TEST_CASE("random G(n, m): small, dense and complete graphs") {
  RandomGraphParams p;
  p.classes = 2, p.features = 0;
  SUBCASE("dense: more than half of all pairs (complement sampling)") {
    p.nodes = 12, p.edges = 50;  // of 66
    const auto pairs = checked_pairs(generate_random(p));
    CHECK(pairs.size() == 50);
  }
  SUBCASE("complete") {
    p.nodes = 10, p.edges = 45;
    const auto pairs = checked_pairs(generate_random(p));
    REQUIRE(pairs.size() == 45);
    CHECK(pairs.front() == Pair(0, 1));
    CHECK(pairs.back() == Pair(8, 9));
  }
  SUBCASE("half of all pairs, where duplicates are frequent") {
    p.nodes = 40, p.edges = 390;  // of 780
    CHECK(checked_pairs(generate_random(p)).size() == 390);
  }
  SUBCASE("no edges") {
    p.nodes = 5, p.edges = 0;
    const Dataset d = generate_random(p);
    CHECK(d.num_edges() == 0);
    CHECK(d.num_nodes == 5);
  }
}

TEST_CASE("random G(n, m): every pair is about equally likely") {
  // 20 nodes, 190 pairs, 40 edges per graph; over 400 seeds each pair appears ~84 times (sd ~8.2).
  std::vector<int> hits(20 * 20, 0);
  RandomGraphParams p;
  p.nodes = 20, p.edges = 40, p.classes = 2, p.features = 0;
  for (uint64_t s = 0; s < 400; ++s) {
    p.seed = s;
    for (auto [a, b] : checked_pairs(generate_random(p))) ++hits[static_cast<size_t>(a * 20 + b)];
  }
  int lo = 1 << 30, hi = 0;
  for (int a = 0; a < 20; ++a)
    for (int b = a + 1; b < 20; ++b)
      lo = std::min(lo, hits[static_cast<size_t>(a * 20 + b)]),
      hi = std::max(hi, hits[static_cast<size_t>(a * 20 + b)]);
  CHECK(lo > 84 - 45);
  CHECK(hi < 84 + 45);
}

TEST_CASE("random G(n, m): dense features follow the class means") {
  RandomGraphParams p;
  p.nodes = 4000, p.edges = 100, p.classes = 4, p.features = 12, p.seed = 5;
  const Dataset d = generate_random(p);
  CHECK(d.features_dense);
  REQUIRE(d.num_features() == 12);
  const Eigen::MatrixXf x = Eigen::MatrixXf(d.features);
  // Per class and column: mean +-1 (sd of the mean ~1/sqrt(1000) = 0.03), residual variance ~1.
  for (int c = 0; c < 4; ++c)
    for (int j = 0; j < 12; ++j) {
      double sum = 0, sq = 0;
      int cnt = 0;
      for (int v = 0; v < 4000; ++v)
        if (d.labels[static_cast<size_t>(v)] == c) sum += x(v, j), ++cnt;
      const double mean = sum / cnt;
      CHECK(std::abs(std::abs(mean) - 1.0) < 0.15);
      for (int v = 0; v < 4000; ++v)
        if (d.labels[static_cast<size_t>(v)] == c) sq += (x(v, j) - mean) * (x(v, j) - mean);
      CHECK(std::abs(sq / cnt - 1.0) < 0.2);  // sd of the estimate ~0.044
    }
  // Values are whole thousandths.
  for (Eigen::Index i = 0; i < d.features.nonZeros(); ++i) {
    const float v = d.features.valuePtr()[i];
    CHECK(static_cast<float>(std::lround(v * 1000.0)) / 1000.0f == v);
  }
  // A nearest-class-mean rule separates the classes (the signal a model can learn).
  Eigen::MatrixXf means = Eigen::MatrixXf::Zero(4, 12);
  std::vector<int> cnt(4, 0);
  for (int v = 0; v < 4000; ++v)
    means.row(d.labels[static_cast<size_t>(v)]) += x.row(v),
        ++cnt[static_cast<size_t>(d.labels[static_cast<size_t>(v)])];
  for (int c = 0; c < 4; ++c) means.row(c) /= static_cast<float>(cnt[static_cast<size_t>(c)]);
  int correct = 0;
  for (int v = 0; v < 4000; ++v) {
    Eigen::Index best;
    (means.rowwise() - x.row(v)).rowwise().squaredNorm().minCoeff(&best);
    correct += best == d.labels[static_cast<size_t>(v)];
  }
  CHECK(correct > 0.9 * 4000);
}

TEST_CASE("random G(n, m) and R-MAT: bag-of-words features, k ones per row, about half in the class's columns") {
  RandomGraphParams p;
  p.nodes = 3000, p.edges = 4000, p.classes = 6, p.features = 600, p.feature_nnz = 20, p.seed = 3;
  for (const bool rmat : {false, true}) {
    CAPTURE(rmat);
    const Dataset d = rmat ? generate_rmat(p) : generate_random(p);
    CHECK_FALSE(d.features_dense);
    REQUIRE(d.num_features() == 600);
    REQUIRE(d.features.nonZeros() == 3000 * 20);
    int64_t own = 0;
    std::vector<int64_t> column_count(600, 0);
    for (int v = 0; v < 3000; ++v) {
      const int32_t* cols = d.features.innerIndexPtr() + d.features.outerIndexPtr()[v];
      REQUIRE(d.features.outerIndexPtr()[v + 1] - d.features.outerIndexPtr()[v] == 20);
      for (int k = 0; k < 20; ++k) {
        CHECK(d.features.valuePtr()[d.features.outerIndexPtr()[v] + k] == 1.0f);
        if (k > 0) REQUIRE(cols[k - 1] < cols[k]);  // sorted, distinct
        own += cols[k] % 6 == d.labels[static_cast<size_t>(v)];
        ++column_count[static_cast<size_t>(cols[k])];
      }
    }
    // P(own class column) = 1/2 + 1/2 · 1/6 = 7/12 per draw (repeats barely move it at 20 of 600).
    CHECK(static_cast<double>(own) / 60000.0 == doctest::Approx(7.0 / 12.0).epsilon(0.02));
    // Every column is used; none carries more than a few times its share.
    CHECK(*std::min_element(column_count.begin(), column_count.end()) > 0);
    CHECK(*std::max_element(column_count.begin(), column_count.end()) < 4 * 60000 / 600);
    // Same for every thread count.
    const Dataset one = with_threads(1, [&] { return rmat ? generate_rmat(p) : generate_random(p); });
    const Dataset two = with_threads(2, [&] { return rmat ? generate_rmat(p) : generate_random(p); });
    CHECK(std::equal(one.features.innerIndexPtr(), one.features.innerIndexPtr() + one.features.nonZeros(),
                     two.features.innerIndexPtr()));
  }
  // Needs features ≥ classes and k ≤ features / 2, named as the options.
  p.feature_nnz = 301;
  CHECK(input_error_of([&] { generate_random(p); }).find("--feature-nnz") != std::string::npos);
  p.feature_nnz = 2, p.features = 5;
  CHECK(input_error_of([&] { generate_random(p); }).find("--features") != std::string::npos);
}

TEST_CASE("random G(n, m): parameter errors name the option") {
  RandomGraphParams p;
  p.nodes = 10, p.edges = 46;
  std::string msg = input_error_of([&] { generate_random(p); });
  CHECK(msg.find("--edges") != std::string::npos);
  CHECK(msg.find("45") != std::string::npos);
  p.edges = 10, p.classes = 0;
  CHECK(input_error_of([&] { generate_random(p); }).find("--classes") != std::string::npos);
  p.classes = 2, p.nodes = 0;
  CHECK(input_error_of([&] { generate_random(p); }).find("--nodes") != std::string::npos);
  p.nodes = 10, p.features = -1;
  CHECK(input_error_of([&] { generate_random(p); }).find("--features") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("SBM: labels are blocks and edge counts match p_in / p_out") {
  SbmParams p;
  p.block_sizes = {250, 250, 250, 250};
  p.p_in = 0.1, p.p_out = 0.01, p.seed = 1;
  const Dataset d = generate_sbm(p);
  CHECK(d.name == "sbm");
  CHECK(d.num_nodes == 1000);
  CHECK(d.num_classes == 4);
  for (int v = 0; v < 1000; ++v) CHECK(d.labels[static_cast<size_t>(v)] == v / 250);
  check_labels_and_split(d);
  int64_t in = 0, out = 0;
  for (auto [a, b] : checked_pairs(d)) (a / 250 == b / 250 ? in : out)++;
  // Within: 4 * C(250, 2) = 124500 pairs -> 12450 expected (sd 106); across: 375000 -> 3750 (sd 61).
  // Bounds of 5 sd; the within fraction is 12450 / 16200 = 0.769.
  CHECK(std::abs(in - 12450) < 530);
  CHECK(std::abs(out - 3750) < 305);
  const double frac = static_cast<double>(in) / static_cast<double>(in + out);
  CHECK(std::abs(frac - 12450.0 / 16200.0) < 0.03);
  // Edges spread over all block pairs (no stream stuck at the start of its pair range).
  std::set<std::pair<int, int>> block_pairs;
  for (auto [a, b] : checked_pairs(d)) block_pairs.emplace(a / 250, b / 250);
  CHECK(block_pairs.size() == 10);
}

TEST_CASE("SBM: degenerate probabilities give exact graphs") {
  SbmParams p;
  p.block_sizes = {1, 5, 30};
  SUBCASE("p_in 1, p_out 0: disjoint cliques") {
    p.p_in = 1, p.p_out = 0;
    const auto pairs = checked_pairs(generate_sbm(p));
    CHECK(pairs.size() == 0 + 10 + 435);
  }
  SUBCASE("p_in 1, p_out 1: the complete graph") {
    p.p_in = 1, p.p_out = 1;
    CHECK(checked_pairs(generate_sbm(p)).size() == 36 * 35 / 2);
  }
  SUBCASE("p_in 0, p_out 1: complete multipartite") {
    p.p_in = 0, p.p_out = 1;
    CHECK(checked_pairs(generate_sbm(p)).size() == 1 * 5 + 1 * 30 + 5 * 30);
  }
  SUBCASE("no edges") {
    p.p_in = 0, p.p_out = 0;
    CHECK(generate_sbm(p).num_edges() == 0);
  }
}

TEST_CASE("SBM: deterministic for a seed and any thread count; features optional") {
  // About 82000 expected edges: the block streams run in parallel.
  SbmParams p;
  p.block_sizes = std::vector<int64_t>(8, 600);
  p.p_in = 0.05, p.p_out = 0.001, p.features = 6, p.seed = 9;
  const Dataset one = with_threads(1, [&] { return generate_sbm(p); });
  const Dataset three = with_threads(3, [&] { return generate_sbm(p); });
  check_same(one, three);
  CHECK(one.num_features() == 6);
  CHECK(one.features_dense);
  p.seed = 10;
  CHECK(generate_sbm(p).src != one.src);
}

TEST_CASE("SBM: parameter errors") {
  SbmParams p;
  p.p_in = 1.5;
  CHECK(input_error_of([&] { generate_sbm(p); }).find("--p-in") != std::string::npos);
  p.p_in = 0.1, p.p_out = std::nan("");
  CHECK(input_error_of([&] { generate_sbm(p); }).find("--p-out") != std::string::npos);
  p.p_out = 0.1, p.block_sizes = {};
  CHECK(input_error_of([&] { generate_sbm(p); }).find("--blocks") != std::string::npos);
  p.block_sizes = {10, 0};
  CHECK(input_error_of([&] { generate_sbm(p); }).find("--block-size") != std::string::npos);
  p.block_sizes = {100000, 100000}, p.p_in = 1, p.p_out = 1;  // ~2e10 edges
  CHECK(input_error_of([&] { generate_sbm(p); }).find("expected edges") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("grid 20 x 20: 760 edges, exactly the 4-neighbour lattice, quadrant labels") {
  const Dataset d = generate_grid(GridParams{});
  CHECK(d.name == "grid");
  CHECK(d.num_nodes == 400);
  const auto pairs = checked_pairs(d);
  CHECK(pairs.size() == 760);
  std::set<Pair> expected;
  for (int r = 0; r < 20; ++r)
    for (int c = 0; c < 20; ++c) {
      if (c + 1 < 20) expected.emplace(r * 20 + c, r * 20 + c + 1);
      if (r + 1 < 20) expected.emplace(r * 20 + c, (r + 1) * 20 + c);
    }
  CHECK(std::set<Pair>(pairs.begin(), pairs.end()) == expected);
  CHECK(d.num_classes == 4);
  CHECK(d.labels[0] == 0);
  CHECK(d.labels[19] == 1);
  CHECK(d.labels[380] == 2);
  CHECK(d.labels[399] == 3);
  CHECK(d.labels[9 * 20 + 9] == 0);
  CHECK(d.labels[10 * 20 + 10] == 3);
  std::vector<int> count(4, 0);
  for (int32_t l : d.labels) ++count[static_cast<size_t>(l)];
  CHECK(count == std::vector<int>{100, 100, 100, 100});
  check_labels_and_split(d);
  CHECK(d.num_features() == 0);
  CHECK(connected(d));
}

TEST_CASE("grid: other shapes and regions") {
  GridParams p;
  p.rows = 3, p.cols = 7, p.regions = 3;
  const Dataset d = generate_grid(p);
  CHECK(checked_pairs(d).size() == 3 * 6 + 7 * 2);
  CHECK(d.num_classes == 9);
  CHECK(d.labels[0] == 0);
  CHECK(d.labels[20] == 8);  // row 2, col 6
  p.rows = 1, p.cols = 5, p.regions = 1;
  CHECK(checked_pairs(generate_grid(p)).size() == 4);
  p.rows = 1, p.cols = 1;
  CHECK(generate_grid(p).num_edges() == 0);
  p.rows = 4, p.cols = 4, p.regions = 5;
  CHECK(input_error_of([&] { generate_grid(p); }).find("--regions") != std::string::npos);
  p.regions = 2, p.rows = 0;
  CHECK(input_error_of([&] { generate_grid(p); }).find("--rows") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("connected caveman before rewiring: networkx's connected_caveman_graph") {
  CavemanParams p;
  p.communities = 6, p.size = 5, p.p = 0;
  const Dataset d = generate_caveman(p);
  const auto pairs = checked_pairs(d);
  CHECK(pairs.size() == 6 * 5 * 4 / 2);
  std::set<Pair> expected;
  for (int s = 0; s < 30; s += 5) {
    for (int a = s; a < s + 5; ++a)
      for (int b = a + 1; b < s + 5; ++b)
        if (!(a == s && b == s + 1)) expected.emplace(a, b);
    expected.emplace(s == 0 ? Pair(0, 29) : Pair(s - 1, s));
  }
  CHECK(std::set<Pair>(pairs.begin(), pairs.end()) == expected);
  for (int v = 0; v < 30; ++v) CHECK(d.labels[static_cast<size_t>(v)] == v / 5);
  CHECK(d.num_classes == 6);
  CHECK(connected(d));
  check_labels_and_split(d);
}

TEST_CASE("connected caveman 20 x 20, p = 0.01 (GIR.md's Communities): rewired, same count, connected") {
  const Dataset base = generate_caveman(CavemanParams{20, 20, 0.0, 0});
  const auto base_pairs = checked_pairs(base);
  CHECK(base_pairs.size() == 20 * 20 * 19 / 2);
  int rewired_total = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const Dataset d = generate_caveman(CavemanParams{20, 20, 0.01, seed});
    const auto pairs = checked_pairs(d);
    CHECK(pairs.size() == 3800);
    CHECK(connected(d));
    std::vector<Pair> gone;
    std::set_difference(base_pairs.begin(), base_pairs.end(), pairs.begin(), pairs.end(), std::back_inserter(gone));
    rewired_total += static_cast<int>(gone.size());
    // About 0.01 * (3800 - 400 skeleton edges) = 34 moves, fewer when a target is taken.
    CHECK(gone.size() < 80);
  }
  CHECK(rewired_total > 5 * 10);
  // Deterministic for a seed.
  check_same(generate_caveman(CavemanParams{20, 20, 0.01, 3}), generate_caveman(CavemanParams{20, 20, 0.01, 3}));
  CHECK(generate_caveman(CavemanParams{20, 20, 0.01, 3}).src != generate_caveman(CavemanParams{20, 20, 0.01, 4}).src);
}

TEST_CASE("connected caveman stays connected even when every edge may move") {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const Dataset d = generate_caveman(CavemanParams{8, 4, 1.0, seed});
    CHECK(checked_pairs(d).size() == 8 * 6);
    CHECK(connected(d));
  }
  CHECK(input_error_of([] {
          generate_caveman(CavemanParams{1, 20, 0.01, 0});
        }).find("--communities") != std::string::npos);
  CHECK(input_error_of([] { generate_caveman(CavemanParams{20, 2, 0.01, 0}); }).find("--size") != std::string::npos);
  CHECK(input_error_of([] { generate_caveman(CavemanParams{20, 20, -0.1, 0}); }).find("--p") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("generated built-ins: grid, communities, sbm, random") {
  const auto names = builtin_dataset_names();
  CHECK(names == std::vector<std::string>{"karate", "grid", "grid-T", "communities", "communities-T", "sbm", "random",
                                         "pattern", "cluster", "csl", "seq_probe", "seq_order", "seq_lengthgen"});
  // The many-graph built-ins are the generators at their defaults (pattern and cluster are checked
  // in graph_generators_test.cpp; built here, they take seconds).
  const Dataset csl = builtin_dataset("csl");
  CHECK(csl.name == "csl");
  CHECK(csl.num_graphs == 150);
  CHECK(csl.graph_labels == generate_csl(CslParams{}).graph_labels);
  const Dataset grid = builtin_dataset("grid");
  CHECK(grid.name == "grid");
  CHECK(grid.source == "built-in:grid");
  CHECK(grid.num_nodes == 400);
  CHECK(grid.num_edges() == 2 * 760);
  const Dataset comm = builtin_dataset("communities");
  CHECK(comm.name == "communities");
  CHECK(comm.num_nodes == 400);
  CHECK(comm.num_edges() == 2 * 3800);
  CHECK(comm.num_classes == 20);
  CHECK(connected(comm));
  // GIR.md: plain Grid / Communities carry one constant feature column; the -T variants none
  // (identity features in `locus train`); otherwise the same dataset.
  for (const auto& pair : {std::pair{grid, builtin_dataset("grid-T")}, std::pair{comm, builtin_dataset("communities-T")}}) {
    const Dataset& plain = pair.first;
    const Dataset& ident = pair.second;
    CAPTURE(plain.name);
    CHECK(plain.num_features() == 1);
    CHECK(plain.features_dense);
    CHECK(plain.features.nonZeros() == plain.num_nodes);
    CHECK(Mat(plain.features) == Mat::Ones(plain.num_nodes, 1));
    CHECK(ident.name == plain.name + "-T");
    CHECK(ident.source == "built-in:" + plain.name + "-T");
    CHECK(ident.num_features() == 0);
    CHECK(ident.num_nodes == plain.num_nodes);
    CHECK(ident.src == plain.src);
    CHECK(ident.dst == plain.dst);
    CHECK(ident.labels == plain.labels);
    CHECK(ident.train == plain.train);
    CHECK(ident.task == Task::NodeClassification);
    CHECK(plain.task == Task::NodeClassification);
  }
  const Dataset sbm = builtin_dataset("sbm");
  CHECK(sbm.num_nodes == 1000);
  CHECK(sbm.num_classes == 5);
  const Dataset rnd = builtin_dataset("random");
  CHECK(rnd.num_nodes == 2000);
  CHECK(rnd.num_edges() == 2 * 10000);
  CHECK(rnd.num_classes == 5);
  CHECK(rnd.num_features() == 32);
  for (const auto& n : names) {
    if (n == "pattern" || n == "cluster") continue;  // 1.2M / 1.2M nodes at full size: their generators are tested small
    const Dataset d = builtin_dataset(n);
    CHECK(d.name == n);
    CHECK_FALSE((d.has_graphs() ? d.train_graphs.empty() : d.train.empty()));
  }
  check_same(builtin_dataset("random"), builtin_dataset("random"));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("writer: every generator round-trips through dataset.yaml") {
  testing::TempDir tmp;
  RandomGraphParams rp;
  rp.nodes = 500, rp.edges = 3000, rp.classes = 3, rp.features = 7, rp.seed = 2;
  SbmParams sp;
  sp.block_sizes = {40, 60, 50};
  sp.p_in = 0.2, sp.p_out = 0.01, sp.features = 3;
  RandomGraphParams bag = rp;
  bag.features = 50, bag.feature_nnz = 5;
  const std::vector<std::pair<std::string, Dataset>> cases = {
      {"random", generate_random(rp)},       {"sbm", generate_sbm(sp)},  {"bag", generate_rmat(bag)},
      {"grid", generate_grid(GridParams{})}, {"caveman", generate_caveman(CavemanParams{})},
      {"karate", builtin_dataset("karate")},
  };
  for (const auto& c : cases) {
    const auto& sub = c.first;
    const auto& d = c.second;
    CAPTURE(sub);
    const Dataset back = round_trip(d, tmp, sub);
    check_same(d, back);
    CHECK(back.source == tmp.path(sub) + "/dataset.yaml");
  }
  // Karate has no validation nodes: no val.txt, and the YAML names only the written files.
  CHECK_FALSE(fs::exists(tmp.path("karate/val.txt")));
  CHECK_FALSE(fs::exists(tmp.path("karate/features.tsv")));
  CHECK(fs::exists(tmp.path("random/features.tsv")));
}

TEST_CASE("writer: names, token labels, weights, sparse features, self loops and directed graphs") {
  testing::TempDir tmp;
  SUBCASE("undirected, named nodes") {
    tmp.write("in/dataset.yaml",
              "name: named\nids: name\nedges: {path: e.tsv, weighted: true}\n"
              "features: {path: f.tsv, format: sparse, dim: 5}\nlabels: {path: l.tsv}\n"
              "split: {train: tr.txt, test: te.txt}\n");
    tmp.write("in/l.tsv", "alice cat\nbob dog\ncarol cat\n");
    tmp.write("in/f.tsv", "alice 4 0.1\ncarol 0 -2.5e-7\ndave 2 3\n");
    tmp.write("in/e.tsv", "alice bob 0.5\nbob bob 2\ncarol dave 1e-3\ndave alice 7\nbob alice 9\n");
    tmp.write("in/tr.txt", "carol\nalice\n");
    tmp.write("in/te.txt", "bob\n");
    const Dataset d = load_dataset_yaml(tmp.path("in/dataset.yaml"));
    REQUIRE(d.node_names == std::vector<std::string>{"alice", "bob", "carol", "dave"});
    REQUIRE(d.label_names == std::vector<std::string>{"cat", "dog"});
    CHECK(d.num_duplicates_merged == 1);
    check_same(d, round_trip(d, tmp), false);
  }
  SUBCASE("directed, integer ids, unlabelled nodes, dense features") {
    tmp.write("in/dataset.yaml",
              "name: dir\ndirected: true\nnum_nodes: 6\nedges: {path: e.tsv}\n"
              "features: {path: f.tsv, format: dense}\nlabels: {path: l.tsv, num_classes: 4}\n"
              "split: {random: {train: 0.5, seed: 3}}\n");
    tmp.write("in/l.tsv", "0 3\n2 1\n5 0\n");
    tmp.write("in/f.tsv", "0 1 0\n3 0.25 -1\n5 1e30 1e-30\n");
    tmp.write("in/e.tsv", "0 1\n1 0\n3 3\n4 2\n2 4\n5 0\n");
    const Dataset d = load_dataset_yaml(tmp.path("in/dataset.yaml"));
    REQUIRE(d.directed);
    REQUIRE(d.labels[1] == -1);
    check_same(d, round_trip(d, tmp));
  }
  SUBCASE("undirected with self loops mixed in") {
    tmp.write("in/dataset.yaml", "name: loops\nedges: {path: e.tsv}\nlabels: {path: l.tsv}\n");
    tmp.write("in/l.tsv", "0 0\n1 1\n2 0\n3 1\n");
    tmp.write("in/e.tsv", "0 1\n2 2\n1 3\n3 3\n0 2\n");
    const Dataset d = load_dataset_yaml(tmp.path("in/dataset.yaml"));
    REQUIRE(d.num_edges() == 8);
    check_same(d, round_trip(d, tmp));
  }
}

TEST_CASE("writer: float values read back bit for bit") {
  // Random finite bit patterns (normal and subnormal, both signs), plus values at the edges.
  const int64_t n = 200, dims = 50;
  std::vector<Eigen::Triplet<float, int32_t>> t;
  Rng rng(42);
  const float special[] = {FLT_MAX,     -FLT_MAX,    FLT_MIN,       FLT_TRUE_MIN, 0.1f,
                           1.0f / 3.0f, 16777217.0f, 3.4028235e38f, 1e-45f};
  for (int64_t v = 0; v < n; ++v)
    for (int64_t j = 0; j < dims; ++j) {
      float f;
      do {
        const auto bits = static_cast<uint32_t>(rng.next_u64());
        std::memcpy(&f, &bits, sizeof f);
      } while (!std::isfinite(f) || f == 0.0f);
      if (v == 0 && j < static_cast<int64_t>(std::size(special))) f = special[j];
      t.emplace_back(static_cast<int32_t>(v), static_cast<int32_t>(j), f);
    }
  Dataset d;
  d.name = "floats";
  d.num_nodes = n;
  d.features.resize(n, dims);
  d.features.setFromTriplets(t.begin(), t.end());
  d.labels.assign(static_cast<size_t>(n), 0);
  d.num_classes = 1;
  for (int32_t v = 0; v + 1 < n; v += 2) {
    d.src.insert(d.src.end(), {v, v + 1});
    d.dst.insert(d.dst.end(), {v + 1, v});
    const float w = d.features.coeff(v, 0);
    d.weight.insert(d.weight.end(), {w, w});
  }
  d.num_input_edges = n / 2;
  testing::TempDir tmp;
  SUBCASE("dense") {
    d.features_dense = true;
    check_same(d, round_trip(d, tmp));
  }
  SUBCASE("sparse") {
    d.features_dense = false;
    check_same(d, round_trip(d, tmp));
  }
}

TEST_CASE("writer: the files do not depend on the thread count") {
  // 150000 edge lines and 70000 feature rows: formatted in parallel chunks.
  RandomGraphParams p;
  p.nodes = 70000, p.edges = 150000, p.classes = 3, p.features = 2, p.seed = 1;
  const Dataset d = generate_random(p);
  testing::TempDir tmp;
  with_threads(1, [&] { return (write_dataset(d, tmp.path("one")), 0); });
  with_threads(3, [&] { return (write_dataset(d, tmp.path("three")), 0); });
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const char* f :
       {"dataset.yaml", "edges.tsv", "features.tsv", "labels.tsv", "train.txt", "val.txt", "test.txt"}) {
    CAPTURE(f);
    const std::string one = slurp(tmp.path("one/") + f);
    CHECK_FALSE(one.empty());
    CHECK(one == slurp(tmp.path("three/") + f));
  }
  check_same(d, load_dataset_yaml(tmp.path("three/dataset.yaml")));
}

TEST_CASE("writer: Cora round-trips (when ../shared is there)") {
  if (!testing::have_shared_dataset("cora")) {
    MESSAGE("skipped: ../shared/datasets/cora absent");
    return;
  }
  testing::TempDir tmp;
  const Dataset d = load_dataset_yaml(testing::shared_dir() + "/datasets/cora/dataset.yaml");
  check_same(d, round_trip(d, tmp), false);
}

TEST_CASE("writer: refuses a non-empty folder unless overwrite, and cleans up stale files") {
  testing::TempDir tmp;
  const Dataset feat = generate_random(RandomGraphParams{});
  write_dataset(feat, tmp.path("d"));
  CHECK(fs::exists(tmp.path("d/features.tsv")));
  const Dataset grid = generate_grid(GridParams{});
  const std::string msg = input_error_of([&] { write_dataset(grid, tmp.path("d")); });
  CHECK(msg.find(tmp.path("d")) != std::string::npos);
  CHECK(msg.find("--force") != std::string::npos);
  CHECK_THROWS_AS(check_output_dir(tmp.path("d"), false), InputError);
  CHECK_NOTHROW(check_output_dir(tmp.path("d"), true));
  // Refused: the old dataset is intact.
  check_same(feat, load_dataset_yaml(tmp.path("d/dataset.yaml")));
  tmp.write("d/notes.txt", "mine\n");
  write_dataset(grid, tmp.path("d"), true);
  CHECK_FALSE(fs::exists(tmp.path("d/features.tsv")));
  CHECK(fs::exists(tmp.path("d/notes.txt")));
  check_same(grid, load_dataset_yaml(tmp.path("d/dataset.yaml")));
  // An existing empty folder is fine; a file is not a folder.
  fs::create_directories(tmp.path("empty"));
  CHECK_NOTHROW(write_dataset(grid, tmp.path("empty")));
  tmp.write("file", "x");
  CHECK(input_error_of([&] { write_dataset(grid, tmp.path("file"), true); }).find("not a folder") != std::string::npos);
  // New folders were staged beside the target and renamed into place: no staging folder is left.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(tmp.root())) names.insert(e.path().filename().string());
  CHECK(names == std::set<std::string>{"d", "empty", "file"});
}

TEST_CASE("writer: inconsistent datasets are refused before anything is written") {
  testing::TempDir tmp;
  Dataset d = generate_grid(GridParams{3, 3, 1, 0});
  SUBCASE("an undirected edge without its reverse") {
    d.dst[3] = 2;  // edge 2 is 0->3; its partner becomes 3->2
    CHECK_THROWS_AS(write_dataset(d, tmp.path("x")), ShapeError);
  }
  SUBCASE("named nodes not in index order of first appearance") {
    d.node_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    d.labels[0] = -1;  // node 1 is then the first one named
    CHECK(input_error_of([&] { write_dataset(d, tmp.path("x")); }).find("first appearance") != std::string::npos);
  }
  SUBCASE("a node name with a blank") {
    d.node_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i j"};
    CHECK(input_error_of([&] { write_dataset(d, tmp.path("x")); }).find("'i j'") != std::string::npos);
  }
  CHECK(fs::is_empty(tmp.root()));  // neither x nor a staging folder
}
