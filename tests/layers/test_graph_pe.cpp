// Graph positional encodings: Laplacian eigenvectors, random-walk return probabilities, anchor
// distances. Structural checks (Fiedler split, permutation equivariance, padding) and numbers
// checked against hand computation or brute force.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "core/rng.hpp"
#include "layers/positional/anchors.hpp"
#include "layers/positional/laplacian.hpp"
#include "layers/positional/random_walk.hpp"

using namespace locus;
using Edges = std::vector<std::pair<int32_t, int32_t>>;

namespace {

// Undirected graph: every pair stored in both directions.
Csr undirected(int64_t n, const Edges& e) {
  std::vector<int32_t> src, dst;
  for (auto [a, b] : e) {
    src.push_back(a);
    dst.push_back(b);
    src.push_back(b);
    dst.push_back(a);
  }
  return Csr::from_edges(n, src, dst);
}

// m random pairs (a != b) among nodes [lo, hi), duplicates possible (PEs ignore them).
void add_random_edges(Edges& e, int32_t lo, int32_t hi, int64_t m, Rng& rng) {
  for (int64_t i = 0; i < m; ++i) {
    const int32_t a = lo + static_cast<int32_t>(rng.below(hi - lo));
    const int32_t b = lo + static_cast<int32_t>(rng.below(hi - lo));
    if (a != b) e.emplace_back(a, b);
  }
}

// A connected random graph: a ring plus random chords.
Edges random_connected(int32_t n, int64_t chords, uint64_t seed) {
  Edges e;
  for (int32_t v = 0; v < n; ++v) e.emplace_back(v, (v + 1) % n);
  Rng rng(seed);
  add_random_edges(e, 0, n, chords, rng);
  return e;
}

Edges permute(const Edges& e, const std::vector<int32_t>& pi) {
  Edges out;
  for (auto [a, b] : e) out.emplace_back(pi[a], pi[b]);
  return out;
}

std::vector<int32_t> random_permutation(int32_t n, uint64_t seed) {
  std::vector<int32_t> pi(n);
  std::iota(pi.begin(), pi.end(), 0);
  Rng rng(seed);
  for (int32_t i = n - 1; i > 0; --i) std::swap(pi[i], pi[rng.below(i + 1)]);
  return pi;
}

// Largest |a_j - s_j b_j| over columns, with the best sign s_j per column.
double diff_up_to_sign(const Mat& a, const Mat& b) {
  double worst = 0;
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    const double dp = (a.col(j) - b.col(j)).cwiseAbs().maxCoeff();
    const double dm = (a.col(j) + b.col(j)).cwiseAbs().maxCoeff();
    worst = std::max(worst, std::min(dp, dm));
  }
  return worst;
}

// All-pairs hop distances by plain BFS (std::queue); -1 when unreachable.
std::vector<std::vector<int>> all_pairs_bfs(int64_t n, const Edges& e) {
  std::vector<std::vector<int32_t>> adj(n);
  for (auto [a, b] : e) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
  std::vector<std::vector<int>> dist(n, std::vector<int>(n, -1));
  for (int64_t s = 0; s < n; ++s) {
    std::queue<int32_t> q;
    q.push(static_cast<int32_t>(s));
    dist[s][s] = 0;
    while (!q.empty()) {
      const int32_t u = q.front();
      q.pop();
      for (int32_t w : adj[u])
        if (dist[s][w] < 0) {
          dist[s][w] = dist[s][u] + 1;
          q.push(w);
        }
    }
  }
  return dist;
}

// Distance from every node to a node set (-1: unreachable) and the nearest anchor by the rule of
// anchor_distances: anchors are their own; any other node takes the one of its smallest-id
// neighbour one hop closer to the set. Brute force from all-pairs distances, nodes in order of
// distance.
std::pair<std::vector<int>, std::vector<int32_t>> brute_force_nearest(int64_t n, const Edges& e,
                                                                      const std::vector<std::vector<int>>& dist,
                                                                      const std::vector<int32_t>& anchors) {
  std::vector<std::vector<int32_t>> adj(n);
  for (auto [a, b] : e) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
  std::vector<int> best(n, -1);
  for (int64_t v = 0; v < n; ++v)
    for (int32_t a : anchors)
      if (dist[a][v] >= 0 && (best[v] < 0 || dist[a][v] < best[v])) best[v] = dist[a][v];
  std::vector<int32_t> arg(n, -1);
  for (int32_t a : anchors) arg[a] = a;
  const int max_d = *std::max_element(best.begin(), best.end());
  for (int d = 1; d <= max_d; ++d)
    for (int64_t v = 0; v < n; ++v) {
      if (best[v] != d) continue;
      int32_t parent = -1;
      for (int32_t u : adj[v])
        if (best[u] == d - 1 && (parent < 0 || u < parent)) parent = u;
      arg[v] = arg[parent];
    }
  return {best, arg};
}

// diag((D^-1 A)^k), k = 1..K, by dense matrix powers of the simple undirected graph.
MatD dense_rwse(int64_t n, const Edges& e, int K) {
  MatD a = MatD::Zero(n, n);
  for (auto [x, y] : e)
    if (x != y) a(x, y) = a(y, x) = 1.0;
  MatD p = a;
  for (int64_t i = 0; i < n; ++i) {
    const double d = a.row(i).sum();
    if (d > 0) p.row(i) /= d;
  }
  MatD out(n, K), pk = MatD::Identity(n, n);
  for (int k = 0; k < K; ++k) {
    pk = pk * p;
    out.col(k) = pk.diagonal();
  }
  return out;
}

}  // namespace

TEST_CASE("undirected_simple symmetrises, drops self loops, duplicates and weights") {
  std::vector<int32_t> src{0, 0, 1, 2, 2, 3}, dst{1, 1, 2, 2, 0, 3};  // 0->1 twice, loops 2->2, 3->3
  std::vector<float> w{2, 2, 3, 4, 5, 6};
  const Csr s = pe::undirected_simple(Csr::from_edges(5, src, dst, w));
  CHECK(s.indptr == std::vector<int64_t>{0, 2, 4, 6, 6, 6});
  CHECK(s.indices == std::vector<int32_t>{1, 2, 0, 2, 0, 1});
  CHECK_FALSE(s.has_weights());
  const pe::Components c = pe::connected_components(s);
  CHECK(c.count == 3);
  CHECK(c.comp == std::vector<int32_t>{0, 0, 0, 1, 2});
}

TEST_CASE("LapPE: Fiedler vector separates two cliques joined by one edge") {
  Edges e;
  for (int32_t a = 0; a < 6; ++a)
    for (int32_t b = a + 1; b < 6; ++b) {
      e.emplace_back(a, b);
      e.emplace_back(a + 6, b + 6);
    }
  e.emplace_back(5, 6);
  const pe::LapPE pe = pe::laplacian_pe(undirected(12, e), 3);
  REQUIRE(pe.num_valid == 3);
  const auto f = pe.vectors.col(0);
  for (int v = 0; v < 6; ++v) {
    CHECK(f[v] > 0.05f);  // sign rule: node 0's entry is positive
    CHECK(f[v + 6] < -0.05f);
  }
  CHECK(pe.values[0] > 0.0);
  CHECK(pe.values[0] < 0.1);  // a weak cut: far below the clique eigenvalues (~1.2)
  CHECK(pe.values[1] > 1.0);
  CHECK(std::abs(pe.vectors.col(0).norm() - 1.0f) < 1e-5f);
}

TEST_CASE("LapPE: Lanczos (Spectra) agrees with the dense solver") {
  // Two random clusters of 100 nodes joined by 3 edges, plus 2 isolated nodes and a separate
  // 30-node component: distinct eigenvalues, 3 trivial ones to skip.
  Rng rng(7);
  Edges e;
  add_random_edges(e, 0, 100, 900, rng);
  add_random_edges(e, 100, 200, 900, rng);
  e.emplace_back(3, 150);
  e.emplace_back(40, 101);
  e.emplace_back(99, 120);
  for (int32_t v = 202; v < 232; ++v) e.emplace_back(v, v + 1 < 232 ? v + 1 : 202);
  add_random_edges(e, 202, 232, 20, rng);
  const Csr g = undirected(232, e);
  const int k = 8;
  const pe::LapPE dense = pe::laplacian_pe(g, k);
  pe::LapPEOptions opt;
  opt.dense_max_nodes = 0;  // force Lanczos
  const pe::LapPE lanczos = pe::laplacian_pe(g, k, opt);
  opt.filter_min_nodes = 0;  // Lanczos on the Chebyshev filter p(M), then Rayleigh–Ritz with M
  for (const int degree : {3, 4, 9}) {
    CAPTURE(degree);
    opt.filter_degree = degree;
    const pe::LapPE filtered = pe::laplacian_pe(g, k, opt);
    REQUIRE(filtered.num_valid == k);
    CHECK(filtered.num_products > lanczos.num_products / 2);
    for (int j = 0; j < k; ++j) CHECK(std::abs(dense.values[j] - filtered.values[j]) < 1e-4);
    // Up to sign: an entry near the sign rule's 1e-6 threshold may differ in the last digits.
    CHECK(diff_up_to_sign(dense.vectors, filtered.vectors) < 1e-3);
  }
  REQUIRE(dense.num_valid == k);
  REQUIRE(lanczos.num_valid == k);
  CHECK(dense.num_products == 0);
  CHECK(lanczos.num_products > k);
  for (int j = 0; j < k; ++j) CHECK(std::abs(dense.values[j] - lanczos.values[j]) < 1e-4);
  for (int j = 0; j + 1 < k; ++j) REQUIRE(dense.values[j + 1] - dense.values[j] > 1e-3);  // distinct
  CHECK(diff_up_to_sign(dense.vectors, lanczos.vectors) < 1e-3);
  // The deterministic sign rule makes them agree without flipping.
  CHECK((dense.vectors - lanczos.vectors).cwiseAbs().maxCoeff() < 1e-3f);
  // The Fiedler vector splits the two clusters in both.
  for (const pe::LapPE* p : {&dense, &lanczos}) {
    int agree = 0;
    for (int v = 0; v < 200; ++v) agree += (p->vectors(v, 0) > 0) == (v < 100);
    CHECK((agree == 200 || agree == 0));
    CHECK(p->vectors.row(200).isZero());  // isolated
    CHECK(p->vectors.row(201).isZero());
  }
}

TEST_CASE("LapPE: disconnected graph and n <= k pad with zeros, trivial vectors skipped") {
  SUBCASE("triangle + edge + isolated node") {
    // Non-trivial spectrum: triangle {1.5, 1.5}, edge {2}; zeros (one per component) skipped.
    const pe::LapPE pe = pe::laplacian_pe(undirected(6, {{0, 1}, {1, 2}, {2, 0}, {3, 4}}), 5);
    CHECK(pe.num_valid == 3);
    const std::vector<double> want{1.5, 1.5, 2.0, 0.0, 0.0};
    for (int j = 0; j < 5; ++j) CHECK(pe.values[j] == doctest::Approx(want[j]).epsilon(1e-9));
    const float h = static_cast<float>(std::sqrt(0.5));
    Eigen::VectorXf edge(6);
    edge << 0, 0, 0, h, -h, 0;
    CHECK((pe.vectors.col(2) - edge).cwiseAbs().maxCoeff() < 1e-6f);
    CHECK(pe.vectors.col(3).isZero());
    CHECK(pe.vectors.col(4).isZero());
    CHECK(pe.vectors.row(5).isZero());
    // Triangle vectors: on nodes 0..2 only, orthonormal, orthogonal to the trivial vector (1,1,1).
    const Mat tri = pe.vectors.block(0, 0, 3, 2);
    CHECK(pe.vectors.block(3, 0, 3, 2).isZero());
    CHECK((tri.transpose() * tri - Eigen::Matrix2f::Identity()).cwiseAbs().maxCoeff() < 1e-5f);
    CHECK(tri.colwise().sum().cwiseAbs().maxCoeff() < 1e-5f);
  }
  SUBCASE("path of 3 nodes, k = 4") {
    const pe::LapPE pe = pe::laplacian_pe(undirected(3, {{0, 1}, {1, 2}}), 4);
    CHECK(pe.num_valid == 2);
    CHECK(pe.values[0] == doctest::Approx(1.0));
    CHECK(pe.values[1] == doctest::Approx(2.0));
    CHECK(pe.values[2] == 0.0);
    CHECK(pe.values[3] == 0.0);
    const float h = static_cast<float>(std::sqrt(0.5));
    Mat want(3, 4);
    want << h, 0.5f, 0, 0,  //
        0, -h, 0, 0,        //
        -h, 0.5f, 0, 0;
    CHECK((pe.vectors - want).cwiseAbs().maxCoeff() < 1e-6f);
  }
  SUBCASE("edgeless graph and k = 0") {
    const pe::LapPE pe = pe::laplacian_pe(undirected(4, {}), 3);
    CHECK(pe.num_valid == 0);
    CHECK(pe.vectors.rows() == 4);
    CHECK(pe.vectors.isZero());
    CHECK(pe::laplacian_pe(undirected(4, {{0, 1}}), 0).vectors.cols() == 0);
  }
}

TEST_CASE("Graph PEs are equivariant under node relabelling") {
  const int32_t n = 40;
  const Edges e = random_connected(n, 30, 11);
  const std::vector<int32_t> pi = random_permutation(n, 5);  // new id of node v: pi[v]
  const Edges ep = permute(e, pi);
  const Csr g = undirected(n, e), gp = undirected(n, ep);
  auto permute_rows = [&](const Mat& m) {
    Mat out(m.rows(), m.cols());
    for (int32_t v = 0; v < n; ++v) out.row(pi[v]) = m.row(v);
    return out;
  };

  SUBCASE("Laplacian eigenvectors, up to sign") {
    const pe::LapPE a = pe::laplacian_pe(g, 6), b = pe::laplacian_pe(gp, 6);
    for (int j = 0; j < 6; ++j) {
      REQUIRE(a.values[j + 0] == doctest::Approx(b.values[j]));
      if (j > 0) REQUIRE(a.values[j] - a.values[j - 1] > 1e-3);  // distinct: vectors defined up to sign
    }
    CHECK(diff_up_to_sign(permute_rows(a.vectors), b.vectors) < 1e-4);
  }
  SUBCASE("random walk, exactly up to rounding") {
    const Mat a = pe::random_walk_pe(g, 8), b = pe::random_walk_pe(gp, 8);
    CHECK((permute_rows(a) - b).cwiseAbs().maxCoeff() < 1e-6f);
  }
  SUBCASE("anchor distances, with the anchor sets relabelled") {
    const pe::AnchorSets s = pe::sample_anchor_sets(n, 3);
    pe::AnchorSets sp = s;
    for (int64_t i = 0; i < s.num_sets(); ++i) {
      for (int64_t q = s.offsets[i]; q < s.offsets[i + 1]; ++q) sp.nodes[q] = pi[s.nodes[q]];
      std::sort(sp.nodes.begin() + sp.offsets[i], sp.nodes.begin() + sp.offsets[i + 1]);
    }
    for (int cutoff : {2, -1}) {
      const pe::AnchorDistances a = pe::anchor_distances(g, s, cutoff), b = pe::anchor_distances(gp, sp, cutoff);
      CHECK(permute_rows(a.value) == b.value);
      // Nearest anchors may differ among equally near ones (the tie rule follows ids), but the
      // one chosen after relabelling is in the set and equally near.
      const auto dist = all_pairs_bfs(n, e);
      std::vector<int32_t> inv(n);
      for (int32_t v = 0; v < n; ++v) inv[pi[v]] = v;
      const int64_t ns = s.num_sets();
      for (int32_t v = 0; v < n; ++v)
        for (int64_t i = 0; i < ns; ++i) {
          const int32_t x = a.nearest(v, i), y = b.nearest(pi[v], i);
          REQUIRE((x < 0) == (y < 0));
          if (x >= 0) CHECK(dist[v][inv[y]] == dist[v][x]);
        }
    }
  }
}

TEST_CASE("RWSE: hand-computed return probabilities") {
  SUBCASE("cycles: closed walks / 2^k") {
    Edges c4, c5;
    for (int32_t v = 0; v < 4; ++v) c4.emplace_back(v, (v + 1) % 4);
    for (int32_t v = 0; v < 5; ++v) c5.emplace_back(v, (v + 1) % 5);
    const Mat r4 = pe::random_walk_pe(undirected(4, c4), 6);
    const Mat r5 = pe::random_walk_pe(undirected(5, c5), 8);
    const std::vector<float> w4{0, 2.f / 4, 0, 8.f / 16, 0, 32.f / 64};
    // C5: 2/4, 6/16, 2/32 (around the cycle), 20/64, 14/128, 70/256.
    const std::vector<float> w5{0, 0.5f, 0, 0.375f, 0.0625f, 0.3125f, 0.109375f, 0.2734375f};
    for (int v = 0; v < 4; ++v)
      for (int k = 0; k < 6; ++k) CHECK(r4(v, k) == doctest::Approx(w4[k]).epsilon(1e-6));
    for (int v = 0; v < 5; ++v)
      for (int k = 0; k < 8; ++k) CHECK(r5(v, k) == doctest::Approx(w5[k]).epsilon(1e-6));
  }
  SUBCASE("path P3 plus an isolated node") {
    const Mat r = pe::random_walk_pe(undirected(4, {{0, 1}, {1, 2}}), 5);
    Mat want(4, 5);
    want << 0, 0.5f, 0, 0.5f, 0,  //
        0, 1, 0, 1, 0,            //
        0, 0.5f, 0, 0.5f, 0,      //
        0, 0, 0, 0, 0;
    CHECK((r - want).cwiseAbs().maxCoeff() < 1e-6f);
  }
  SUBCASE("irregular graph against dense powers; drop_tol gives a lower bound") {
    Edges e = random_connected(30, 25, 3);
    e.emplace_back(4, 4);  // a self loop, ignored
    const Csr g = undirected(31, e);
    const Mat r = pe::random_walk_pe(g, 9);
    const MatD want = dense_rwse(31, e, 9);
    CHECK((r.cast<double>() - want).cwiseAbs().maxCoeff() < 1e-6);
    pe::RandomWalkOptions opt;
    opt.drop_tol = 0.02;
    const Mat lo = pe::random_walk_pe(g, 9, opt);
    CHECK((lo.array() <= r.array() + 1e-6f).all());
    CHECK((lo - r).cwiseAbs().maxCoeff() > 1e-4f);  // the tolerance does drop something here
    CHECK((lo.col(1) - r.col(1)).cwiseAbs().maxCoeff() < 1e-6f);  // 1 step each way: exact
  }
}

TEST_CASE("Anchor sets follow P-GNN's sizes and are reproducible") {
  const pe::AnchorSets s = pe::sample_anchor_sets(300, 42);
  REQUIRE(s.num_sets() == 8 * 8);  // floor(log2 300) = 8 sizes, 8 copies each
  const std::vector<int64_t> sizes{150, 75, 37, 18, 9, 4, 2, 1};
  for (int j = 0; j < 8; ++j)
    for (int r = 0; r < 8; ++r) {
      const int64_t i = j * 8 + r;
      CHECK(s.set_size(i) == sizes[j]);
      const auto b = s.nodes.begin() + s.offsets[i], e = s.nodes.begin() + s.offsets[i + 1];
      CHECK(std::adjacent_find(b, e, std::greater_equal<int32_t>()) == e);  // strictly increasing
      CHECK(*b >= 0);
      CHECK(*(e - 1) < 300);
    }
  const pe::AnchorSets again = pe::sample_anchor_sets(300, 42), other = pe::sample_anchor_sets(300, 43);
  CHECK(again.nodes == s.nodes);
  CHECK(other.nodes != s.nodes);
  CHECK(!std::equal(s.nodes.begin(), s.nodes.begin() + 150, s.nodes.begin() + 150));  // copies differ
  // Small n: sizes clamp to 1; n = 1 gives one set {0}; n = 0 none.
  const pe::AnchorSets s5 = pe::sample_anchor_sets(5, 1);
  CHECK(s5.num_sets() == 4);
  CHECK(s5.set_size(0) == 2);
  CHECK(s5.set_size(3) == 1);
  const pe::AnchorSets s1 = pe::sample_anchor_sets(1, 1);
  CHECK(s1.num_sets() == 1);
  CHECK(s1.nodes == std::vector<int32_t>{0});
  CHECK(pe::sample_anchor_sets(0, 1).num_sets() == 0);
  const pe::AnchorSets ex = pe::sample_anchor_sets(64, 9, 3, 2);
  CHECK(ex.num_sets() == 6);
  CHECK(ex.set_size(5) == 8);
  // Sampling uses every node about equally often (uniform): node 0 in set 0 (size 150 of 300)
  // in about half of 200 seeds.
  int hits = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    const pe::AnchorSets t = pe::sample_anchor_sets(300, seed, 1, 1);
    hits += std::binary_search(t.nodes.begin(), t.nodes.end(), 0);
  }
  CHECK(hits > 70);
  CHECK(hits < 130);
}

TEST_CASE("Anchor distances (and anchor_depths, anchor_values) equal brute-force BFS, for 1 and 2 threads and every BFS direction") {
  const int32_t n = 300;
  // Sparse: long paths, several components, isolated nodes (mostly top-down); denser: large sets
  // reach most nodes in one hop (the hybrid goes bottom-up there, and back).
  for (int64_t m : {330, 1500}) {
    CAPTURE(m);
    Rng rng(17);
    Edges e;
    add_random_edges(e, 0, n, m, rng);
    const Csr g = undirected(n, e);
    const auto dist = all_pairs_bfs(n, e);
    const pe::AnchorSets s = pe::sample_anchor_sets(n, 5);
    const int64_t ns = s.num_sets();
    std::vector<std::pair<std::vector<int>, std::vector<int32_t>>> bf;  // per set: distance, nearest
    for (int64_t i = 0; i < ns; ++i)
      bf.push_back(brute_force_nearest(n, e, dist, {s.nodes.begin() + s.offsets[i], s.nodes.begin() + s.offsets[i + 1]}));
    const int saved = omp_get_max_threads();
    for (int cutoff : {-1, 0, 2, 3}) {
      CAPTURE(cutoff);
      omp_set_num_threads(1);
      const pe::AnchorDistances one = pe::anchor_distances(g, s, cutoff);
      omp_set_num_threads(2);
      const pe::AnchorDistances two = pe::anchor_distances(g, s, cutoff);
      CHECK(one.value == two.value);
      CHECK(one.nearest == two.nearest);
      // The bit-parallel values: the same floats, for any thread count; 81 sets fill a word and a
      // part of the next.
      CHECK(pe::anchor_values(g, s, cutoff) == one.value);
      const pe::AnchorSets s81 = pe::sample_anchor_sets(n, 6, 9, 9);
      const Mat v81 = pe::anchor_values(g, s81, cutoff);
      omp_set_num_threads(1);
      CHECK(pe::anchor_values(g, s, cutoff) == one.value);
      CHECK(pe::anchor_values(g, s81, cutoff) == v81);
      omp_set_num_threads(2);
      CHECK(v81 == pe::anchor_distances(g, s81, cutoff).value);
      for (pe::BfsDirection dir : {pe::BfsDirection::top_down, pe::BfsDirection::bottom_up}) {
        const pe::AnchorDistances forced = pe::anchor_distances(g, s, cutoff, dir);
        CHECK(forced.value == one.value);
        CHECK(forced.nearest == one.nearest);
      }
      REQUIRE(one.value.rows() == n);
      REQUIRE(one.value.cols() == ns);
      const pe::IndexMat depth = pe::anchor_depths(g, s, cutoff);  // the same BFS, hop counts only
      REQUIRE(depth.rows() == n);
      REQUIRE(depth.cols() == ns);
      int mismatches = 0, reached = 0, beyond = 0;
      for (int64_t i = 0; i < ns; ++i) {
        const auto& [best, arg] = bf[i];
        for (int32_t v = 0; v < n; ++v) {
          int d = best[v], a = arg[v];
          if (d >= 0 && cutoff >= 0 && d > cutoff) d = -1, a = -1, ++beyond;
          const float want = d < 0 ? 0.0f : 1.0f / static_cast<float>(d + 1);
          mismatches += one.value(v, i) != want || one.nearest(v, i) != a || depth(v, i) != d;
          reached += d >= 0;
        }
      }
      CHECK(mismatches == 0);
      CHECK(reached > 0);
      if (cutoff == 2 && m == 330) CHECK(beyond > 0);  // the cutoff matters on this graph
    }
    omp_set_num_threads(saved);
  }
}

TEST_CASE("anchor_values beyond 254 hops: a 700-node path, no cutoff and cutoffs around 255") {
  const int32_t n = 700;
  Edges e;
  for (int32_t v = 0; v + 1 < n; ++v) e.emplace_back(v, v + 1);
  const Csr g = undirected(n, e);
  pe::AnchorSets s = pe::sample_anchor_sets(n, 3, 7, 10);  // 70 sets: a full word and 6 more
  s.nodes.push_back(0), s.offsets.push_back(static_cast<int64_t>(s.nodes.size()));  // one end alone
  for (const int cutoff : {-1, 254, 255, 300}) {
    CAPTURE(cutoff);
    const Mat v = pe::anchor_values(g, s, cutoff);
    CHECK(v == pe::anchor_distances(g, s, cutoff).value);
    const int64_t last = s.num_sets() - 1;  // node 699 is 699 hops from node 0
    CHECK(v(699, last) == (cutoff < 0 ? 1.0f / 700.0f : 0.0f));
    CHECK(v(300, last) == (cutoff < 0 || cutoff >= 300 ? 1.0f / 301.0f : 0.0f));
  }
}

TEST_CASE("random_sign_flip flips whole columns, deterministically per key") {
  Mat v = Mat::Random(5, 256);
  const Mat a = pe::random_sign_flip(v, 99), b = pe::random_sign_flip(v, 99), c = pe::random_sign_flip(v, 100);
  CHECK(a == b);
  CHECK(a != c);
  int flipped = 0;
  for (Eigen::Index j = 0; j < v.cols(); ++j) {
    const bool same = a.col(j) == v.col(j), neg = a.col(j) == -v.col(j);
    CHECK((same || neg));
    flipped += neg;
  }
  CHECK(flipped > 90);
  CHECK(flipped < 166);
}
