#include "datasets/tasks.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/error.hpp"
#include "datasets/splits.hpp"

namespace locus {

// ---------------------------------------------------------------------------------------------
// EdgeSet, PairPart

uint64_t EdgeSet::key(int32_t a, int32_t b) {
  const auto lo = static_cast<uint64_t>(std::min(a, b)), hi = static_cast<uint64_t>(std::max(a, b));
  return (lo << 32) | hi;
}

EdgeSet::EdgeSet(std::span<const int32_t> a, std::span<const int32_t> b) {
  check(a.size() == b.size(), "EdgeSet: the two endpoint lists differ in length");
  keys_.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) keys_.push_back(key(a[i], b[i]));
  std::sort(keys_.begin(), keys_.end());
  keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
}

EdgeSet EdgeSet::from_keys(std::vector<uint64_t> keys) {
  EdgeSet s;
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  s.keys_ = std::move(keys);
  return s;
}

bool EdgeSet::contains(int32_t a, int32_t b) const {
  return std::binary_search(keys_.begin(), keys_.end(), key(a, b));
}

int64_t PairPart::num_positive() const { return std::count(target.begin(), target.end(), 1); }

namespace {

void shuffle_keys(std::vector<uint64_t>& v, SplitRng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

void append_pairs(PairPart& part, const std::vector<uint64_t>& keys, size_t begin, size_t end, int32_t target) {
  for (size_t i = begin; i < end; ++i) {
    part.u.push_back(EdgeSet::first(keys[i]));
    part.v.push_back(EdgeSet::second(keys[i]));
    part.target.push_back(target);
  }
}

// Sampling constraint on a candidate pair: labels (when present) differ and both exist.
struct Qualify {
  std::span<const int32_t> labels;
  bool operator()(int32_t a, int32_t b) const {
    if (labels.empty()) return true;
    return labels[a] >= 0 && labels[b] >= 0 && labels[a] != labels[b];
  }
};

// Number of qualifying pairs among nodes 0..n-1 (before exclusions).
int64_t qualifying_pairs(int64_t n, std::span<const int32_t> labels) {
  if (labels.empty()) return n * (n - 1) / 2;
  std::vector<int64_t> per_class;
  int64_t labelled = 0;
  for (int32_t c : labels) {
    if (c < 0) continue;
    if (static_cast<size_t>(c) >= per_class.size()) per_class.resize(static_cast<size_t>(c) + 1, 0);
    ++per_class[c], ++labelled;
  }
  int64_t same = 0;
  for (int64_t m : per_class) same += m * (m - 1) / 2;
  return labelled * (labelled - 1) / 2 - same;
}

// Draws `count` distinct pairs u < v of nodes 0..n-1 that qualify and are neither in `exclude`
// nor in `taken`, uniformly; appends them to `out` with target 0 and adds them to `taken`.
// The caller has checked that enough pairs qualify (`available` of them remain).
void draw_pairs(int64_t n, const EdgeSet& exclude, const Qualify& ok, int64_t count, int64_t available,
                SplitRng& rng, std::unordered_set<uint64_t>& taken, PairPart& out) {
  if (count <= 0) return;
  if (available >= 2 * count) {
    // Rejection: each draw is a uniform ordered pair of distinct nodes; the accepted unordered
    // pairs are uniform among the remaining qualifying ones. Acceptance ≥ (available − count) /
    // (n(n−1)/2) ≥ half the qualifying share.
    for (int64_t got = 0; got < count;) {
      const auto a = static_cast<int32_t>(rng.below(static_cast<uint64_t>(n)));
      const auto b = static_cast<int32_t>(rng.below(static_cast<uint64_t>(n)));
      if (a == b || !ok(a, b) || exclude.contains(a, b)) continue;
      const uint64_t k = EdgeSet::key(a, b);
      if (!taken.insert(k).second) continue;
      out.u.push_back(std::min(a, b));
      out.v.push_back(std::max(a, b));
      out.target.push_back(0);
      ++got;
    }
    return;
  }
  // Dense: list every remaining pair in key order (a merge walk over the sorted exclusions),
  // then a partial Fisher-Yates picks `count` of them.
  std::vector<uint64_t> pool;
  pool.reserve(static_cast<size_t>(available));
  const auto& ex = exclude.keys();
  size_t e = 0;
  for (int32_t a = 0; a < n; ++a)
    for (int32_t b = a + 1; b < n; ++b) {
      const uint64_t k = EdgeSet::key(a, b);
      while (e < ex.size() && ex[e] < k) ++e;
      if (e < ex.size() && ex[e] == k) continue;
      if (!ok(a, b) || taken.count(k)) continue;
      pool.push_back(k);
    }
  check(static_cast<int64_t>(pool.size()) >= count, "draw_pairs: fewer pairs than counted");
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t left = pool.size() - static_cast<uint64_t>(i);
    std::swap(pool[static_cast<size_t>(i)], pool[static_cast<size_t>(i) + rng.below(left)]);
    taken.insert(pool[static_cast<size_t>(i)]);
  }
  append_pairs(out, pool, 0, static_cast<size_t>(count), 0);
}

// Pairs in `exclude` that qualify (so `available` does not count them twice).
int64_t excluded_qualifying(int64_t n, const EdgeSet& exclude, const Qualify& ok) {
  int64_t c = 0;
  for (uint64_t k : exclude.keys())
    if (EdgeSet::second(k) < n && ok(EdgeSet::first(k), EdgeSet::second(k))) ++c;
  return c;
}

void check_fractions(const std::string& what, double val, double test) {
  if (!(val >= 0) || !(test >= 0) || !(val + test < 1))
    throw_input_error("", 0, what + ": bad split fractions", "val " + std::to_string(val) + ", test " + std::to_string(test),
                      "val and test must be >= 0 with val + test < 1 (train gets the rest; P-GNN uses 0.1 and 0.1)");
}

void check_edge_list(const std::string& what, const Dataset& d) {
  if (d.is_sentences())
    throw_input_error("", 0, what + " needs a graph given as an edge list, not the sentence dataset", d.name,
                      "use an edge-list dataset (a dataset.yaml with edges:, or grid, communities, ...)");
}

struct Cut {
  size_t train, val, test;
};

Cut cut(const std::string& what, const Dataset& d, size_t total, double val, double test, const char* unit) {
  // As random_split (datasets/splits.hpp): round(fraction * total) per part, train the rest.
  const auto nd = static_cast<double>(total);
  const size_t nv = std::min(total, static_cast<size_t>(std::llround(val * nd)));
  const size_t nt = std::min(total - nv, static_cast<size_t>(std::llround(test * nd)));
  const size_t ntr = total - nv - nt;
  if (ntr == 0)
    throw_input_error("", 0, what + ": no " + std::string(unit) + " left for training in dataset", d.name,
                      std::to_string(total) + " " + unit + " give " + std::to_string(nv) + " to val and " +
                          std::to_string(nt) + " to test; lower the val/test fractions or use a larger graph");
  return {ntr, nv, nt};
}

// Shuffled positives → three parts with sorted positives, then negatives per part.
void fill_parts(TaskSplit& s, std::vector<uint64_t>& pos, const Cut& c, int64_t available, const EdgeSet& exclude,
                const Qualify& ok, SplitRng& rng) {
  std::sort(pos.begin(), pos.begin() + static_cast<std::ptrdiff_t>(c.train));
  std::sort(pos.begin() + static_cast<std::ptrdiff_t>(c.train), pos.begin() + static_cast<std::ptrdiff_t>(c.train + c.val));
  std::sort(pos.begin() + static_cast<std::ptrdiff_t>(c.train + c.val), pos.end());
  append_pairs(s.train, pos, 0, c.train, 1);
  append_pairs(s.val, pos, c.train, c.train + c.val, 1);
  append_pairs(s.test, pos, c.train + c.val, pos.size(), 1);
  std::unordered_set<uint64_t> taken;
  taken.reserve(pos.size() * 2);
  for (PairPart* p : {&s.train, &s.val, &s.test}) {
    const int64_t need = p->size();
    draw_pairs(s.num_nodes, exclude, ok, need, available, rng, taken, *p);
    available -= need;
  }
  // Everything a resampled training negative must avoid: train positives and held-out pairs.
  std::vector<uint64_t> ex(pos.begin(), pos.begin() + static_cast<std::ptrdiff_t>(c.train));
  for (const PairPart* p : {&s.val, &s.test})
    for (int64_t i = 0; i < p->size(); ++i) ex.push_back(EdgeSet::key(p->u[i], p->v[i]));
  s.train_exclude = EdgeSet::from_keys(std::move(ex));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
LinkSplit make_link_split(const Dataset& d, uint64_t seed, double val, double test) {
  const std::string what = "link prediction";
  check_edge_list(what, d);
  check_fractions(what, val, test);
  std::vector<uint64_t> pos;
  pos.reserve(d.src.size() / 2 + 1);
  check(d.src.size() == d.dst.size(), "make_link_split: src and dst differ in length");
  for (size_t i = 0; i < d.src.size(); ++i) {
    if (d.src[i] < 0 || d.src[i] >= d.num_nodes || d.dst[i] < 0 || d.dst[i] >= d.num_nodes)
      throw ShapeError("make_link_split: edge " + std::to_string(i) + " leaves the " + std::to_string(d.num_nodes) +
                       " nodes");
    if (d.src[i] != d.dst[i]) pos.push_back(EdgeSet::key(d.src[i], d.dst[i]));
  }
  std::sort(pos.begin(), pos.end());
  pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
  if (pos.empty())
    throw_input_error(d.source, 0, what + " needs edges to hold out, but there are none (self loops aside) in dataset",
                      d.name, "add edges to the dataset's edge list, or choose dataset.task=node_classification");
  const auto E = static_cast<int64_t>(pos.size());
  const int64_t non_edges = d.num_nodes * (d.num_nodes - 1) / 2 - E;
  if (non_edges < E)
    throw_input_error(d.source, 0, what + ": too few non-edges for the negatives in dataset", d.name,
                      std::to_string(d.num_nodes) + " nodes and " + std::to_string(E) + " edges leave " +
                          std::to_string(non_edges) + " unlinked pairs, but " + std::to_string(E) +
                          " negatives are needed (one per edge); the graph is too small or too dense");
  const Cut c = cut(what, d, pos.size(), val, test, "edges");
  LinkSplit s;
  s.task = Task::LinkPrediction;
  s.num_nodes = d.num_nodes;
  SplitRng rng(seed);
  shuffle_keys(pos, rng);
  const EdgeSet all = EdgeSet::from_keys(pos);
  fill_parts(s, pos, c, non_edges, all, Qualify{}, rng);
  s.src.reserve(2 * c.train), s.dst.reserve(2 * c.train);
  for (int64_t i = 0; i < static_cast<int64_t>(c.train); ++i) {
    s.src.push_back(s.train.u[i]), s.dst.push_back(s.train.v[i]);
    s.src.push_back(s.train.v[i]), s.dst.push_back(s.train.u[i]);
  }
  return s;
}

PairSplit make_pair_split(const Dataset& d, uint64_t seed, double val, double test, int64_t max_positive_pairs) {
  const std::string what = "pair classification";
  check_edge_list(what, d);
  check_fractions(what, val, test);
  if (max_positive_pairs < 1)
    throw_input_error("", 0, what + ": bad positive-pair cap", std::to_string(max_positive_pairs), "give a cap >= 1");
  if (d.labels.empty())
    throw_input_error("", 0, what + " needs node labels (pairs are positive when both nodes share a label); none in dataset",
                      d.name, "add 'labels:' to the dataset.yaml");
  check(static_cast<int64_t>(d.labels.size()) == d.num_nodes, "make_pair_split: one label per node needed");
  // Labelled nodes per class, in increasing node id.
  std::vector<std::vector<int32_t>> members;
  for (int32_t v = 0; v < static_cast<int32_t>(d.labels.size()); ++v) {
    const int32_t c = d.labels[v];
    if (c < 0) continue;
    if (static_cast<size_t>(c) >= members.size()) members.resize(static_cast<size_t>(c) + 1);
    members[c].push_back(v);
  }
  // prefix[c] = same-label pairs in classes before c.
  std::vector<int64_t> prefix(members.size() + 1, 0);
  for (size_t c = 0; c < members.size(); ++c) {
    const auto m = static_cast<int64_t>(members[c].size());
    prefix[c + 1] = prefix[c] + m * (m - 1) / 2;
  }
  const int64_t num_same = prefix.back();
  if (num_same == 0)
    throw_input_error("", 0, what + ": no two nodes share a label in dataset", d.name,
                      "positive pairs are pairs of nodes with the same label (community); give labels with repeated values");
  const Qualify ok{d.labels};
  const int64_t num_diff = qualifying_pairs(static_cast<int64_t>(d.labels.size()), d.labels);
  const int64_t M = std::min(num_same, max_positive_pairs);
  if (num_diff < M)
    throw_input_error("", 0, what + ": too few pairs with different labels for the negatives in dataset", d.name,
                      std::to_string(M) + " positive pairs need as many negatives, but only " + std::to_string(num_diff) +
                          " pairs of labelled nodes have different labels");
  SplitRng rng(seed);
  std::vector<uint64_t> pos;
  if (num_same <= 2 * M) {
    // All same-label pairs (in key order), then, over the cap, a partial Fisher-Yates picks M.
    pos.reserve(static_cast<size_t>(num_same));
    for (const auto& mem : members)
      for (size_t i = 0; i < mem.size(); ++i)
        for (size_t j = i + 1; j < mem.size(); ++j) pos.push_back(EdgeSet::key(mem[i], mem[j]));
    std::sort(pos.begin(), pos.end());
    if (M < num_same) {
      for (int64_t i = 0; i < M; ++i)
        std::swap(pos[static_cast<size_t>(i)], pos[static_cast<size_t>(i) + rng.below(static_cast<uint64_t>(num_same - i))]);
      pos.resize(static_cast<size_t>(M));
      std::sort(pos.begin(), pos.end());
    }
  } else {
    // Far over the cap: rejection. A class with probability (its pairs) / num_same, then two
    // distinct members uniformly, is a uniform same-label pair; duplicates are redrawn.
    std::unordered_set<uint64_t> seen;
    seen.reserve(static_cast<size_t>(2 * M));
    while (static_cast<int64_t>(pos.size()) < M) {
      const auto r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(num_same)));
      const size_t c = static_cast<size_t>(std::upper_bound(prefix.begin(), prefix.end(), r) - prefix.begin()) - 1;
      const auto& mem = members[c];
      const size_t i = rng.below(mem.size()), j = rng.below(mem.size());
      if (i == j) continue;
      const uint64_t k = EdgeSet::key(mem[i], mem[j]);
      if (seen.insert(k).second) pos.push_back(k);
    }
    std::sort(pos.begin(), pos.end());
  }
  const Cut c = cut(what, d, pos.size(), val, test, "positive pairs");
  PairSplit s;
  s.task = Task::PairClassification;
  s.num_nodes = d.num_nodes;
  s.src = d.src, s.dst = d.dst;
  s.labels = d.labels;
  shuffle_keys(pos, rng);
  fill_parts(s, pos, c, num_diff, EdgeSet{}, ok, rng);
  return s;
}

TaskSplit make_task_split(const Dataset& d, Task task, uint64_t seed, double val, double test) {
  switch (task) {
    case Task::LinkPrediction: return make_link_split(d, seed, val, test);
    case Task::PairClassification: return make_pair_split(d, seed, val, test);
    case Task::NodeClassification:
    case Task::GraphClassification:
    case Task::GraphRegression: break;
  }
  throw_input_error("", 0, "no pair split for the task", task_name(task),
                    "pair splits exist for link_prediction and pair_classification");
}

PairPart sample_negatives(int64_t n, const EdgeSet& exclude, int64_t count, uint64_t seed,
                          std::span<const int32_t> labels) {
  if (count < 0) throw_input_error("", 0, "sample_negatives: negative count", std::to_string(count), "");
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != n)
    throw_input_error("", 0, "sample_negatives: one label per node needed", std::to_string(labels.size()) + " labels for " + std::to_string(n) + " nodes", "");
  const Qualify ok{labels};
  const int64_t available = qualifying_pairs(n, labels) - excluded_qualifying(n, exclude, ok);
  if (available < count)
    throw_input_error("", 0, "too few node pairs to sample negatives from", std::to_string(count) + " needed",
                      "only " + std::to_string(available) + " pairs of the " + std::to_string(n) +
                          " nodes are not excluded" + (labels.empty() ? "" : " and have different labels"));
  PairPart out;
  out.u.reserve(static_cast<size_t>(count)), out.v.reserve(static_cast<size_t>(count)), out.target.reserve(static_cast<size_t>(count));
  SplitRng rng(seed);
  std::unordered_set<uint64_t> taken;
  taken.reserve(static_cast<size_t>(2 * count));
  draw_pairs(n, exclude, ok, count, available, rng, taken, out);
  return out;
}

void resample_train_negatives(TaskSplit& s, uint64_t seed) {
  PairPart fresh;
  for (int64_t i = 0; i < s.train.size(); ++i)
    if (s.train.target[i] == 1) {
      fresh.u.push_back(s.train.u[i]);
      fresh.v.push_back(s.train.v[i]);
      fresh.target.push_back(1);
    }
  const PairPart neg = sample_negatives(s.num_nodes, s.train_exclude, fresh.size(), seed, s.labels);
  fresh.u.insert(fresh.u.end(), neg.u.begin(), neg.u.end());
  fresh.v.insert(fresh.v.end(), neg.v.begin(), neg.v.end());
  fresh.target.insert(fresh.target.end(), neg.target.begin(), neg.target.end());
  s.train = std::move(fresh);
}

}  // namespace locus
