// Train/validation/test splits of node pairs for the pair tasks of GIR.md ("Tasks and
// protocol", P-GNN's): link prediction (held-out edges against non-edges) and pairwise node
// classification (same label against different labels). Deterministic from a seed on every
// platform and thread count (SplitRng and integer arithmetic only, datasets/splits.hpp).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "datasets/dataset.hpp"

namespace locus {

// A set of undirected node pairs {a, b}, a != b: sorted unique keys (min << 32) | max, so
// membership is a binary search, O(log size), with the pair in either order.
class EdgeSet {
 public:
  EdgeSet() = default;
  // The pairs (a[i], b[i]); their order, duplicates and order within a pair do not matter;
  // self loops are skipped. a and b have equal length.
  EdgeSet(std::span<const int32_t> a, std::span<const int32_t> b);
  static EdgeSet from_keys(std::vector<uint64_t> keys);  // keys as key(); sorted and deduplicated here
  static uint64_t key(int32_t a, int32_t b);             // (min << 32) | max; both ≥ 0
  static int32_t first(uint64_t k) { return static_cast<int32_t>(k >> 32); }          // min of key()
  static int32_t second(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }  // max of key()
  bool contains(int32_t a, int32_t b) const;
  int64_t size() const { return static_cast<int64_t>(keys_.size()); }
  const std::vector<uint64_t>& keys() const { return keys_; }

 private:
  std::vector<uint64_t> keys_;
};

// One part of a split: pair p is (u[p], v[p]) with u < v, target[p] = 1 (positive) or 0
// (negative). Positives come first, in increasing (u, v), then as many negatives in draw order.
struct PairPart {
  std::vector<int32_t> u, v;
  std::vector<int32_t> target;
  int64_t size() const { return static_cast<int64_t>(u.size()); }
  int64_t num_positive() const;  // the number of target 1
};

// A split for a pair task. LinkSplit and PairSplit are the same type, so a trainer handles both.
struct TaskSplit {
  Task task = Task::LinkPrediction;
  int64_t num_nodes = 0;
  // The message-passing graph as a directed edge list (Dataset::src / dst conventions):
  // link prediction: the train positives only, each as u->v then v->u, in increasing (u, v);
  // pair classification: the dataset's edges unchanged (src/dst copied, no weights).
  std::vector<int32_t> src, dst;
  PairPart train, val, test;
  // The pairs that resampled training negatives avoid (resample_train_negatives): the train
  // positives and every val/test pair, positive or negative. So a held-out pair is never a
  // training example and training never reveals a held-out label. (P-GNN excludes only the
  // train positives, which lets val/test pairs appear as training negatives.)
  EdgeSet train_exclude;
  // Pair classification: a copy of Dataset::labels (negatives need different labels);
  // empty for link prediction.
  std::vector<int32_t> labels;
};
using LinkSplit = TaskSplit;
using PairSplit = TaskSplit;

// Link prediction. Positives: the unique undirected edges {u, v}, u < v (self loops dropped;
// a directed dataset is read as undirected, as P-GNN does; weights are ignored), in increasing
// order, shuffled with SplitRng(seed) (Fisher-Yates), then cut into val = round(val·E),
// test = round(test·E) and train = the rest (the first train positives of the shuffle, then
// val, then test). Each part then gets as many negatives, drawn uniformly among the non-edges
// of the FULL graph (u < v, u != v), distinct within and across parts (train's drawn first,
// then val's, then test's, from the same generator). Message-passing graph: train positives.
// InputErrors: a sentence dataset (no edge list), no edges, val or test < 0 or val + test ≥ 1,
// no edge left for training, fewer non-edges than edges (too dense, or too few nodes).
LinkSplit make_link_split(const Dataset& d, uint64_t seed, double val = 0.1, double test = 0.1);

// Pairwise node classification. Positives: the pairs u < v of labelled nodes with the same
// label; when there are more than max_positive_pairs, a uniform random subset of exactly
// max_positive_pairs of them (drawn with the same generator; communities-sized graphs are far
// below the default cap: 400 nodes in 20 classes give 3800, a 20 x 20 grid's quadrants 19800).
// Then shuffled and cut like the link split; each part gets as many negatives: distinct pairs
// u < v of labelled nodes with different labels, uniform, not repeated across parts. Unlabelled
// nodes (label -1) take no part. The graph keeps all of the dataset's edges.
// InputErrors: a sentence dataset, no labels, no two nodes with the same label, fractions as
// above, fewer different-label pairs than positives, max_positive_pairs < 1.
PairSplit make_pair_split(const Dataset& d, uint64_t seed, double val = 0.1, double test = 0.1,
                          int64_t max_positive_pairs = 200000);

// make_link_split or make_pair_split by task (defaults as above); NodeClassification is an
// InputError.
TaskSplit make_task_split(const Dataset& d, Task task, uint64_t seed, double val = 0.1, double test = 0.1);

// `count` distinct negative pairs u < v, u != v, for fresh training negatives (P-GNN resamples
// them every epoch): uniform among the pairs of nodes 0..n-1 that are not in `exclude` and,
// when `labels` is not empty (one per node), join two labelled nodes with different labels.
// Target 0 each, in draw order. Rejection sampling (uniform ordered pairs, redrawn when they do
// not qualify or repeat) while at least twice `count` pairs qualify, else every qualifying pair
// is listed and a partial Fisher-Yates picks `count`: about count / (qualifying share) draws or
// one n²/2 listing, never unbounded. InputError when fewer than `count` pairs qualify.
// Measured (Release): 3040 fresh negatives for communities 0.34 ms; 800k for a 200k-node,
// 1M-edge random graph 0.6 s.
PairPart sample_negatives(int64_t n, const EdgeSet& exclude, int64_t count, uint64_t seed,
                          std::span<const int32_t> labels = {});

// Replaces the negatives of s.train by sample_negatives(s.num_nodes, s.train_exclude,
// #train positives, seed, s.labels); the positives stay, first. Call with a new seed per epoch
// (e.g. split seed + 1 + epoch).
void resample_train_negatives(TaskSplit& s, uint64_t seed);

}  // namespace locus
