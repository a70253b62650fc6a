// Node orders for locality (datasets/reorder.hpp): each is a permutation; reverse Cuthill–McKee
// narrows a scrambled grid's bandwidth, degree puts hubs first, METIS's nested dissection is
// deterministic; renumber_nodes moves edges, features, labels, names and splits together.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/generators.hpp"
#include "datasets/reorder.hpp"
#include "tests/testing/errors.hpp"

using namespace locus;

namespace {

bool is_permutation(const std::vector<int32_t>& order, int64_t n) {
  std::vector<int32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int32_t> id(static_cast<size_t>(n));
  std::iota(id.begin(), id.end(), 0);
  return sorted == id;
}

// max |at[a] − at[b]| over the edges, at[old] = new.
int64_t bandwidth(const Dataset& ds, const std::vector<int32_t>& order) {
  std::vector<int32_t> at(order.size());
  for (size_t i = 0; i < order.size(); ++i) at[static_cast<size_t>(order[i])] = static_cast<int32_t>(i);
  int64_t w = 0;
  for (size_t e = 0; e < ds.src.size(); ++e)
    w = std::max<int64_t>(w, std::abs(at[static_cast<size_t>(ds.src[e])] - at[static_cast<size_t>(ds.dst[e])]));
  return w;
}

// A 30 x 30 grid with its ids scrambled by a seeded permutation (bandwidth ~ n).
Dataset scrambled_grid() {
  GridParams gp;
  gp.rows = gp.cols = 30;
  Dataset ds = generate_grid(gp);
  std::vector<int32_t> order(static_cast<size_t>(ds.num_nodes));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(7);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  renumber_nodes(ds, order);
  return ds;
}

}  // namespace

TEST_CASE("node_order: every kind is a permutation; names round-trip") {
  RandomGraphParams p;
  p.nodes = 500, p.edges = 2000, p.features = 0, p.seed = 4;
  const Dataset ds = generate_rmat(p);
  const Csr g = Csr::from_edges(ds.num_nodes, ds.src, ds.dst);
  for (const std::string& name : reorder_names()) {
    CAPTURE(name);
    const std::vector<int32_t> order = node_order(g, parse_reorder(name));
    CHECK(is_permutation(order, ds.num_nodes));
    CHECK(order == node_order(g, parse_reorder(name)));  // deterministic
  }
  std::vector<int32_t> id(500);
  std::iota(id.begin(), id.end(), 0);
  CHECK(node_order(g, Reorder::None) == id);
  CHECK(reorder_names() == std::vector<std::string>{"none", "rcm", "degree", "metis"});
  CHECK(locus::testing::input_error_of([] { parse_reorder("rmc"); }).find("none, rcm, degree or metis") !=
        std::string::npos);
}

TEST_CASE("node_order: RCM and METIS bring a scrambled grid's neighbours together; degree puts hubs first") {
  const Dataset ds = scrambled_grid();
  const Csr g = Csr::from_edges(ds.num_nodes, ds.src, ds.dst);
  const int64_t scrambled = bandwidth(ds, node_order(g, Reorder::None));
  const int64_t rcm = bandwidth(ds, node_order(g, Reorder::Rcm));
  CHECK(scrambled > 500);
  CHECK(rcm <= 31);  // a BFS order of a 30 x 30 grid: at most a diagonal (~31 nodes) apart
  // Nested dissection bounds no bandwidth (separators go last), but an edge's mean gap falls to a
  // fraction of the scrambled ids' (~n / 3 = 300).
  auto mean_gap = [&](const std::vector<int32_t>& order) {
    std::vector<int32_t> at(order.size());
    for (size_t i = 0; i < order.size(); ++i) at[static_cast<size_t>(order[i])] = static_cast<int32_t>(i);
    double gap = 0;
    for (size_t e = 0; e < ds.src.size(); ++e)
      gap += std::abs(at[static_cast<size_t>(ds.src[e])] - at[static_cast<size_t>(ds.dst[e])]);
    return gap / static_cast<double>(ds.src.size());
  };
  const double scrambled_gap = mean_gap(node_order(g, Reorder::None));
  CHECK(scrambled_gap > 250);
  CHECK(mean_gap(node_order(g, Reorder::Metis)) < scrambled_gap / 3);
  CHECK(mean_gap(node_order(g, Reorder::Rcm)) < 31);

  RandomGraphParams p;
  p.nodes = 2000, p.edges = 8000, p.features = 0;
  const Dataset r = generate_rmat(p);
  const Csr rg = Csr::from_edges(r.num_nodes, r.src, r.dst);
  const std::vector<int32_t> by_degree = node_order(rg, Reorder::Degree);
  const std::vector<float> deg = rg.symmetrise().in_degrees();
  for (size_t i = 1; i < by_degree.size(); ++i) {
    const float a = deg[static_cast<size_t>(by_degree[i - 1])], b = deg[static_cast<size_t>(by_degree[i])];
    REQUIRE(a >= b);
    if (a == b) REQUIRE(by_degree[i - 1] < by_degree[i]);  // ties by id
  }
}

TEST_CASE("renumber_nodes moves edges, features, labels, names and split ids together") {
  RandomGraphParams p;
  p.nodes = 300, p.edges = 900, p.classes = 4, p.features = 40, p.feature_nnz = 6, p.seed = 9;
  const Dataset before = generate_random(p);
  Dataset after = before;
  after.node_names.resize(300);
  Dataset named = before;
  named.node_names.resize(300);
  for (int v = 0; v < 300; ++v) named.node_names[static_cast<size_t>(v)] = after.node_names[static_cast<size_t>(v)] = "n" + std::to_string(v);
  const std::vector<int32_t> order = node_order(Csr::from_edges(300, before.src, before.dst), Reorder::Rcm);
  renumber_nodes(after, order);
  std::vector<int32_t> at(300);
  for (size_t i = 0; i < 300; ++i) at[static_cast<size_t>(order[i])] = static_cast<int32_t>(i);
  const Eigen::MatrixXf xb = Eigen::MatrixXf(before.features), xa = Eigen::MatrixXf(after.features);
  for (size_t i = 0; i < 300; ++i) {
    const int32_t old = order[i];
    CHECK(after.labels[i] == before.labels[static_cast<size_t>(old)]);
    CHECK(after.node_names[i] == named.node_names[static_cast<size_t>(old)]);
    CHECK(xa.row(static_cast<Eigen::Index>(i)) == xb.row(old));
  }
  REQUIRE(after.src.size() == before.src.size());
  for (size_t e = 0; e < before.src.size(); ++e) {
    CHECK(after.src[e] == at[static_cast<size_t>(before.src[e])]);
    CHECK(after.dst[e] == at[static_cast<size_t>(before.dst[e])]);
  }
  for (auto [a, b] : {std::pair{&after.train, &before.train}, {&after.val, &before.val}, {&after.test, &before.test}}) {
    REQUIRE(a->size() == b->size());
    for (size_t k = 0; k < a->size(); ++k) CHECK((*a)[k] == at[static_cast<size_t>((*b)[k])]);
  }
  std::vector<int32_t> twice = order;
  twice[1] = twice[0];
  CHECK_THROWS(renumber_nodes(after, twice));
}
