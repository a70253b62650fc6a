#include "datasets/splits.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace locus {

uint64_t SplitRng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t SplitRng::below(uint64_t n) {
  // Reject the lowest (2^64 mod n) values so every residue is equally likely.
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t r = next();
    if (r >= threshold) return r % n;
  }
}

void shuffle_ids(std::vector<int32_t>& v, SplitRng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

namespace {

// Sizes of the three parts of a pool of n nodes.
void part_sizes(int64_t n, const RandomSplitSpec& s, int64_t& tr, int64_t& va, int64_t& te) {
  tr = std::min<int64_t>(n, std::llround(s.train * static_cast<double>(n)));
  va = std::min<int64_t>(n - tr, std::llround(s.val * static_cast<double>(n)));
  te = s.test ? std::min<int64_t>(n - tr - va, std::llround(*s.test * static_cast<double>(n))) : n - tr - va;
}

void take(const std::vector<int32_t>& pool, int64_t tr, int64_t va, int64_t te, SplitIds& out) {
  auto b = pool.begin();
  out.train.insert(out.train.end(), b, b + tr);
  out.val.insert(out.val.end(), b + tr, b + tr + va);
  out.test.insert(out.test.end(), b + tr + va, b + tr + va + te);
}

void sort_parts(SplitIds& s) {
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
}

// The labelled nodes grouped by class: classes in increasing order, nodes in increasing order
// within each class. Memory is O(labelled nodes), not O(num_classes): a declared
// `num_classes: 2147483647` must not allocate a pool per class. Visiting only the non-empty
// classes in order draws the same random numbers as a pool per class would (an empty pool's
// shuffle draws none), so splits are unchanged.
struct ClassGroups {
  std::vector<int32_t> nodes;                      // sorted by (class, node)
  std::vector<std::pair<int32_t, size_t>> groups;  // (class, first index into nodes); one past the end at back
};

ClassGroups group_by_class(const std::vector<int32_t>& labels) {
  ClassGroups g;
  for (size_t v = 0; v < labels.size(); ++v)
    if (labels[v] >= 0) g.nodes.push_back(static_cast<int32_t>(v));
  std::stable_sort(g.nodes.begin(), g.nodes.end(), [&](int32_t a, int32_t b) {
    return labels[static_cast<size_t>(a)] < labels[static_cast<size_t>(b)];
  });
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const int32_t c = labels[static_cast<size_t>(g.nodes[i])];
    if (g.groups.empty() || g.groups.back().first != c) g.groups.emplace_back(c, i);
  }
  g.groups.emplace_back(INT32_MAX, g.nodes.size());
  return g;
}

std::string class_name(int32_t c, const std::vector<std::string>& names) {
  return names.empty() ? std::to_string(c) : "'" + names[static_cast<size_t>(c)] + "'";
}

}  // namespace

SplitIds random_split(const std::vector<int32_t>& labels, int32_t num_classes, int64_t num_nodes,
                      const RandomSplitSpec& spec, const ErrorSite& at) {
  SplitRng rng(spec.seed);
  SplitIds out;
  if (spec.stratify) {
    if (labels.empty())
      throw_input_error(at.file, at.line, "split.random.stratify needs labels", "true",
                        "add labels: to the dataset or set stratify: false");
    (void)num_classes;  // only the classes that have labelled nodes matter
    ClassGroups g = group_by_class(labels);
    for (size_t k = 0; k + 1 < g.groups.size(); ++k) {
      std::vector<int32_t> pool(g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[k].second),
                                g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[k + 1].second));
      shuffle_ids(pool, rng);
      int64_t tr, va, te;
      part_sizes(static_cast<int64_t>(pool.size()), spec, tr, va, te);
      take(pool, tr, va, te, out);
    }
  } else {
    std::vector<int32_t> pool;
    for (int64_t v = 0; v < num_nodes; ++v)
      if (labels.empty() || labels[static_cast<size_t>(v)] >= 0) pool.push_back(static_cast<int32_t>(v));
    shuffle_ids(pool, rng);
    int64_t tr, va, te;
    part_sizes(static_cast<int64_t>(pool.size()), spec, tr, va, te);
    take(pool, tr, va, te, out);
  }
  if (out.train.empty() && out.val.empty() && out.test.empty())
    throw_input_error(at.file, at.line, "split.random has no labelled nodes to split", "random",
                      "label some nodes or use split files");
  sort_parts(out);
  return out;
}

SplitIds per_class_split(const std::vector<int32_t>& labels, int32_t num_classes,
                         const std::vector<std::string>& label_names, const PerClassSplitSpec& spec,
                         const ErrorSite& at) {
  if (labels.empty())
    throw_input_error(at.file, at.line, "split.per_class needs labels", "per_class",
                      "add labels: to the dataset or use split.random");
  SplitRng rng(spec.seed);
  SplitIds out;
  ClassGroups g = group_by_class(labels);
  std::vector<char> chosen(labels.size(), 0);
  // Classes 0..num_classes-1 in order; those without labelled nodes have an empty pool.
  size_t k = 0;  // the next non-empty group
  for (int32_t c = 0; c < num_classes; ++c) {
    const bool present = g.groups[k].first == c;
    if (!present && spec.train == 0) {
      if (g.groups[k].first == INT32_MAX) break;  // no labelled nodes beyond: nothing left to draw
      c = g.groups[k].first - 1;                  // skip the empty classes (no draws, no error)
      continue;
    }
    std::vector<int32_t> pool;
    if (present) {
      pool.assign(g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[k].second),
                  g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[k + 1].second));
      ++k;
    }
    if (static_cast<int64_t>(pool.size()) < spec.train)
      throw_input_error(at.file, at.line,
                        "class " + class_name(c, label_names) + " has only " + std::to_string(pool.size()) +
                            " labelled nodes, fewer than split.per_class.train",
                        std::to_string(spec.train), "lower per_class.train or label more nodes");
    shuffle_ids(pool, rng);
    for (int64_t i = 0; i < spec.train; ++i) {
      out.train.push_back(pool[static_cast<size_t>(i)]);
      chosen[static_cast<size_t>(pool[static_cast<size_t>(i)])] = 1;
    }
  }
  std::vector<int32_t> rest;
  for (size_t v = 0; v < labels.size(); ++v)
    if (labels[v] >= 0 && !chosen[v]) rest.push_back(static_cast<int32_t>(v));
  const auto n_rest = static_cast<int64_t>(rest.size());
  const int64_t want = spec.val + (spec.test ? *spec.test : 0);
  if (want > n_rest)
    throw_input_error(at.file, at.line,
                      "split.per_class asks for " + std::to_string(want) +
                          " validation + test nodes but only " + std::to_string(n_rest) +
                          " labelled nodes remain after the training nodes",
                      std::to_string(want), "lower per_class.val / per_class.test");
  shuffle_ids(rest, rng);
  take(rest, 0, spec.val, spec.test ? *spec.test : n_rest - spec.val, out);
  sort_parts(out);
  return out;
}

SplitIds fold_split(const std::vector<int32_t>& labels, int64_t num_items, const FoldSplitSpec& spec,
                    const ErrorSite& at) {
  if (spec.k < 2)
    throw_input_error(at.file, at.line, "split.folds.k must be at least 2, not", std::to_string(spec.k),
                      "write e.g. 'k: 10' (or use split.random for one train / val / test split)");
  if (spec.fold < 0 || spec.fold >= spec.k)
    throw_input_error(at.file, at.line, "split.folds.fold must be between 0 and k − 1 = " + std::to_string(spec.k - 1) + ", not",
                      std::to_string(spec.fold), "pick the fold to test on, 0.." + std::to_string(spec.k - 1));
  if (spec.stratify && labels.empty())
    throw_input_error(at.file, at.line, "split.folds.stratify needs labels", "true",
                      "add labels (graph labels for a graph task) or set stratify: false");
  SplitRng rng(spec.seed);
  std::vector<int32_t> fold_of;  // parallel to `dealt`
  std::vector<int32_t> dealt;
  int64_t next = 0;  // the fold the next candidate goes to
  auto deal = [&](std::vector<int32_t> pool) {
    shuffle_ids(pool, rng);
    for (const int32_t v : pool) {
      dealt.push_back(v);
      fold_of.push_back(static_cast<int32_t>(next));
      next = (next + 1) % spec.k;
    }
  };
  if (spec.stratify) {
    const ClassGroups g = group_by_class(labels);
    for (size_t c = 0; c + 1 < g.groups.size(); ++c)
      deal(std::vector<int32_t>(g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[c].second),
                                g.nodes.begin() + static_cast<std::ptrdiff_t>(g.groups[c + 1].second)));
  } else {
    std::vector<int32_t> pool;
    for (int64_t v = 0; v < num_items; ++v)
      if (labels.empty() || labels[static_cast<size_t>(v)] >= 0) pool.push_back(static_cast<int32_t>(v));
    deal(std::move(pool));
  }
  if (static_cast<int64_t>(dealt.size()) < spec.k)
    throw_input_error(at.file, at.line,
                      "split.folds.k is larger than the " + std::to_string(dealt.size()) + " labelled items to split",
                      std::to_string(spec.k), "lower k to at most " + std::to_string(dealt.size()));
  const int64_t val_fold = spec.val ? (spec.fold + 1) % spec.k : -1;
  SplitIds out;
  for (size_t i = 0; i < dealt.size(); ++i) {
    const int64_t f = fold_of[i];
    (f == spec.fold ? out.test : f == val_fold ? out.val : out.train).push_back(dealt[i]);
  }
  sort_parts(out);
  return out;
}

}  // namespace locus
