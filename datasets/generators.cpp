#include "datasets/generators.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "datasets/splits.hpp"
#include "datasets/tasks.hpp"
#include "datasets/generator_checks.hpp"

namespace locus {

namespace {

// Below this many items a loop runs on one thread: starting a parallel region costs more than it
// saves, and far more on a busy machine (each barrier may wait for a descheduled thread).
constexpr int64_t kParallelMin = 1 << 16;

// ---- Counter-based random numbers: value i of stream `key` depends on (key, i) only, so parallel
// loops give the same numbers for every thread count (the mixing of Rng::uniform_at, 64 bits).
uint64_t hash_at(uint64_t key, uint64_t i) { return splitmix64(key ^ (i * 0xD1B54A32D192ED03ull)); }
// Uniform in [0, n) by multiply-shift; bias below n / 2^64.
uint64_t below(uint64_t h, uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(h) * n) >> 64); }
double unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }              // [0, 1)
double unit_open0(uint64_t h) { return static_cast<double>((h >> 11) + 1) * 0x1.0p-53; }  // (0, 1]

// Natural log of x > 0 from frexp, + - * / and fma only, so it gives the same bits on every
// IEEE-754 platform (libm logs are not correctly rounded and differ in the last bit).
// x = m 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172,
// = 2 s (1 + s^2/3 + s^4/5 + ... + s^22/23); the first omitted term is below 1e-19 relative.
// Explicit fma everywhere a product meets a sum, so compiler contraction cannot change results.
double portable_log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  const double s = (m - 1) / (m + 1), s2 = s * s;
  double poly = 1.0 / 23;
  for (int k = 21; k >= 1; k -= 2) poly = std::fma(poly, s2, 1.0 / k);
  return std::fma(static_cast<double>(e), 0.69314718055994530942, 2 * s * poly);
}

// An undirected edge {a, b}, a < b, as one sortable 64-bit key (a in the high half).
uint64_t pair_key(uint64_t a, uint64_t b) { return (a << 32) | b; }

using gen::bad;
using gen::check_probability;
using gen::check_range;
using gen::num;

// Dense features need num_nodes * features values in a 32-bit-indexed sparse matrix.
void check_features(const std::string& kind, int64_t nodes, int64_t features) {
  check_range(kind, "features", features, 0, INT32_MAX);
  if (features > 0 && nodes * features > INT32_MAX)
    bad(kind, "features", std::to_string(features),
        "times " + std::to_string(nodes) + " nodes must stay below 2^31 feature values",
        "lower --features (or use --features 0 for none)");
}

// ---- Sorting 64-bit keys in parallel.
// Returns key_of(i) for i in [0, count), sorted ascending; every key <= max_key. One MSD bucket
// pass on the top bits (thread-local histograms, then a scatter), then std::sort per bucket in
// parallel. key_of is called twice per item (count, then scatter) instead of keeping a second
// buffer: recomputing a hash is cheaper than 8 more bytes per key. The result does not depend on
// the thread count (a sort's output is unique).
template <class KeyOf>
std::vector<uint64_t> sorted_keys(int64_t count, uint64_t max_key, const KeyOf& key_of) {
  std::vector<uint64_t> out(static_cast<size_t>(count));
  if (count == 0) return out;
  // About 2-4K keys per bucket (a cache-friendly std::sort), at most 2^16 buckets.
  const int bits = std::clamp(static_cast<int>(std::bit_width(static_cast<uint64_t>(count) / 2048)), 0, 16);
  const int shift = std::max(0, static_cast<int>(std::bit_width(max_key)) - bits);
  const size_t nb = size_t{1} << bits;
  const int max_threads = count >= kParallelMin ? std::max(1, omp_get_max_threads()) : 1;
  std::vector<int64_t> offset(static_cast<size_t>(max_threads) * nb, 0);  // [thread][bucket]
  std::vector<int64_t> bucket_start(nb + 1, 0);
  int nt = 1;
#pragma omp parallel num_threads(max_threads)
  {
    const int t = omp_get_thread_num();
#pragma omp single
    nt = omp_get_num_threads();
    const int64_t lo = count * t / nt, hi = count * (t + 1) / nt;
    int64_t* mine = offset.data() + static_cast<size_t>(t) * nb;
    for (int64_t i = lo; i < hi; ++i) ++mine[key_of(i) >> shift];
#pragma omp barrier
#pragma omp single
    {
      int64_t run = 0;
      for (size_t b = 0; b < nb; ++b) {
        bucket_start[b] = run;
        for (int u = 0; u < nt; ++u) {
          const int64_t c = offset[static_cast<size_t>(u) * nb + b];
          offset[static_cast<size_t>(u) * nb + b] = run;
          run += c;
        }
      }
      bucket_start[nb] = run;
    }
    for (int64_t i = lo; i < hi; ++i) {
      const uint64_t k = key_of(i);
      out[static_cast<size_t>(mine[k >> shift]++)] = k;
    }
#pragma omp barrier
#pragma omp for schedule(dynamic, 8)
    for (int64_t b = 0; b < static_cast<int64_t>(nb); ++b)
      std::sort(out.begin() + bucket_start[static_cast<size_t>(b)],
                out.begin() + bucket_start[static_cast<size_t>(b) + 1]);
  }
  return out;
}

std::vector<uint64_t> sort_keys(const std::vector<uint64_t>& keys, uint64_t max_key) {
  return sorted_keys(static_cast<int64_t>(keys.size()), max_key,
                     [&keys](int64_t i) { return keys[static_cast<size_t>(i)]; });
}

// The first m distinct keys of the sequence candidate(0), candidate(1), ... (keys ≤ max_key),
// sorted: candidates 0..m-1 are hashed and sorted in parallel (all of their distinct keys are among
// the first m distinct); the few missing ones come from candidates m, m+1, ... one at a time.
template <class Candidate>
std::vector<uint64_t> first_distinct(int64_t m, uint64_t max_key, const Candidate& candidate) {
  std::vector<uint64_t> keys = sorted_keys(m, max_key, candidate);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (static_cast<int64_t>(keys.size()) < m) {
    const size_t missing = static_cast<size_t>(m) - keys.size();
    std::vector<uint64_t> extra;
    std::unordered_set<uint64_t> extra_set;
    extra.reserve(missing);
    for (int64_t i = m; extra.size() < missing; ++i) {
      const uint64_t k = candidate(i);
      if (std::binary_search(keys.begin(), keys.end(), k) || !extra_set.insert(k).second) continue;
      extra.push_back(k);
    }
    std::sort(extra.begin(), extra.end());
    const auto mid = static_cast<std::ptrdiff_t>(keys.size());
    keys.insert(keys.end(), extra.begin(), extra.end());
    std::inplace_merge(keys.begin(), keys.begin() + mid, keys.end());
  }
  return keys;
}

// m distinct undirected pairs of 0..n-1, uniformly among all m-subsets, sorted. Candidate i is a
// uniform pair: a uniform in [0, n), b uniform in [0, n-1) then b += (b >= a), i.e. a uniform
// ordered pair of distinct nodes, then ordered (min, max). Taking the first m distinct candidates
// in index order is sequential rejection sampling, hence uniform. Needs m <= n(n-1)/4 so that a
// candidate is new with probability >= 1/2 (the caller samples the complement of denser graphs).
std::vector<uint64_t> sample_pairs(int64_t n, int64_t m, uint64_t key) {
  if (m == 0) return {};
  const auto un = static_cast<uint64_t>(n);
  auto candidate = [un, key](int64_t i) {
    const uint64_t a = below(hash_at(key, 2 * static_cast<uint64_t>(i)), un);
    uint64_t b = below(hash_at(key, 2 * static_cast<uint64_t>(i) + 1), un - 1);
    if (b >= a) ++b;
    return a < b ? pair_key(a, b) : pair_key(b, a);
  };
  return first_distinct(m, pair_key(un - 2, un - 1), candidate);
}

// R-MAT pairs (Chakrabarti, Zhan, Faloutsos 2004; Graph500's a, b, c = 0.57, 0.19, 0.19): a cell of
// the 2^s × 2^s adjacency matrix (2^s ≥ n) chosen by s quadrant draws, each taking the top-left,
// top-right, bottom-left or bottom-right quarter with probability a, b, c, 1 − a − b − c. Draws
// off the n × n matrix or on its diagonal are redrawn (attempt t of candidate i from its own
// hashes); ids are then relabelled by `perm`, so that a node's id says nothing of its degree.
std::vector<uint64_t> sample_rmat_pairs(int64_t n, int64_t m, uint64_t key, const std::vector<uint32_t>& perm) {
  constexpr double kA = 0.57, kB = 0.19, kC = 0.19;
  if (m == 0) return {};
  int s = 1;
  while ((int64_t(1) << s) < n) ++s;
  const auto un = static_cast<uint64_t>(n);
  auto candidate = [=, &perm](int64_t i) {
    const uint64_t ki = hash_at(key, static_cast<uint64_t>(i));
    for (uint64_t t = 0;; ++t) {
      uint64_t a = 0, b = 0;
      for (int l = 0; l < s; ++l) {
        const double r = unit(hash_at(ki, t * 64 + static_cast<uint64_t>(l)));
        // Quarter by r: [0, a) top-left, [a, a+b) top-right, [a+b, a+b+c) bottom-left, else bottom-right.
        const uint64_t row = r >= kA + kB ? 1 : 0, col = (r >= kA && r < kA + kB) || r >= kA + kB + kC ? 1 : 0;
        a = 2 * a + row, b = 2 * b + col;
      }
      if (a >= un || b >= un || a == b) continue;
      const uint64_t x = perm[a], y = perm[b];
      return x < y ? pair_key(x, y) : pair_key(y, x);
    }
  };
  return first_distinct(m, pair_key(un - 2, un - 1), candidate);
}

// ---- Assembling the Dataset.
// Sorted, distinct pair keys -> expanded edge list (a->b then b->a per pair).
void set_edges(Dataset& d, const std::vector<uint64_t>& keys) {
  const auto m = static_cast<int64_t>(keys.size());
  d.src.resize(static_cast<size_t>(2 * m));
  d.dst.resize(static_cast<size_t>(2 * m));
#pragma omp parallel for schedule(static) if (m >= kParallelMin)
  for (int64_t i = 0; i < m; ++i) {
    const auto e = static_cast<size_t>(i);
    const int32_t a = EdgeSet::first(keys[e]), b = EdgeSet::second(keys[e]);
    d.src[2 * e] = a, d.dst[2 * e] = b;
    d.src[2 * e + 1] = b, d.dst[2 * e + 1] = a;
  }
  d.num_input_edges = m;
}

// Class-dependent dense features (generators.hpp), stored like the loader stores a dense file:
// zeros are not kept. x[v][j] in thousandths is 1000 s[c][j] + round(1000 eps), eps =
// Irwin-Hall(12) - 6 from the twelve 16-bit quarters of three hashes: u + 1/2 is uniform on
// (0, 65536), so eps = (sum(2u + 1) - 12 * 65536) / 131072 and the rounding is an integer
// division. The thousandths are computed once into an int16 buffer (|x| <= 7 so they fit), then
// counted and copied per row.
SpMat class_features(const std::vector<int32_t>& labels, int32_t classes, int64_t dims, uint64_t sign_key,
                     uint64_t noise_key) {
  const auto n = static_cast<int64_t>(labels.size());
  SpMat x(n, dims);
  if (dims == 0) return x;
  std::vector<int16_t> mean(static_cast<size_t>(classes * dims));
  for (size_t i = 0; i < mean.size(); ++i) mean[i] = (hash_at(sign_key, i) >> 63) ? 1000 : -1000;
  std::vector<int16_t> milli(static_cast<size_t>(n * dims));
  std::vector<int32_t> row_nnz(static_cast<size_t>(n));
  const bool parallel = n * dims >= kParallelMin;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t v = 0; v < n; ++v) {
    const int16_t* m = mean.data() + static_cast<size_t>(labels[static_cast<size_t>(v)]) * static_cast<size_t>(dims);
    int16_t* out = milli.data() + static_cast<size_t>(v * dims);
    int32_t nnz = 0;
    for (int64_t j = 0; j < dims; ++j) {
      const uint64_t base = 3 * static_cast<uint64_t>(v * dims + j);
      int64_t sum2 = 0;
      for (uint64_t r = 0; r < 3; ++r) {
        const uint64_t h = hash_at(noise_key, base + r);
        sum2 += static_cast<int64_t>((h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48));
      }
      const int64_t scaled = (2 * sum2 + 12 - 12 * 65536) * 1000;  // 1000 * eps * 131072
      const int64_t eps = scaled >= 0 ? (scaled + 65536) >> 17 : -((-scaled + 65536) >> 17);
      out[j] = static_cast<int16_t>(m[j] + eps);
      nnz += out[j] != 0;
    }
    row_nnz[static_cast<size_t>(v)] = nnz;
  }
  int32_t* outer = x.outerIndexPtr();
  outer[0] = 0;
  for (int64_t v = 0; v < n; ++v) outer[v + 1] = outer[v] + row_nnz[static_cast<size_t>(v)];
  x.resizeNonZeros(outer[n]);
  int32_t* inner = x.innerIndexPtr();
  float* value = x.valuePtr();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t v = 0; v < n; ++v) {
    const int16_t* in = milli.data() + static_cast<size_t>(v * dims);
    int32_t k = outer[v];
    for (int64_t j = 0; j < dims; ++j) {
      if (in[j] == 0) continue;
      inner[k] = static_cast<int32_t>(j);
      value[k++] = static_cast<float>(in[j]) / 1000.0f;  // correctly rounded: the float nearest in[j] / 1000
    }
  }
  return x;
}

// Sparse binary bag-of-words features (generators.hpp): node v's `nnz` distinct columns, drawn
// from its own stream; each draw is, by a fair coin, a column of v's class (j ≡ c mod classes) or
// any column; a column drawn twice is drawn again. Rows sorted, values 1.
SpMat bag_features(const std::vector<int32_t>& labels, int32_t classes, int64_t dims, int64_t nnz, uint64_t key) {
  const auto n = static_cast<int64_t>(labels.size());
  SpMat x(n, dims);
  int32_t* outer = x.outerIndexPtr();
  for (int64_t v = 0; v <= n; ++v) outer[v] = static_cast<int32_t>(v * nnz);
  x.resizeNonZeros(n * nnz);
  std::fill(x.valuePtr(), x.valuePtr() + n * nnz, 1.0f);
  int32_t* inner = x.innerIndexPtr();
#pragma omp parallel for schedule(static) if (n * nnz >= kParallelMin)
  for (int64_t v = 0; v < n; ++v) {
    const auto c = static_cast<uint64_t>(labels[static_cast<size_t>(v)]);
    const uint64_t own = (static_cast<uint64_t>(dims) - c + static_cast<uint64_t>(classes) - 1) / static_cast<uint64_t>(classes);
    const uint64_t node_key = hash_at(key, static_cast<uint64_t>(v));
    int32_t* row = inner + v * nnz;
    int64_t have = 0;
    for (uint64_t t = 0; have < nnz; ++t) {
      const uint64_t h = hash_at(node_key, t);
      const uint64_t j = (h >> 63) ? c + static_cast<uint64_t>(classes) * below(h << 1, own)
                                   : below(h << 1, static_cast<uint64_t>(dims));
      const auto col = static_cast<int32_t>(j);
      if (std::find(row, row + have, col) == row + have) row[have++] = col;
    }
    std::sort(row, row + nnz);
  }
  return x;
}

// 60% train, 20% validation, the rest test, per class (test = "the rest" so rounding leaves no
// node out), exactly as the YAML split.random form with stratify: true computes it.
void add_split(Dataset& d, uint64_t seed) {
  RandomSplitSpec spec;
  spec.train = 0.6;
  spec.val = 0.2;
  spec.stratify = true;
  spec.seed = seed;
  SplitIds s = random_split(d.labels, d.num_classes, d.num_nodes, spec, ErrorSite{d.source, 0});
  d.train = std::move(s.train), d.val = std::move(s.val), d.test = std::move(s.test);
}

Dataset empty_dataset(const std::string& name, const std::string& source, int64_t nodes, int32_t classes) {
  Dataset d;
  d.name = name;
  d.source = source;
  d.task = Task::NodeClassification;
  d.directed = false;
  d.num_nodes = nodes;
  d.num_classes = classes;
  d.features.resize(nodes, 0);
  return d;
}

// Stream keys of one generator, all derived from its seed.
struct Keys {
  uint64_t edges, labels, signs, noise;
  explicit Keys(uint64_t seed) {
    Rng r(seed);
    edges = r.next_key(), labels = r.next_key(), signs = r.next_key(), noise = r.next_key();
  }
};

// random and rmat: labels uniform over the classes, independent of the edges; class features;
// the generator's split.
void add_uniform_labels(Dataset& d, const RandomGraphParams& p, const Keys& keys) {
  d.labels.resize(static_cast<size_t>(p.nodes));
  const auto classes = static_cast<uint64_t>(p.classes);
#pragma omp parallel for schedule(static) if (p.nodes >= kParallelMin)
  for (int64_t v = 0; v < p.nodes; ++v)
    d.labels[static_cast<size_t>(v)] =
        static_cast<int32_t>(below(hash_at(keys.labels, static_cast<uint64_t>(v)), classes));
  if (p.feature_nnz > 0) {
    d.features = bag_features(d.labels, d.num_classes, p.features, p.feature_nnz, keys.noise);
    d.features_dense = false;
  } else {
    d.features = class_features(d.labels, d.num_classes, p.features, keys.signs, keys.noise);
    d.features_dense = p.features > 0;
  }
  add_split(d, p.seed);
}

// random and rmat: the parameters checked (edges at most max_edges, `formula` and `why` its
// rule), and the empty Dataset named `name`.
Dataset random_dataset(const std::string& name, const std::string& kind, const RandomGraphParams& p, int64_t max_edges,
                       const std::string& formula, const std::string& why) {
  check_range(kind, "edges", p.edges, 0, INT32_MAX);
  if (p.edges > max_edges)
    bad(kind, "edges", std::to_string(p.edges),
        "must be at most " + formula + " = " + std::to_string(max_edges) + " for " + std::to_string(p.nodes) +
            " nodes (" + why + ")",
        "lower --edges or raise --nodes");
  check_range(kind, "classes", p.classes, 1, std::min<int64_t>(p.nodes, INT32_MAX));
  if (p.feature_nnz > 0) {
    check_range(kind, "features", p.features, p.classes, INT32_MAX);
    check_range(kind, "feature-nnz", p.feature_nnz, 0, p.features / 2);
    if (p.nodes * p.feature_nnz > INT32_MAX)
      bad(kind, "feature-nnz", std::to_string(p.feature_nnz), "times --nodes must stay below 2^31 stored values",
          "lower --feature-nnz");
  } else {
    check_features(kind, p.nodes, p.features);
  }
  return empty_dataset(name,
                       fmt::format("generated:{}(nodes={},edges={},classes={},features={}{},seed={})", name, p.nodes,
                                   p.edges, p.classes, p.features,
                                   p.feature_nnz > 0 ? fmt::format(",feature_nnz={}", p.feature_nnz) : "", p.seed),
                       p.nodes, p.classes);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
Dataset generate_random(const RandomGraphParams& p) {
  check_range("random graph", "nodes", p.nodes, 1, INT32_MAX);
  const int64_t max_pairs = p.nodes * (p.nodes - 1) / 2;  // < 2^61 for nodes < 2^31
  Dataset d = random_dataset("random", "random graph", p, max_pairs, "nodes*(nodes-1)/2", "a simple graph");
  const Keys keys(p.seed);
  {
    std::vector<uint64_t> pairs;
    if (p.edges <= max_pairs / 2) {
      pairs = sample_pairs(p.nodes, p.edges, keys.edges);
    } else {
      // Dense: sample the pairs to leave out instead, then list every other pair in order.
      const std::vector<uint64_t> out = sample_pairs(p.nodes, max_pairs - p.edges, keys.edges);
      pairs.reserve(static_cast<size_t>(p.edges));
      size_t k = 0;
      for (uint64_t a = 0; a < static_cast<uint64_t>(p.nodes); ++a)
        for (uint64_t b = a + 1; b < static_cast<uint64_t>(p.nodes); ++b) {
          const uint64_t key = pair_key(a, b);
          if (k < out.size() && out[k] == key)
            ++k;
          else
            pairs.push_back(key);
        }
    }
    set_edges(d, pairs);
  }
  add_uniform_labels(d, p, keys);
  return d;
}

Dataset generate_rmat(const RandomGraphParams& p) {
  check_range("R-MAT graph", "nodes", p.nodes, 2, INT32_MAX);
  Dataset d = random_dataset("rmat", "R-MAT graph", p, p.nodes * (p.nodes - 1) / 8, "nodes*(nodes-1)/8",
                             "a quarter of all pairs: repeated pairs are redrawn, and a skewed graph that dense would "
                             "repeat most");
  const Keys keys(p.seed);
  // A seeded relabelling: Fisher–Yates from a stream of its own (the label key, salted).
  std::vector<uint32_t> perm(static_cast<size_t>(p.nodes));
  std::iota(perm.begin(), perm.end(), 0u);
  for (int64_t v = p.nodes - 1; v > 0; --v)
    std::swap(perm[static_cast<size_t>(v)],
              perm[static_cast<size_t>(below(hash_at(keys.labels ^ 0x7E4Dull, static_cast<uint64_t>(v)), static_cast<uint64_t>(v) + 1))]);
  set_edges(d, sample_rmat_pairs(p.nodes, p.edges, keys.edges, perm));
  add_uniform_labels(d, p, keys);
  return d;
}

// ---------------------------------------------------------------------------------------------
Dataset generate_sbm(const SbmParams& p) {
  const std::string kind = "stochastic block model";
  if (p.block_sizes.empty()) bad(kind, "blocks", "0", "must be at least 1", "give --blocks 5 (or more)");
  int64_t n = 0;
  for (int64_t s : p.block_sizes) {
    check_range(kind, "block-size", s, 1, INT32_MAX);
    n += s;
    if (n > INT32_MAX)
      bad(kind, "blocks", std::to_string(p.block_sizes.size()), "times --block-size must stay below 2^31 nodes",
          "lower --blocks or --block-size");
  }
  check_range(kind, "blocks", static_cast<int64_t>(p.block_sizes.size()), 1, n);
  check_probability(kind, "p-in", p.p_in);
  check_probability(kind, "p-out", p.p_out);
  check_features(kind, n, p.features);
  const auto nblocks = static_cast<int64_t>(p.block_sizes.size());
  std::vector<int64_t> first(static_cast<size_t>(nblocks) + 1, 0);
  for (int64_t b = 0; b < nblocks; ++b)
    first[static_cast<size_t>(b) + 1] = first[static_cast<size_t>(b)] + p.block_sizes[static_cast<size_t>(b)];
  // Expected edges: p_in * sum C(s_b, 2) + p_out * (C(n, 2) - sum C(s_b, 2)); refuse what cannot fit.
  double within = 0;
  for (int64_t s : p.block_sizes) within += 0.5 * static_cast<double>(s) * static_cast<double>(s - 1);
  const double across = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1) - within;
  const double expected = p.p_in * within + p.p_out * across;
  if (expected > 0.9 * INT32_MAX)
    bad(kind, "p-in", num(p.p_in),
        "with --p-out " + num(p.p_out) + " gives about " + fmt::format("{:.3g}", expected) +
            " expected edges, more than the 2^31 supported",
        "lower --p-in / --p-out or use smaller blocks");

  Dataset d = empty_dataset("sbm",
                            fmt::format("generated:sbm(blocks={},nodes={},p_in={},p_out={},features={},seed={})",
                                        nblocks, n, p.p_in, p.p_out, p.features, p.seed),
                            n, static_cast<int32_t>(nblocks));
  const Keys keys(p.seed);

  // Two independent streams per block r (so blocks run in parallel): the pairs inside r, a lower
  // triangle (v, w), w < v, visited row by row; and the pairs from r to all later blocks, an
  // n_r x (n - first[r+1]) rectangle visited row by row (every such pair has probability p_out).
  std::vector<std::vector<uint64_t>> parts(static_cast<size_t>(2 * nblocks));
#pragma omp parallel for schedule(dynamic, 1) if (expected >= kParallelMin)
  for (int64_t q = 0; q < 2 * nblocks; ++q) {
    const int64_t r = q / 2;
    const bool inside = q % 2 == 0;
    const double prob = inside ? p.p_in : p.p_out;
    const auto o_r = static_cast<uint64_t>(first[static_cast<size_t>(r)]);
    const auto o_later = static_cast<uint64_t>(first[static_cast<size_t>(r) + 1]);
    const int64_t n_r = p.block_sizes[static_cast<size_t>(r)], width = n - first[static_cast<size_t>(r) + 1];
    const int64_t total = inside ? n_r * (n_r - 1) / 2 : n_r * width;
    if (prob <= 0.0 || total == 0) continue;
    auto& out = parts[static_cast<size_t>(q)];
    out.reserve(static_cast<size_t>(1.1 * prob * static_cast<double>(total)) + 16);
    const uint64_t stream = hash_at(keys.edges, static_cast<uint64_t>(q));
    const double log_q = prob < 1.0 ? portable_log(1.0 - prob) : 0.0;
    uint64_t draw = 0;
    int64_t pos = -1;              // index of the last visited pair
    int64_t v = 1, row_start = 0;  // triangle: row v holds pairs row_start .. row_start + v - 1
    for (;;) {
      // Pairs skipped before the next edge: floor(log(u) / log(1 - p)) ~ Geometric(p).
      int64_t skip = 0;
      if (prob < 1.0) {
        const double g = std::floor(portable_log(unit_open0(hash_at(stream, draw++))) / log_q);
        if (g >= static_cast<double>(total - pos - 1)) break;  // past the last pair
        skip = static_cast<int64_t>(g);
      }
      pos += 1 + skip;
      if (pos >= total) break;
      if (inside) {
        while (pos - row_start >= v) row_start += v, ++v;
        out.push_back(pair_key(o_r + static_cast<uint64_t>(pos - row_start), o_r + static_cast<uint64_t>(v)));
      } else {
        out.push_back(pair_key(o_r + static_cast<uint64_t>(pos / width), o_later + static_cast<uint64_t>(pos % width)));
      }
    }
  }
  {
    std::vector<uint64_t> all;
    size_t m = 0;
    for (const auto& part : parts) m += part.size();
    all.reserve(m);
    for (auto& part : parts) {
      all.insert(all.end(), part.begin(), part.end());
      std::vector<uint64_t>().swap(part);
    }
    all = sort_keys(all, pair_key(static_cast<uint64_t>(n), static_cast<uint64_t>(n)));
    set_edges(d, all);
  }
  d.labels.resize(static_cast<size_t>(n));
  for (int64_t b = 0; b < nblocks; ++b)
    std::fill(d.labels.begin() + first[static_cast<size_t>(b)], d.labels.begin() + first[static_cast<size_t>(b) + 1],
              static_cast<int32_t>(b));
  d.features = class_features(d.labels, d.num_classes, p.features, keys.signs, keys.noise);
  d.features_dense = p.features > 0;
  add_split(d, p.seed);
  return d;
}

// ---------------------------------------------------------------------------------------------
Dataset generate_grid(const GridParams& p) {
  const std::string kind = "grid";
  check_range(kind, "rows", p.rows, 1, INT32_MAX);
  check_range(kind, "cols", p.cols, 1, INT32_MAX);
  if (p.rows * p.cols > INT32_MAX)
    bad(kind, "rows", std::to_string(p.rows), "times --cols " + std::to_string(p.cols) + " must stay below 2^31 nodes",
        "lower --rows or --cols");
  check_range(kind, "regions", p.regions, 1, std::min(p.rows, p.cols));
  const int64_t n = p.rows * p.cols;
  Dataset d = empty_dataset(
      "grid", fmt::format("generated:grid(rows={},cols={},regions={},seed={})", p.rows, p.cols, p.regions, p.seed), n,
      p.regions * p.regions);
  std::vector<uint64_t> pairs;
  pairs.reserve(static_cast<size_t>(p.rows * (p.cols - 1) + p.cols * (p.rows - 1)));
  d.labels.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.cols; ++c) {
      const auto a = static_cast<uint64_t>(r * p.cols + c);
      if (c + 1 < p.cols) pairs.push_back(pair_key(a, a + 1));                              // right neighbour
      if (r + 1 < p.rows) pairs.push_back(pair_key(a, a + static_cast<uint64_t>(p.cols)));  // lower neighbour
      d.labels[a] = static_cast<int32_t>((r * p.regions / p.rows) * p.regions + c * p.regions / p.cols);
    }
  set_edges(d, pairs);  // already in (min, max) order: a+1 < a+cols
  add_split(d, p.seed);
  return d;
}

// ---------------------------------------------------------------------------------------------
Dataset generate_caveman(const CavemanParams& p) {
  const std::string kind = "connected caveman";
  check_range(kind, "communities", p.communities, 2, INT32_MAX);
  check_range(kind, "size", p.size, 3, INT32_MAX);
  if (p.communities * p.size > INT32_MAX)
    bad(kind, "communities", std::to_string(p.communities),
        "times --size " + std::to_string(p.size) + " must stay below 2^31 nodes", "lower --communities or --size");
  const int64_t k = p.size, n = p.communities * k;
  const int64_t per_cave = k * (k - 1) / 2;
  if (p.communities * per_cave > INT32_MAX)
    bad(kind, "size", std::to_string(k), "gives more than 2^31 edges", "lower --size or --communities");
  check_probability(kind, "p", p.p);

  Dataset d = empty_dataset(
      "caveman",
      fmt::format("generated:caveman(communities={},size={},p={},seed={})", p.communities, k, num(p.p), p.seed), n,
      static_cast<int32_t>(p.communities));
  const Keys keys(p.seed);
  // Cliques without (s, s+1), plus the ring link (s-1, s) (for s = 0: (0, n-1)).
  std::vector<uint64_t> orig;
  orig.reserve(static_cast<size_t>(p.communities * per_cave));
  for (int64_t s = 0; s < n; s += k) {
    for (int64_t a = s; a < s + k; ++a)
      for (int64_t b = a + 1; b < s + k; ++b)
        if (!(a == s && b == s + 1)) orig.push_back(pair_key(static_cast<uint64_t>(a), static_cast<uint64_t>(b)));
    orig.push_back(s == 0 ? pair_key(0, static_cast<uint64_t>(n - 1))
                          : pair_key(static_cast<uint64_t>(s - 1), static_cast<uint64_t>(s)));
  }
  std::sort(orig.begin(), orig.end());

  // Rewiring, sequential in edge order (each step depends on the edges so far). The skeleton
  // (ring links: ends in different cliques; stars: the larger end is its clique's last node) stays.
  std::vector<char> removed(orig.size(), 0);
  std::unordered_set<uint64_t> added;
  auto is_edge = [&](uint64_t key) {
    auto it = std::lower_bound(orig.begin(), orig.end(), key);
    if (it != orig.end() && *it == key && !removed[static_cast<size_t>(it - orig.begin())]) return true;
    return added.count(key) > 0;
  };
  if (p.p > 0.0) {
    for (size_t e = 0; e < orig.size(); ++e) {
      const int64_t a = EdgeSet::first(orig[e]), b = EdgeSet::second(orig[e]);
      if (a / k != b / k || b % k == k - 1) continue;  // skeleton
      if (unit(hash_at(keys.edges, 3 * e)) >= p.p) continue;
      const int64_t u = (hash_at(keys.edges, 3 * e + 1) >> 63) ? a : b;
      const auto x = static_cast<int64_t>(below(hash_at(keys.edges, 3 * e + 2), static_cast<uint64_t>(n)));
      if (x == u) continue;
      const uint64_t key = pair_key(static_cast<uint64_t>(std::min(u, x)), static_cast<uint64_t>(std::max(u, x)));
      if (is_edge(key)) continue;
      removed[e] = 1;
      added.insert(key);
    }
  }
  std::vector<uint64_t> pairs;
  pairs.reserve(orig.size());
  for (size_t e = 0; e < orig.size(); ++e)
    if (!removed[e]) pairs.push_back(orig[e]);
  pairs.insert(pairs.end(), added.begin(), added.end());
  std::sort(pairs.begin(), pairs.end());
  set_edges(d, pairs);

  d.labels.resize(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) d.labels[static_cast<size_t>(v)] = static_cast<int32_t>(v / k);
  add_split(d, p.seed);
  return d;
}

}  // namespace locus
