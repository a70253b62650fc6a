#include "datasets/graph_generators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <numeric>
#include <set>
#include <string>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/splits.hpp"
#include "datasets/generator_checks.hpp"

namespace locus {

namespace {

// Fewer graphs than this are built on one thread (a parallel region costs more than it saves).
constexpr int64_t kParallelGraphs = 64;
// Largest graph: keeps a graph's pair index a * n + b far inside 64 bits and its O(n^2) pair loop sane.
constexpr int64_t kMaxGraphNodes = 1 << 16;

// ---- Counter-based random numbers (the mixing of Rng::uniform_at, 64 bits): value i of stream
// `key` depends on (key, i) only.
uint64_t hash_at(uint64_t key, uint64_t i) { return splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)); }
// Uniform in [0, n) by multiply-shift; bias below n / 2^64.
uint64_t below(uint64_t h, uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * n) >> 64); }
// True with probability p: u < p, u uniform in [0, 1) with 53 bits (p = 0 never, p = 1 always).
bool coin(uint64_t h, double p) { return static_cast<double>(h >> 11) * 0x1.0p-53 < p; }

// Uniform permutation of 0..n-1 (Fisher-Yates, swap i with a uniform j <= i, i = n-1 .. 1).
std::vector<int32_t> shuffled(int32_t n, uint64_t key) {
  std::vector<int32_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int32_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)],
              perm[below(hash_at(key, static_cast<uint64_t>(i)), static_cast<uint64_t>(i) + 1)]);
  return perm;
}

uint64_t pair_key(uint64_t a, uint64_t b) { return a < b ? (a << 32) | b : (b << 32) | a; }

using gen::bad;
using gen::check_probability;
using gen::check_range;
using gen::num;

// ---- One graph in local ids, before it is placed in the union.
struct LocalGraph {
  int32_t n = 0;
  std::vector<uint64_t> pairs;  // pair_key(a, b), sorted, distinct
  std::vector<int32_t> label;   // per node
  std::vector<int32_t> feature;  // one-hot column per node
};

// An SBM on `sizes` blocks (block nodes consecutive, block r first at first[r]) plus `extra` nodes
// after them. Pair (a, b), a < b < n_sbm, is an edge when coin(hash(key, a*n + b), same block ? p : q);
// pairs with b >= n_sbm are left to the caller. Returns the pairs in local ids (unsorted).
std::vector<uint64_t> sbm_pairs(const std::vector<int32_t>& block, int32_t n, double p, double q, uint64_t key) {
  const auto n_sbm = static_cast<int32_t>(block.size());
  std::vector<uint64_t> out;
  out.reserve(static_cast<size_t>(0.5 * std::max(p, q) * n_sbm * n_sbm) + 16);
  for (int32_t a = 0; a < n_sbm; ++a)
    for (int32_t b = a + 1; b < n_sbm; ++b) {
      const double prob = block[static_cast<size_t>(a)] == block[static_cast<size_t>(b)] ? p : q;
      if (coin(hash_at(key, static_cast<uint64_t>(a) * static_cast<uint64_t>(n) + static_cast<uint64_t>(b)), prob))
        out.push_back(pair_key(static_cast<uint64_t>(a), static_cast<uint64_t>(b)));
    }
  return out;
}

// Block of each node for `blocks` sizes uniform in [lo, hi] (stream key, value r for block r).
std::vector<int32_t> draw_blocks(int32_t blocks, int32_t lo, int32_t hi, uint64_t key) {
  std::vector<int32_t> block;
  for (int32_t r = 0; r < blocks; ++r) {
    const auto size = lo + static_cast<int32_t>(below(hash_at(key, static_cast<uint64_t>(r)),
                                                      static_cast<uint64_t>(hi - lo) + 1));
    block.insert(block.end(), static_cast<size_t>(size), r);
  }
  return block;
}

// Relabels v -> pos[v] (pos a uniform permutation from `key`): pairs, labels and features move
// together; pairs come back sorted.
void relabel(LocalGraph& g, uint64_t key) {
  const std::vector<int32_t> pos = shuffled(g.n, key);
  for (uint64_t& k : g.pairs)
    k = pair_key(static_cast<uint64_t>(pos[k >> 32]), static_cast<uint64_t>(pos[k & 0xffffffffu]));
  std::sort(g.pairs.begin(), g.pairs.end());
  std::vector<int32_t> label(g.label.size()), feature(g.feature.size());
  for (size_t v = 0; v < pos.size(); ++v) {
    label[static_cast<size_t>(pos[v])] = g.label[v];
    feature[static_cast<size_t>(pos[v])] = g.feature[v];
  }
  g.label = std::move(label), g.feature = std::move(feature);
}

// ---- Placing graphs 0 .. count-1 into one Dataset, in two passes over make(g): the first counts
// nodes and edges, the second writes at the prefix offsets. make(g) depends on g only, so any
// thread count gives the same Dataset, and no per-graph buffers outlive a graph.
template <class Make>
void assemble(Dataset& d, int64_t count, int32_t feature_columns, const std::string& kind, const Make& make) {
  std::vector<int64_t> node_at(static_cast<size_t>(count) + 1, 0), pair_at(static_cast<size_t>(count) + 1, 0);
#pragma omp parallel for schedule(dynamic, 16) if (count >= kParallelGraphs)
  for (int64_t g = 0; g < count; ++g) {
    const LocalGraph lg = make(g);
    node_at[static_cast<size_t>(g) + 1] = lg.n;
    pair_at[static_cast<size_t>(g) + 1] = static_cast<int64_t>(lg.pairs.size());
  }
  for (size_t g = 0; g < static_cast<size_t>(count); ++g)
    node_at[g + 1] += node_at[g], pair_at[g + 1] += pair_at[g];
  const int64_t n = node_at.back(), m = pair_at.back();
  if (n > INT32_MAX)
    bad(kind, "train-graphs", std::to_string(count) + " graphs", "gives " + std::to_string(n) + " nodes, above 2^31",
        "lower --train-graphs / --val-graphs / --test-graphs");
  if (2 * m > INT32_MAX)
    bad(kind, "train-graphs", std::to_string(count) + " graphs",
        "gives " + std::to_string(2 * m) + " directed edges, above 2^31",
        "lower --train-graphs / --val-graphs / --test-graphs");

  d.num_nodes = n;
  d.num_graphs = count;
  d.num_input_edges = m;
  d.src.resize(static_cast<size_t>(2 * m));
  d.dst.resize(static_cast<size_t>(2 * m));
  d.graph_of.resize(static_cast<size_t>(n));
  std::vector<int32_t> label(static_cast<size_t>(n));
  SpMat x(n, feature_columns);
  x.resizeNonZeros(n);
  int32_t* outer = x.outerIndexPtr();
  int32_t* inner = x.innerIndexPtr();
  float* value = x.valuePtr();
  outer[n] = static_cast<int32_t>(n);
#pragma omp parallel for schedule(dynamic, 16) if (count >= kParallelGraphs)
  for (int64_t g = 0; g < count; ++g) {
    const LocalGraph lg = make(g);
    const auto base = static_cast<uint64_t>(node_at[static_cast<size_t>(g)]);
    auto e = static_cast<size_t>(2 * pair_at[static_cast<size_t>(g)]);
    for (uint64_t k : lg.pairs) {
      const auto a = static_cast<int32_t>(base + (k >> 32)), b = static_cast<int32_t>(base + (k & 0xffffffffu));
      d.src[e] = a, d.dst[e] = b, ++e;
      d.src[e] = b, d.dst[e] = a, ++e;
    }
    for (int32_t v = 0; v < lg.n; ++v) {
      const size_t u = base + static_cast<size_t>(v);
      d.graph_of[u] = static_cast<int32_t>(g);
      label[u] = lg.label[static_cast<size_t>(v)];
      outer[u] = static_cast<int32_t>(u);
      inner[u] = lg.feature[static_cast<size_t>(v)];
      value[u] = 1.0f;
    }
  }
  d.features = std::move(x);
  d.features_dense = true;
  d.labels = std::move(label);
  // Node tasks: every node is labelled, so a split's nodes are all nodes of its graphs.
  if (d.task == Task::NodeClassification) {
    auto nodes_of = [&](const std::vector<int32_t>& graphs) {
      std::vector<int32_t> out;
      for (int32_t g : graphs)
        for (int64_t v = node_at[static_cast<size_t>(g)]; v < node_at[static_cast<size_t>(g) + 1]; ++v)
          out.push_back(static_cast<int32_t>(v));
      return out;
    };
    d.train = nodes_of(d.train_graphs), d.val = nodes_of(d.val_graphs), d.test = nodes_of(d.test_graphs);
  }
}

void consecutive_split(Dataset& d, int64_t train, int64_t val, int64_t test) {
  auto range = [](int64_t lo, int64_t count) {
    std::vector<int32_t> out(static_cast<size_t>(count));
    std::iota(out.begin(), out.end(), static_cast<int32_t>(lo));
    return out;
  };
  d.train_graphs = range(0, train), d.val_graphs = range(train, val), d.test_graphs = range(train + val, test);
}

// Checks shared by PATTERN and CLUSTER; `extra` nodes per graph besides the blocks.
void check_sbm_graphs(const std::string& kind, int64_t train, int64_t val, int64_t test, int32_t communities,
                      int32_t min_size, int32_t max_size, double p, double q, int64_t extra) {
  check_range(kind, "train-graphs", train, 0, INT32_MAX);
  check_range(kind, "val-graphs", val, 0, INT32_MAX);
  check_range(kind, "test-graphs", test, 0, INT32_MAX);
  if (train + val + test == 0)
    bad(kind, "train-graphs", "0", "plus --val-graphs and --test-graphs must be at least 1",
        "give e.g. --train-graphs 100");
  if (train + val + test > INT32_MAX)
    bad(kind, "train-graphs", std::to_string(train), "plus --val-graphs and --test-graphs must stay below 2^31",
        "lower the graph counts");
  check_range(kind, "communities", communities, 1, kMaxGraphNodes);
  check_range(kind, "min-size", min_size, 1, kMaxGraphNodes);
  check_range(kind, "max-size", max_size, min_size, kMaxGraphNodes);
  if (static_cast<int64_t>(communities) * max_size + extra > kMaxGraphNodes)
    bad(kind, "max-size", std::to_string(max_size),
        "times --communities " + std::to_string(communities) + " must stay below " + std::to_string(kMaxGraphNodes) +
            " nodes per graph",
        "lower --max-size or --communities");
  check_probability(kind, "p", p);
  check_probability(kind, "q", q);
}

// Stream keys of one generator, all from its seed.
struct Keys {
  uint64_t graphs, patterns;
  explicit Keys(uint64_t seed) {
    Rng r(seed);
    graphs = r.next_key(), patterns = r.next_key();
  }
};

// Sub-streams of a graph's key: block sizes, features, edges, node order.
enum Stream : uint64_t { kSizes = 0, kFeatures = 1, kEdges = 2, kOrder = 3, kPick = 4 };

}  // namespace

// ---------------------------------------------------------------------------------------------
Dataset generate_pattern(const PatternParams& p) {
  const std::string kind = "PATTERN";
  check_range(kind, "pattern-size", p.pattern_size, 1, kMaxGraphNodes);
  check_sbm_graphs(kind, p.train_graphs, p.val_graphs, p.test_graphs, p.communities, p.min_size, p.max_size, p.p, p.q,
                   p.pattern_size);
  check_probability(kind, "p-pattern", p.p_pattern);
  check_probability(kind, "q-pattern", p.q_pattern);
  check_range(kind, "patterns", p.patterns, 1, INT32_MAX);
  check_range(kind, "vocabulary", p.vocabulary, 1, 1 << 20);

  Dataset d;
  d.name = "pattern";
  d.source = fmt::format(
      "generated:pattern(train={},val={},test={},communities={},size={}..{},p={},q={},pattern={},p_pattern={},"
      "q_pattern={},patterns={},vocabulary={},seed={})",
      p.train_graphs, p.val_graphs, p.test_graphs, p.communities, p.min_size, p.max_size, p.p, p.q, p.pattern_size,
      p.p_pattern, p.q_pattern, p.patterns, p.vocabulary, p.seed);
  d.task = Task::NodeClassification;
  d.num_classes = 2;
  consecutive_split(d, p.train_graphs, p.val_graphs, p.test_graphs);
  const Keys keys(p.seed);
  const auto vocab = static_cast<uint64_t>(p.vocabulary);
  const int32_t k = p.pattern_size;

  // Graph g: its split, its index i in the split of m graphs, and instance floor(i * patterns / m).
  auto instance_of = [&](int64_t g) {
    int64_t i = g, m = p.train_graphs;
    if (i >= p.train_graphs) {
      i -= p.train_graphs, m = p.val_graphs;
      if (i >= p.val_graphs) i -= p.val_graphs, m = p.test_graphs;
    }
    return static_cast<uint64_t>(static_cast<unsigned __int128>(i) * static_cast<uint64_t>(p.patterns) /
                                 static_cast<uint64_t>(m));
  };
  auto make = [&](int64_t g) {
    const uint64_t key = hash_at(keys.graphs, static_cast<uint64_t>(g));
    const uint64_t pattern_key = hash_at(keys.patterns, instance_of(g));
    LocalGraph lg;
    const std::vector<int32_t> block = draw_blocks(p.communities, p.min_size, p.max_size, hash_at(key, kSizes));
    const auto n_g = static_cast<int32_t>(block.size());
    lg.n = n_g + k;
    // SBM part; then the pattern (nodes n_g ..): its own edges G(k, p_pattern) from the instance,
    // and each (G node, pattern node) pair with probability q_pattern.
    lg.pairs = sbm_pairs(block, lg.n, p.p, p.q, hash_at(key, kEdges));
    const uint64_t inside = hash_at(pattern_key, kEdges);
    for (int32_t i = 0; i < k; ++i)
      for (int32_t j = i + 1; j < k; ++j)
        if (coin(hash_at(inside, static_cast<uint64_t>(i) * static_cast<uint64_t>(k) + static_cast<uint64_t>(j)),
                 p.p_pattern))
          lg.pairs.push_back(pair_key(static_cast<uint64_t>(n_g + i), static_cast<uint64_t>(n_g + j)));
    const uint64_t across = hash_at(key, kEdges);  // same stream as the SBM pairs: indices a*n + b, b >= n_g
    for (int32_t a = 0; a < n_g; ++a)
      for (int32_t b = n_g; b < lg.n; ++b)
        if (coin(hash_at(across, static_cast<uint64_t>(a) * static_cast<uint64_t>(lg.n) + static_cast<uint64_t>(b)),
                 p.q_pattern))
          lg.pairs.push_back(pair_key(static_cast<uint64_t>(a), static_cast<uint64_t>(b)));
    lg.label.assign(static_cast<size_t>(lg.n), 0);
    std::fill(lg.label.begin() + n_g, lg.label.end(), 1);
    lg.feature.resize(static_cast<size_t>(lg.n));
    const uint64_t feat = hash_at(key, kFeatures), pattern_feat = hash_at(pattern_key, kFeatures);
    for (int32_t v = 0; v < n_g; ++v)
      lg.feature[static_cast<size_t>(v)] = static_cast<int32_t>(below(hash_at(feat, static_cast<uint64_t>(v)), vocab));
    for (int32_t i = 0; i < k; ++i)
      lg.feature[static_cast<size_t>(n_g + i)] =
          static_cast<int32_t>(below(hash_at(pattern_feat, static_cast<uint64_t>(i)), vocab));
    relabel(lg, hash_at(key, kOrder));
    return lg;
  };
  assemble(d, p.train_graphs + p.val_graphs + p.test_graphs, p.vocabulary, kind, make);
  return d;
}

// ---------------------------------------------------------------------------------------------
Dataset generate_cluster(const ClusterParams& p) {
  const std::string kind = "CLUSTER";
  check_sbm_graphs(kind, p.train_graphs, p.val_graphs, p.test_graphs, p.communities, p.min_size, p.max_size, p.p, p.q,
                   0);

  Dataset d;
  d.name = "cluster";
  d.source = fmt::format("generated:cluster(train={},val={},test={},communities={},size={}..{},p={},q={},seed={})",
                         p.train_graphs, p.val_graphs, p.test_graphs, p.communities, p.min_size, p.max_size, p.p,
                         p.q, p.seed);
  d.task = Task::NodeClassification;
  d.num_classes = p.communities;
  consecutive_split(d, p.train_graphs, p.val_graphs, p.test_graphs);
  const Keys keys(p.seed);

  auto make = [&](int64_t g) {
    const uint64_t key = hash_at(keys.graphs, static_cast<uint64_t>(g));
    LocalGraph lg;
    lg.label = draw_blocks(p.communities, p.min_size, p.max_size, hash_at(key, kSizes));
    lg.n = static_cast<int32_t>(lg.label.size());
    lg.pairs = sbm_pairs(lg.label, lg.n, p.p, p.q, hash_at(key, kEdges));
    // One uniform node per block r gets feature r + 1 (blocks are consecutive before relabelling).
    lg.feature.assign(static_cast<size_t>(lg.n), 0);
    const uint64_t pick = hash_at(key, kPick);
    for (int32_t v = 0, r = 0; v < lg.n; ++r) {
      int32_t size = 0;
      while (v + size < lg.n && lg.label[static_cast<size_t>(v + size)] == r) ++size;
      const auto chosen = v + static_cast<int32_t>(below(hash_at(pick, static_cast<uint64_t>(r)), static_cast<uint64_t>(size)));
      lg.feature[static_cast<size_t>(chosen)] = r + 1;
      v += size;
    }
    relabel(lg, hash_at(key, kOrder));
    return lg;
  };
  assemble(d, p.train_graphs + p.val_graphs + p.test_graphs, p.communities + 1, kind, make);
  return d;
}

// ---------------------------------------------------------------------------------------------
Dataset generate_csl(const CslParams& p) {
  const std::string kind = "CSL";
  constexpr int32_t kFolds = 5;
  check_range(kind, "nodes", p.nodes, 5, kMaxGraphNodes);
  if (p.skips.empty()) bad(kind, "skips", "an empty list", "needs at least one skip length", "give --skips 2,3,4");
  for (size_t c = 0; c < p.skips.size(); ++c) {
    const int32_t s = p.skips[c];
    check_range(kind, "skips", s, 2, p.nodes - 2);
    if (std::gcd(s, p.nodes) != 1)
      bad(kind, "skips", std::to_string(s), "must be coprime to --nodes " + std::to_string(p.nodes),
          "give skip lengths with no common factor with the node count (a prime --nodes allows all)");
    for (size_t e = 0; e < c; ++e)
      if (p.skips[e] == s || p.skips[e] == p.nodes - s)
        bad(kind, "skips", std::to_string(s),
            "must differ from every other skip length s and from nodes - s (those graphs are isomorphic)",
            "drop one of " + std::to_string(p.skips[e]) + " and " + std::to_string(s));
  }
  check_range(kind, "graphs-per-class", p.graphs_per_class, kFolds, 10000);
  check_range(kind, "fold", p.fold, 0, kFolds - 1);
  const auto classes = static_cast<int64_t>(p.skips.size());
  const int64_t count = classes * p.graphs_per_class;
  if (count * p.nodes * 4 > INT32_MAX)
    bad(kind, "graphs-per-class", std::to_string(p.graphs_per_class), "gives more than 2^31 directed edges",
        "lower --graphs-per-class, --nodes or the number of --skips");

  Dataset d;
  d.name = "csl";
  std::string skips;
  for (int32_t s : p.skips) skips += (skips.empty() ? "" : ",") + std::to_string(s);
  d.source = fmt::format("generated:csl(nodes={},skips={},graphs_per_class={},fold={},random_relabel={},seed={})",
                         p.nodes, skips, p.graphs_per_class, p.fold, p.random_relabel, p.seed);
  d.task = Task::GraphClassification;
  d.num_graph_classes = static_cast<int32_t>(classes);
  const Keys keys(p.seed);
  const int32_t n = p.nodes;

  // Per class: the graphs_per_class relabellings, each as its sorted pair list. Sequential per class
  // (each relabelling is checked against the earlier ones), classes in parallel.
  std::vector<std::vector<std::vector<uint64_t>>> graphs(static_cast<size_t>(classes));
#pragma omp parallel for schedule(dynamic, 1) if (classes * p.graphs_per_class >= kParallelGraphs)
  for (int64_t c = 0; c < classes; ++c) {
    const int32_t s = p.skips[static_cast<size_t>(c)];
    std::vector<uint64_t> base;  // {i, i+1} and {i, i+s} (mod n)
    for (int32_t i = 0; i < n; ++i) {
      base.push_back(pair_key(static_cast<uint64_t>(i), static_cast<uint64_t>((i + 1) % n)));
      base.push_back(pair_key(static_cast<uint64_t>(i), static_cast<uint64_t>((i + s) % n)));
    }
    auto relabelled = [&](const std::vector<int32_t>& pi) {
      std::vector<uint64_t> out;
      out.reserve(base.size());
      for (uint64_t k : base) out.push_back(pair_key(static_cast<uint64_t>(pi[k >> 32]), static_cast<uint64_t>(pi[k & 0xffffffffu])));
      std::sort(out.begin(), out.end());
      return out;
    };
    std::vector<int32_t> pi(static_cast<size_t>(n));
    std::iota(pi.begin(), pi.end(), 0);
    std::set<std::vector<uint64_t>> seen;
    auto& mine = graphs[static_cast<size_t>(c)];
    const uint64_t class_key = hash_at(keys.graphs, static_cast<uint64_t>(c));
    for (uint64_t attempt = 0; static_cast<int32_t>(mine.size()) < p.graphs_per_class; ++attempt) {
      if (attempt > 0) {
        if (p.random_relabel)
          pi = shuffled(n, hash_at(class_key, attempt));
        else
          std::next_permutation(pi.begin(), pi.end());
      }
      std::vector<uint64_t> edges = relabelled(pi);
      if (seen.insert(edges).second) mine.push_back(std::move(edges));
    }
  }

  d.num_nodes = count * n;
  d.num_graphs = count;
  d.num_input_edges = count * 2 * n;
  d.src.reserve(static_cast<size_t>(4 * count * n));
  d.dst.reserve(static_cast<size_t>(4 * count * n));
  d.graph_of.resize(static_cast<size_t>(d.num_nodes));
  d.graph_labels.resize(static_cast<size_t>(count));
  for (int64_t g = 0; g < count; ++g) {
    const int64_t c = g / p.graphs_per_class;
    d.graph_labels[static_cast<size_t>(g)] = static_cast<int32_t>(c);
    const auto base = static_cast<uint64_t>(g * n);
    for (uint64_t k : graphs[static_cast<size_t>(c)][static_cast<size_t>(g % p.graphs_per_class)]) {
      const auto a = static_cast<int32_t>(base + (k >> 32)), b = static_cast<int32_t>(base + (k & 0xffffffffu));
      d.src.push_back(a), d.dst.push_back(b);
      d.src.push_back(b), d.dst.push_back(a);
    }
    std::fill(d.graph_of.begin() + g * n, d.graph_of.begin() + (g + 1) * n, static_cast<int32_t>(g));
  }
  // Constant feature: one column of 1.0.
  SpMat x(d.num_nodes, 1);
  x.resizeNonZeros(d.num_nodes);
  for (int64_t v = 0; v <= d.num_nodes; ++v) x.outerIndexPtr()[v] = static_cast<int32_t>(v);
  std::fill(x.innerIndexPtr(), x.innerIndexPtr() + d.num_nodes, 0);
  std::fill(x.valuePtr(), x.valuePtr() + d.num_nodes, 1.0f);
  d.features = std::move(x);
  d.features_dense = true;

  // Stratified folds, as the YAML's split: {folds: {k: 5, fold, stratify: true, seed}} deals them.
  SplitIds folds = fold_split(d.graph_labels, d.num_graphs, FoldSplitSpec{kFolds, p.fold, true, true, p.seed},
                              ErrorSite{"generate csl", 0});
  d.train_graphs = std::move(folds.train), d.val_graphs = std::move(folds.val), d.test_graphs = std::move(folds.test);
  return d;
}

}  // namespace locus
