#include "train/pair_ranking.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace locus {
namespace {

constexpr int64_t kBlock = 256;  // queries per product block

// (score, node) ordered best first: higher score, then smaller node.
struct Better {
  bool operator()(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) const {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }
};

// Calls row(q, s) for each query q with s = Z_{queries[q]} Zᵀ as a pointer to N logits, blocks of
// kBlock queries in parallel (each thread its own block buffer); then progress(done, total).
template <class F>
void for_each_score_row(const Mat& z, std::span<const int32_t> queries, F&& row, const RankProgress& progress) {
  const int64_t n = z.rows(), nq = static_cast<int64_t>(queries.size());
  const int64_t blocks = (nq + kBlock - 1) / kBlock;
  int64_t done = 0;
#pragma omp parallel
  {
    Mat zq, s;  // [b, d], [b, N] row-major
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t q0 = b * kBlock, q1 = std::min(nq, q0 + kBlock);
      zq.resize(q1 - q0, z.cols());
      for (int64_t q = q0; q < q1; ++q) zq.row(q - q0) = z.row(queries[q]);
      s.noalias() = zq * z.transpose();
      for (int64_t q = q0; q < q1; ++q) row(q, s.row(q - q0).data(), n);
      if (progress) {
#pragma omp critical(locus_rank_progress)
        {
          done += q1 - q0;
          progress(done, nq);
        }
      }
    }
  }
}

}  // namespace

std::vector<float> pair_logits(const Mat& z, std::span<const int32_t> u, std::span<const int32_t> v) {
  check(u.size() == v.size(), "pair_logits: the endpoint lists differ in length");
  std::vector<float> out(u.size());
  for (size_t i = 0; i < u.size(); ++i) out[i] = z.row(u[i]).dot(z.row(v[i]));
  return out;
}

TopK top_k_partners(const Mat& z, std::span<const int32_t> queries, int k, const Csr& known,
                    const RankProgress& progress) {
  check(k >= 1, "top_k_partners: k must be at least 1");
  check(known.num_dst == z.rows() && known.num_src == z.rows(), "top_k_partners: the graph and Z differ in nodes");
  const Csr g = known.symmetrise();
  TopK out;
  out.k = k;
  out.partner.assign(queries.size() * static_cast<size_t>(k), -1);
  out.score.assign(queries.size() * static_cast<size_t>(k), -std::numeric_limits<float>::infinity());
  for_each_score_row(z, queries, [&](int64_t q, const float* s, int64_t n) {
    const int32_t u = queries[q];
    // A bounded heap whose top is the worst kept pair. Most candidates fail the one comparison
    // with it; only those that pass are looked up in u's sorted adjacency row.
    std::vector<std::pair<float, int32_t>> heap;
    heap.reserve(static_cast<size_t>(k) + 1);
    const int32_t* nb = g.indices.data() + g.indptr[u];
    const int32_t* nb_end = g.indices.data() + g.indptr[u + 1];
    for (int32_t w = 0; w < n; ++w) {
      const bool full = static_cast<int>(heap.size()) == k;
      if (full && s[w] <= heap.front().first) continue;  // ties keep the smaller index, already kept
      if (w == u || std::binary_search(nb, nb_end, w)) continue;
      const std::pair<float, int32_t> c{s[w], w};
      if (!full) {
        heap.push_back(c);
        std::push_heap(heap.begin(), heap.end(), Better{});
      } else if (Better{}(c, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), Better{});
        heap.back() = c;
        std::push_heap(heap.begin(), heap.end(), Better{});
      }
    }
    std::sort_heap(heap.begin(), heap.end(), Better{});  // best first
    for (size_t j = 0; j < heap.size(); ++j) {
      out.partner[q * k + j] = heap[j].second;
      out.score[q * k + j] = heap[j].first;
    }
  }, progress);
  return out;
}

RankingScores ranking_scores(const Mat& z, const PairPart& part, const Csr& known, const std::vector<int>& ks) {
  RankingScores r;
  r.ks = ks;
  std::vector<float> pos, neg;
  std::vector<int32_t> pu, pv;
  const std::vector<float> logits = pair_logits(z, part.u, part.v);
  for (int64_t i = 0; i < part.size(); ++i) {
    if (part.target[i] == 1) {
      pos.push_back(logits[i]);
      pu.push_back(part.u[i]);
      pv.push_back(part.v[i]);
    } else {
      neg.push_back(logits[i]);
    }
  }
  r.positives = static_cast<int64_t>(pos.size());
  if (pos.empty()) {
    r.hits.assign(ks.size(), std::nan(""));
    r.mrr = std::nan("");
    return r;
  }
  std::sort(neg.begin(), neg.end(), std::greater<>());
  for (int k : ks) {
    const float bar = static_cast<int>(neg.size()) >= k ? neg[k - 1] : -std::numeric_limits<float>::infinity();
    const auto above = std::count_if(pos.begin(), pos.end(), [&](float p) { return p > bar; });
    r.hits.push_back(static_cast<double>(above) / static_cast<double>(pos.size()));
  }
  // Filtered ranks: candidates are every node but u and u's known neighbours; v itself always counts.
  const Csr g = known.symmetrise();
  std::vector<double> reciprocal(pos.size());
  for_each_score_row(z, pu, [&](int64_t q, const float* s, int64_t n) {
    const int32_t u = pu[q], v = pv[q];
    const float target = s[v];
    // Every node scoring above v, less those that are not candidates (u, and u's neighbours but v).
    int64_t better = 0;
    for (int32_t w = 0; w < n; ++w) better += s[w] > target;
    better -= s[u] > target;
    for (int64_t e = g.indptr[u]; e < g.indptr[u + 1]; ++e) {
      const int32_t w = g.indices[e];
      if (w != u && w != v && (e == g.indptr[u] || g.indices[e - 1] != w)) better -= s[w] > target;
    }
    reciprocal[q] = 1.0 / static_cast<double>(1 + better);
  }, {});
  double sum = 0;
  for (double x : reciprocal) sum += x;  // in pair order: the same sum for any thread count
  r.mrr = sum / static_cast<double>(reciprocal.size());
  return r;
}

}  // namespace locus
