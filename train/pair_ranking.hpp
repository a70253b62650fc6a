// Scoring and ranking node pairs with a pair model's embeddings Z [N, d] (L2-normalised rows, as
// Model::predict returns them): the logit of {u, v} is z_u · z_v, as training scores pairs, and
// its probability σ(z_u · z_v). Top-k partners per node by a blocked product and a bounded heap;
// Hits at K and MRR of held-out positive pairs under the OGB link-prediction conventions.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/graph.hpp"
#include "core/tensor.hpp"
#include "datasets/tasks.hpp"

namespace locus {

// z_u[i] · z_v[i] for each listed pair.
std::vector<float> pair_logits(const Mat& z, std::span<const int32_t> u, std::span<const int32_t> v);

// Row q holds query q's partners, best first: partner[q·k + j] (−1 when fewer than k remain) and
// its logit score[q·k + j].
struct TopK {
  int k = 0;
  std::vector<int32_t> partner;
  std::vector<float> score;
};

// For each query node, the k highest-logit partners among all N nodes except the query itself and
// its neighbours in `known` (an undirected view is taken: u–v known either way excludes both
// directions). Ties go to the smaller node index. Queries run in blocks of 256: S = Z_q Zᵀ as one
// product per block (in parallel over blocks), then one pass per row keeping a k-element heap:
// O(|Q|·N·d + |Q|·N·log k) time, O(256·N) memory per thread. `progress(done, total)` (optional)
// is called after each block with the queries ranked so far, from one thread at a time.
using RankProgress = std::function<void(int64_t done, int64_t total)>;
TopK top_k_partners(const Mat& z, std::span<const int32_t> queries, int k, const Csr& known,
                    const RankProgress& progress = {});

struct RankingScores {
  int64_t positives = 0;
  // OGB's Hits at K (ogbl-collab, ogbl-ddi): the fraction of positive pairs whose logit is above the
  // K-th highest logit among the negative pairs (all positives count when there are < K negatives).
  std::vector<int> ks;
  std::vector<double> hits;
  // Filtered MRR: each positive {u, v} ranked among v and every other node w ≠ u not known as a
  // neighbour of u (rank = 1 + #{w : logit(u, w) > logit(u, v)}), 1/rank averaged; like
  // ogbl-citation2's, with all non-neighbours as candidates instead of 1000 sampled ones.
  double mrr = 0;
};

// `part` holds positive (target 1) and negative (target 0) pairs, e.g. a task split's test part.
RankingScores ranking_scores(const Mat& z, const PairPart& part, const Csr& known, const std::vector<int>& ks = {10, 50});

}  // namespace locus
