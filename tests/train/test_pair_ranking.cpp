// Pair ranking (train/pair_ranking.hpp) against brute force: top-k partners with neighbours and
// the node itself excluded and ties to the smaller index, Hits@K against the K-th negative, and the
// filtered MRR; the same results for any thread count.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <random>

#include "train/pair_ranking.hpp"

using namespace locus;

namespace {

Mat random_z(int64_t n, int64_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  Mat z(n, d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) z(i, j) = g(rng);
  z.rowwise().normalize();
  return z;
}

// A random undirected graph as a directed edge list (one direction only: the functions symmetrise).
Csr random_graph(int64_t n, int64_t edges, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> node(0, static_cast<int32_t>(n - 1));
  std::vector<int32_t> s, d;
  for (int64_t e = 0; e < edges; ++e) s.push_back(node(rng)), d.push_back(node(rng));
  return Csr::from_edges(n, s, d);
}

bool linked(const Csr& g, int32_t a, int32_t b) {
  for (int64_t e = g.indptr[a]; e < g.indptr[a + 1]; ++e)
    if (g.indices[e] == b) return true;
  for (int64_t e = g.indptr[b]; e < g.indptr[b + 1]; ++e)
    if (g.indices[e] == a) return true;
  return false;
}

}  // namespace

TEST_CASE("top_k_partners equals a full sort of the candidates, for any block and thread count") {
  const int64_t n = 700;  // more than two query blocks of 256
  const Mat z = random_z(n, 8, 1);
  const Csr g = random_graph(n, 3000, 2);
  std::vector<int32_t> queries(n);
  for (int32_t i = 0; i < n; ++i) queries[i] = (i * 37) % static_cast<int32_t>(n);
  const int k = 7;
  const TopK top = top_k_partners(z, queries, k, g);
  for (size_t q = 0; q < queries.size(); ++q) {
    const int32_t u = queries[q];
    std::vector<std::pair<float, int32_t>> all;
    for (int32_t w = 0; w < n; ++w)
      if (w != u && !linked(g, u, w)) all.push_back({z.row(u).dot(z.row(w)), w});
    std::sort(all.begin(), all.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    for (int j = 0; j < k; ++j) {
      CHECK(top.partner[q * k + j] == all[j].second);
      CHECK(top.score[q * k + j] == doctest::Approx(all[j].first).epsilon(1e-5));
    }
  }
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const TopK one = top_k_partners(z, queries, k, g);
  omp_set_num_threads(threads);
  CHECK(one.partner == top.partner);
  CHECK(one.score == top.score);

  // Fewer candidates than k: the rest of the row is −1.
  const Mat small = random_z(4, 3, 5);
  const std::vector<int32_t> s{0, 0}, d{1, 2};
  const TopK few = top_k_partners(small, std::vector<int32_t>{0}, 3, Csr::from_edges(4, s, d));
  CHECK(few.partner == std::vector<int32_t>{3, -1, -1});
}

TEST_CASE("ranking_scores: Hits@K against the K-th negative and the filtered MRR, by brute force") {
  const int64_t n = 300;
  const Mat z = random_z(n, 6, 3);
  const Csr g = random_graph(n, 900, 4);
  std::mt19937 rng(9);
  std::uniform_int_distribution<int32_t> node(0, n - 1);
  PairPart part;
  for (int i = 0; i < 80; ++i) {
    int32_t a = node(rng), b = node(rng);
    if (a == b) continue;
    part.u.push_back(a), part.v.push_back(b), part.target.push_back(i % 2);
  }
  const RankingScores r = ranking_scores(z, part, g, {1, 10, 100});
  std::vector<double> pos, neg;
  double mrr = 0;
  for (int64_t i = 0; i < part.size(); ++i) {
    const double s = z.row(part.u[i]).dot(z.row(part.v[i]));
    (part.target[i] ? pos : neg).push_back(s);
    if (!part.target[i]) continue;
    int better = 0;
    for (int32_t w = 0; w < n; ++w)
      if (w != part.u[i] && w != part.v[i] && !linked(g, part.u[i], w))
        better += z.row(part.u[i]).dot(z.row(w)) > z.row(part.u[i]).dot(z.row(part.v[i]));
    mrr += 1.0 / (1 + better);
  }
  std::sort(neg.begin(), neg.end(), std::greater<>());
  REQUIRE(r.positives == static_cast<int64_t>(pos.size()));
  for (size_t i = 0; i < r.ks.size(); ++i) {
    const int k = r.ks[i];
    const double bar = static_cast<int>(neg.size()) >= k ? neg[k - 1] : -1e30;
    const double want = double(std::count_if(pos.begin(), pos.end(), [&](double p) { return p > bar; })) / pos.size();
    CHECK(r.hits[i] == doctest::Approx(want));
  }
  CHECK(r.hits[2] == 1.0);  // fewer than 100 negatives: every positive counts
  CHECK(r.mrr == doctest::Approx(mrr / pos.size()).epsilon(1e-9));
  CHECK(r.mrr > 0);
  CHECK(r.mrr <= 1);
}
