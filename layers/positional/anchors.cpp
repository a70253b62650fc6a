#include "layers/positional/anchors.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/graph_traits.hpp>
#include <boost/iterator/iterator_facade.hpp>
#include <limits>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "layers/positional/laplacian.hpp"

// A zero-copy Boost.Graph IncidenceGraph over CSR arrays (row u = u's neighbours).
namespace locus::pe::bgl {
struct CsrView {
  const int64_t* indptr;
  const int32_t* indices;
  int64_t n;
};
struct Edge {
  int32_t s = 0, t = 0;
  bool operator==(const Edge&) const = default;
};
class OutEdgeIter : public boost::iterator_facade<OutEdgeIter, Edge, boost::forward_traversal_tag, Edge> {
 public:
  OutEdgeIter() = default;
  OutEdgeIter(int32_t s, const int32_t* p) : s_(s), p_(p) {}

 private:
  friend class boost::iterator_core_access;
  Edge dereference() const { return {s_, *p_}; }
  bool equal(const OutEdgeIter& o) const { return p_ == o.p_; }
  void increment() { ++p_; }
  int32_t s_ = 0;
  const int32_t* p_ = nullptr;
};
inline std::pair<OutEdgeIter, OutEdgeIter> out_edges(int32_t u, const CsrView& g) {
  return {OutEdgeIter(u, g.indices + g.indptr[u]), OutEdgeIter(u, g.indices + g.indptr[u + 1])};
}
inline int64_t out_degree(int32_t u, const CsrView& g) { return g.indptr[u + 1] - g.indptr[u]; }
inline int32_t source(const Edge& e, const CsrView&) { return e.s; }
inline int32_t target(const Edge& e, const CsrView&) { return e.t; }
inline int64_t num_vertices(const CsrView& g) { return g.n; }
}  // namespace locus::pe::bgl

namespace boost {
template <>
struct graph_traits<locus::pe::bgl::CsrView> {
  using vertex_descriptor = int32_t;
  using edge_descriptor = locus::pe::bgl::Edge;
  using out_edge_iterator = locus::pe::bgl::OutEdgeIter;
  using directed_category = directed_tag;
  using edge_parallel_category = allow_parallel_edge_tag;
  using traversal_category = incidence_graph_tag;
  using vertices_size_type = int64_t;
  using edges_size_type = int64_t;
  using degree_size_type = int64_t;
  static vertex_descriptor null_vertex() { return -1; }
};
}  // namespace boost

namespace locus::pe {

namespace {

// Depth codes of the output column buffers: kUnset = not reached. uint8_t for cutoffs up to 254.
template <class D>
constexpr D kUnset = std::numeric_limits<D>::max();

inline bool test_bit(const uint64_t* b, int64_t v) { return (b[v >> 6] >> (v & 63)) & 1; }
inline void set_bit(uint64_t* b, int64_t v) { b[v >> 6] |= uint64_t(1) << (v & 63); }

// Boost colour map read from the `reached` bitmap: white iff not reached. Puts are ignored: the
// visitor's tree_edge sets the bit before Boost puts grey, and black vs grey is never needed.
struct BitColorMap {
  using key_type = int32_t;
  using value_type = boost::default_color_type;
  using reference = value_type;
  using category = boost::read_write_property_map_tag;
  const uint64_t* reached;
};
inline boost::default_color_type get(const BitColorMap& m, int32_t v) {
  return test_bit(m.reached, v) ? boost::gray_color : boost::white_color;
}
inline void put(const BitColorMap&, int32_t, boost::default_color_type) {}

// Per-thread BFS of one anchor set at a time. Output: depth and nearest anchor per reached node
// (the caller's column buffers; depth must hold kUnset on entry). The random probes of both
// directions go to bitmaps of n bits (125 KiB at n = 1M, L2-resident) rather than to the depths.
template <class D>
struct SetBfs {
  const int64_t* indptr;
  const int32_t* indices;
  int64_t n;
  double avg_degree;  // adjacency entries / n
  int cutoff;         // < 0: none
  BfsDirection dir;
  D* depth = nullptr;
  int32_t* near = nullptr;
  int64_t num_reached = 0;
  std::vector<uint64_t> reached, frontier, next_frontier;  // bitmaps, (n + 63) / 64 words
  std::vector<int32_t> queue, next;  // queue: Boost's FIFO; next: a bottom-up step's new level

  SetBfs(const Csr& s, int cutoff_, BfsDirection dir_)
      : indptr(s.indptr.data()), indices(s.indices.data()), n(s.num_dst),
        avg_degree(static_cast<double>(s.num_edges()) / static_cast<double>(std::max<int64_t>(1, s.num_dst))),
        cutoff(cutoff_), dir(dir_), reached((n + 63) / 64), frontier((n + 63) / 64), next_frontier((n + 63) / 64) {}

  int64_t degree(int32_t v) const { return indptr[v + 1] - indptr[v]; }
  bool expandable(int level) const { return (cutoff < 0 || level < cutoff) && num_reached < n; }

  // Expand a frontier of total degree m_f top-down (Boost) or bottom-up? Top-down probes m_f
  // edges. Bottom-up scans the n/64 bitmap words and probes the U unreached nodes' neighbours until
  // one is in the frontier: ~1/q probes when a neighbour is in the frontier with probability
  // q = m_f / (n dbar), at most the degree dbar (Beamer et al.'s alpha/beta rule, as a cost model).
  bool prefer_bottom_up(int64_t m_f) const {
    if (dir != BfsDirection::hybrid) return dir == BfsDirection::bottom_up;
    const double q = static_cast<double>(m_f) / (avg_degree * static_cast<double>(n));
    const double per_node = q > 0 ? std::min(avg_degree, 1.0 / q) : avg_degree;
    return static_cast<double>(n) / 32.0 + static_cast<double>(n - num_reached) * per_node < static_cast<double>(m_f);
  }

  // Boost's Buffer: a FIFO over `queue`. [head, level_end) is the level being expanded (depth
  // `level`), entries after it the next level. At each level boundary the next level is sorted, so
  // that every node is discovered from its smallest-id neighbour one level up (the `nearest` rule),
  // and Boost is stopped (empty) when nothing is left to expand or bottom-up is cheaper.
  struct Queue {
    SetBfs* s;
    size_t head = 0, level_end = 0;
    int level = -1;
    bool to_bottom_up = false;
    void push(int32_t v) {
      if (s->cutoff < 0 || s->depth[v] < s->cutoff) s->queue.push_back(v);  // depth cutoff: never expanded
    }
    int32_t top() const { return s->queue[head]; }
    void pop() {
      // The rows of queued nodes lie at random in memory: prefetch the neighbour list of the node 8
      // places ahead, and its indptr entry 16 ahead (read by the prefetch 8 pops later).
      ++head;
      const size_t sz = s->queue.size();
      if (head + 16 < sz) __builtin_prefetch(s->indptr + s->queue[head + 16]);
      if (head + 8 < sz) __builtin_prefetch(s->indices + s->indptr[s->queue[head + 8]]);
    }
    bool empty() {
      if (head < level_end) return s->num_reached == s->n;  // all reached: the rest would only rescan edges
      if (head == s->queue.size()) return true;
      ++level;
      if (!s->expandable(level)) return true;
      int64_t m_f = 0;
      for (size_t i = head; i < s->queue.size(); ++i) m_f += s->degree(s->queue[i]);
      if (s->prefer_bottom_up(m_f)) {
        std::fill(s->frontier.begin(), s->frontier.end(), 0);
        for (size_t i = head; i < s->queue.size(); ++i) set_bit(s->frontier.data(), s->queue[i]);
        return to_bottom_up = true;
      }
      std::sort(s->queue.begin() + static_cast<std::ptrdiff_t>(head), s->queue.end());
      level_end = s->queue.size();
      return false;
    }
  };

  // Depth and nearest anchor flow from BFS parent to child.
  struct Visitor : boost::default_bfs_visitor {
    SetBfs* s;
    template <class G>
    void tree_edge(const bgl::Edge& e, const G&) const {
      set_bit(s->reached.data(), e.t);
      s->depth[e.t] = static_cast<D>(s->depth[e.s] + 1);
      s->near[e.t] = s->near[e.s];
      ++s->num_reached;
    }
  };

  // Every unreached node scans its sorted neighbour list for the first one in `frontier` (depth
  // `level`) and takes it as parent: the smallest-id one, the same rule as the sorted top-down
  // levels. Fills `next` (ascending) and next_frontier with the new level, then swaps the
  // frontiers; returns the new level's total degree.
  int64_t bottom_up_step(int level) {
    next.clear();
    int64_t m_f = 0;
    const D dn = static_cast<D>(level + 1);
    const uint64_t* fr = frontier.data();
    const int64_t words = static_cast<int64_t>(reached.size());
    for (int64_t w = 0; w < words; ++w) {
      uint64_t todo = ~reached[w], found = 0;
      if (w == words - 1 && (n & 63)) todo &= (uint64_t(1) << (n & 63)) - 1;
      while (todo) {
        const int b = std::countr_zero(todo);
        todo &= todo - 1;
        const int64_t v = w * 64 + b;
        for (int64_t p = indptr[v], pe = indptr[v + 1]; p < pe; ++p) {
          const int32_t u = indices[p];
          if (test_bit(fr, u)) {
            depth[v] = dn;
            near[v] = near[u];
            next.push_back(static_cast<int32_t>(v));
            m_f += pe - indptr[v];
            found |= uint64_t(1) << b;
            break;
          }
        }
      }
      reached[w] |= found;  // no node of word w is in the frontier: the probes above are unaffected
      next_frontier[w] = found;
    }
    frontier.swap(next_frontier);
    num_reached += static_cast<int64_t>(next.size());
    return m_f;
  }

  // Anchors: sorted, distinct, in [0, n).
  void run(const bgl::CsrView& view, const int32_t* a0, const int32_t* a1) {
    std::fill(reached.begin(), reached.end(), 0);
    num_reached = a1 - a0;
    queue.assign(a0, a1);
    for (const int32_t* a = a0; a != a1; ++a) {
      set_bit(reached.data(), *a);
      depth[*a] = 0;
      near[*a] = *a;
    }
    Queue q{this};
    Visitor vis;
    vis.s = this;
    const BitColorMap color{reached.data()};
    const int32_t* none = nullptr;
    while (true) {
      // Top-down levels (Boost) from the level in `queue`, until done or bottom-up is cheaper.
      q.head = q.level_end = 0;
      q.to_bottom_up = false;
      boost::breadth_first_visit(view, none, none, q, vis, color);
      if (!q.to_bottom_up) return;
      int level = q.level;
      // Bottom-up levels, until done or top-down is cheaper again (small frontier).
      while (true) {
        const int64_t m_f = bottom_up_step(level++);
        if (next.empty() || !expandable(level)) return;
        if (!prefer_bottom_up(m_f)) break;
      }
      queue.swap(next);  // ascending already; Queue::empty() re-decides at `level` (same answer)
      q.level = level - 1;
    }
  }
};

}  // namespace

int anchor_set_sizes(int64_t n) {
  if (n <= 0) return 0;
  int c = 0;
  while ((int64_t(1) << (c + 1)) <= n) ++c;  // floor(log2 n)
  return std::max(c, 1);
}

int64_t anchor_set_count(int64_t n) {
  const int64_t c = anchor_set_sizes(n);
  return c * c;
}

AnchorSets sample_anchor_sets(int64_t n, uint64_t seed) {
  if (n <= 0) return {};
  const int c = anchor_set_sizes(n);
  return sample_anchor_sets(n, seed, c, c);
}

uint64_t graph_anchor_seed(uint64_t seed, int64_t g) {
  return splitmix64(seed ^ splitmix64(0x6A7C5E75ull + static_cast<uint64_t>(g)));
}

AnchorSets batch_anchor_sets(std::span<const int64_t> offset, std::span<const uint64_t> seeds, int sizes) {
  check(sizes >= 1 && offset.size() == seeds.size() + 1, "pe::batch_anchor_sets: sizes < 1 or offsets do not match the seeds");
  std::vector<AnchorSets> per(seeds.size());
  for (size_t b = 0; b < seeds.size(); ++b) per[b] = sample_anchor_sets(offset[b + 1] - offset[b], seeds[b], sizes, sizes);
  AnchorSets a;
  const int64_t k = int64_t(sizes) * sizes;
  for (int64_t i = 0; i < k; ++i) {
    for (size_t b = 0; b < seeds.size(); ++b) {
      if (per[b].num_sets() == 0) continue;  // an empty graph
      for (int64_t j = per[b].offsets[i]; j < per[b].offsets[i + 1]; ++j)
        a.nodes.push_back(static_cast<int32_t>(offset[b] + per[b].nodes[j]));
    }
    a.offsets.push_back(static_cast<int64_t>(a.nodes.size()));
  }
  return a;
}

int64_t anchor_node_count(int64_t n, int64_t requested) {
  check(n >= 0 && requested >= 0, "pe::anchor_node_count: n or requested out of range");
  if (n == 0) return 0;
  if (requested > 0) return std::min(requested, n);
  return std::min(n, std::max(anchor_set_count(n), kAnchorNodePairs / n));
}

AnchorSets sample_anchor_nodes(int64_t n, uint64_t seed, int64_t k) {
  check(n >= 0 && n <= INT32_MAX && k >= 0, "pe::sample_anchor_nodes: n or k out of range");
  k = std::min(k, n);
  std::vector<int32_t> perm(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) perm[v] = static_cast<int32_t>(v);
  Rng rng(seed);
  AnchorSets a;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t r = t + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - t)));
    std::swap(perm[t], perm[r]);
    a.nodes.push_back(perm[t]);
    a.offsets.push_back(t + 1);
  }
  return a;
}

AnchorSets sample_anchor_sets(int64_t n, uint64_t seed, int num_sizes, int copies) {
  check(n >= 0 && n <= INT32_MAX, "pe::sample_anchor_sets: n out of range");
  check(num_sizes >= 0 && copies >= 0, "pe::sample_anchor_sets: negative count");
  AnchorSets a;
  if (n == 0) return a;
  for (int j = 0; j < num_sizes; ++j) {
    const int64_t size = std::max<int64_t>(1, j + 1 < 63 ? n >> (j + 1) : 0);
    for (int r = 0; r < copies; ++r) a.offsets.push_back(a.offsets.back() + size);
  }
  a.nodes.resize(a.offsets.back());
  const int64_t ns = a.num_sets();
#pragma omp parallel if (a.offsets.back() >= (int64_t(1) << 16))
  {
    std::vector<int32_t> perm(n), swaps;
    std::vector<uint8_t> mark;
    for (int64_t v = 0; v < n; ++v) perm[v] = static_cast<int32_t>(v);
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < ns; ++i) {
      Rng rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(i))));
      const int64_t s = a.set_size(i);
      int32_t* out = a.nodes.data() + a.offsets[i];
      swaps.resize(s);
      for (int64_t t = 0; t < s; ++t) {  // partial Fisher-Yates: perm[0..s) is a uniform s-subset
        const int64_t r = t + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n - t)));
        std::swap(perm[t], perm[r]);
        swaps[t] = static_cast<int32_t>(r);
      }
      if (s * 16 > n) {  // large set: sort by marking and scanning, O(n)
        mark.assign(n, 0);
        for (int64_t t = 0; t < s; ++t) mark[perm[t]] = 1;
        int64_t q = 0;
        for (int64_t v = 0; v < n; ++v)
          if (mark[v]) out[q++] = static_cast<int32_t>(v);
      } else {
        std::copy(perm.begin(), perm.begin() + s, out);
        std::sort(out, out + s);
      }
      for (int64_t t = s - 1; t >= 0; --t) std::swap(perm[t], perm[swaps[t]]);  // back to identity
    }
  }
  return a;
}

namespace {

// Where anchor_distances_impl writes, each [n, num_sets] row-major: value and nearest
// (anchor_distances), or depth alone (anchor_depths).
struct AnchorOut {
  float* value = nullptr;
  int32_t* nearest = nullptr;
  int32_t* depth = nullptr;
};

template <class D>
void anchor_distances_impl(const Csr& s, const AnchorSets& sets, int cutoff, BfsDirection dir, AnchorOut out) {
  const int64_t n = s.num_dst, ns = sets.num_sets();
  const bgl::CsrView view{s.indptr.data(), s.indices.data(), n};
  // Sets go in blocks of up to 16 consecutive ones per task, each BFS into its own depth/near column
  // buffers; then the block is written out row by row, w contiguous entries per row. Writing the
  // row-major [n, ns] output one column at a time would touch a new cache line (and often a new
  // page) per entry.
  const int64_t block = std::clamp<int64_t>(ns / (2 * omp_get_max_threads()), 1, 16);
  const int64_t nblocks = (ns + block - 1) / block;
  float lut[256];
  for (int d = 0; d < 256; ++d) lut[d] = 1.0f / static_cast<float>(d + 1);

#pragma omp parallel
  {
    std::vector<D> depth(block * n);
    std::vector<int32_t> near(block * n);
    SetBfs<D> bfs(s, cutoff, dir);
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t i0 = b * block, w = std::min(ns, i0 + block) - i0;
      std::fill(depth.begin(), depth.begin() + w * n, kUnset<D>);
      for (int64_t c = 0; c < w; ++c) {
        bfs.depth = depth.data() + c * n;
        bfs.near = near.data() + c * n;
        bfs.run(view, sets.nodes.data() + sets.offsets[i0 + c], sets.nodes.data() + sets.offsets[i0 + c + 1]);
      }
      for (int64_t v = 0; v < n; ++v) {
        if (out.depth) {
          int32_t* dout = out.depth + v * ns + i0;
          for (int64_t c = 0; c < w; ++c) {
            const D d = depth[c * n + v];
            dout[c] = d != kUnset<D> ? static_cast<int32_t>(d) : -1;
          }
          continue;
        }
        float* vo = out.value + v * ns + i0;
        int32_t* no = out.nearest + v * ns + i0;
        for (int64_t c = 0; c < w; ++c) {
          const D d = depth[c * n + v];
          const bool hit = d != kUnset<D>;
          if constexpr (sizeof(D) == 1) vo[c] = hit ? lut[d] : 0.0f;
          else vo[c] = hit ? 1.0f / static_cast<float>(d + 1) : 0.0f;
          no[c] = hit ? near[c * n + v] : -1;
        }
      }
    }
  }
}

void check_anchors(const char* who, int64_t n, const AnchorSets& sets) {
  for (int32_t v : sets.nodes)
    if (v < 0 || v >= n) check(false, std::string(who) + ": anchor " + std::to_string(v) + " outside the graph");
}

// The BFS of every set on g's undirected simple view, into `out` (anchors already checked).
void run_anchor_bfs(const Csr& g, const AnchorSets& sets, int cutoff, BfsDirection dir, AnchorOut out) {
  const Csr s = undirected_simple(g);
  if (cutoff >= 0 && cutoff < 255) anchor_distances_impl<uint8_t>(s, sets, cutoff, dir, out);
  else anchor_distances_impl<int32_t>(s, sets, cutoff, dir, out);
}

}  // namespace

AnchorDistances anchor_distances(const Csr& g, const AnchorSets& sets, int cutoff, BfsDirection dir) {
  const int64_t n = g.num_dst, ns = sets.num_sets();
  check_anchors("pe::anchor_distances", n, sets);
  AnchorDistances out;
  if (n == 0 || ns == 0) {
    out.value = Mat::Zero(n, ns);
    out.nearest = IndexMat::Constant(n, ns, -1);
    return out;
  }
  // Every entry is written once, below (no zero fill first: 2 x 1.4 GiB at 1M nodes x 361 sets).
  out.value.resize(n, ns);
  out.nearest.resize(n, ns);
  run_anchor_bfs(g, sets, cutoff, dir, {out.value.data(), out.nearest.data(), nullptr});
  return out;
}

Mat anchor_values(const Csr& g, const AnchorSets& sets, int cutoff) {
  const int64_t n = g.num_dst, ns = sets.num_sets();
  check_anchors("pe::anchor_values", n, sets);
  if (n == 0 || ns == 0) return Mat::Zero(n, ns);
  Mat out(n, ns);  // every entry written once, row by row, below
  const Csr s = undirected_simple(g);
  const int64_t* indptr = s.indptr.data();
  const int32_t* indices = s.indices.data();
  const int64_t m = s.num_edges();
  float* values = out.data();
  // Per word of 64 sets: reached, the bits of the sets that reached v; frontier, the bits new at v
  // on the last level, nonzero only at the nodes in `listed`; next, this level's (all 0 on entry);
  // depth, v's 64 depths as bytes (one cache line per node; 255: not reached) up to level 254,
  // turned into v's output row in one pass. Deeper levels (no cutoff, long paths) write `out`.
  std::vector<uint64_t> reached(n), frontier(n, 0), next(n, 0);
  std::vector<uint8_t> depth(static_cast<size_t>(n) * 64);
  std::vector<int32_t> listed, touched;
  std::vector<std::vector<int32_t>> found(omp_get_max_threads());
  auto gather = [&](std::vector<int32_t>& into) {  // the threads' found nodes, in thread order
    into.clear();
    for (auto& f : found) into.insert(into.end(), f.begin(), f.end()), f.clear();
  };
  float lut[256];
  for (int d = 0; d < 255; ++d) lut[d] = 1.0f / static_cast<float>(d + 1);
  lut[255] = 0.0f;
  for (int64_t w0 = 0; w0 < ns; w0 += 64) {
    const int64_t width = std::min<int64_t>(64, ns - w0);
    const uint64_t full = width == 64 ? ~uint64_t(0) : (uint64_t(1) << width) - 1;
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < n; ++v) {
      reached[v] = 0;
      std::fill_n(depth.data() + v * 64, 64, uint8_t(255));
    }
    for (const int32_t v : listed) frontier[v] = 0;
    listed.clear();
    for (int64_t b = 0; b < width; ++b)  // depth 0: the members
      for (int64_t j = sets.offsets[w0 + b]; j < sets.offsets[w0 + b + 1]; ++j) {
        const int32_t v = sets.nodes[j];
        if (!frontier[v]) listed.push_back(v);
        frontier[v] |= uint64_t(1) << b;
        depth[v * 64 + b] = 0;
      }
    for (const int32_t v : listed) reached[v] = frontier[v];
    auto expand = [&](int level) {
      // Bits new at v from `in`: recorded as depths (or, beyond 254, values), listed for the next level.
      auto settle = [&](int64_t v, uint64_t in, std::vector<int32_t>& mine) {
        const uint64_t fresh = in & full & ~reached[v];
        next[v] = fresh;
        if (!fresh) return;
        reached[v] |= fresh;
        for (uint64_t b = fresh; b; b &= b - 1) {
          const int c = std::countr_zero(b);
          if (level < 255) depth[v * 64 + c] = static_cast<uint8_t>(level);
          else values[v * ns + w0 + c] = 1.0f / static_cast<float>(level + 1);
        }
        mine.push_back(static_cast<int32_t>(v));
      };
      int64_t m_f = 0;  // the frontier's edges
#pragma omp parallel for reduction(+ : m_f) schedule(static)
      for (size_t i = 0; i < listed.size(); ++i) m_f += indptr[listed[i] + 1] - indptr[listed[i]];
      if (m_f * 16 < m) {
        // Push (a small frontier, e.g. the small sets' words): OR the frontier's bits into its
        // neighbours, listing a neighbour at its first bit; then settle the listed ones.
#pragma omp parallel
        {
          std::vector<int32_t>& mine = found[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 256)
          for (size_t i = 0; i < listed.size(); ++i) {
            const int32_t u = listed[i];
            for (int64_t p = indptr[u]; p < indptr[u + 1]; ++p)
              if (std::atomic_ref<uint64_t>(next[indices[p]]).fetch_or(frontier[u], std::memory_order_relaxed) == 0)
                mine.push_back(indices[p]);
          }
        }
        gather(touched);
#pragma omp parallel
        {
          std::vector<int32_t>& mine = found[omp_get_thread_num()];
#pragma omp for schedule(static)
          for (size_t i = 0; i < touched.size(); ++i) settle(touched[i], next[touched[i]], mine);
        }
      } else {
        // Pull (a large frontier): every node not yet reached by all its word's sets ORs its
        // neighbours' frontier bits, stopping once it has all it lacks.
#pragma omp parallel
        {
          std::vector<int32_t>& mine = found[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4096)
          for (int64_t v = 0; v < n; ++v) {
            const uint64_t need = full & ~reached[v];
            uint64_t in = 0;
            if (need)
              for (int64_t p = indptr[v]; p < indptr[v + 1] && (in & need) != need; ++p) in |= frontier[indices[p]];
            if (in) settle(v, in, mine);
            else next[v] = 0;
          }
        }
      }
      for (const int32_t v : listed) frontier[v] = 0;
      std::swap(frontier, next);  // next is all 0 again: settle wrote every entry it set
      gather(listed);
    };
    int level = 1;
    for (; level < 255 && !listed.empty() && (cutoff < 0 || level <= cutoff); ++level) expand(level);
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < n; ++v)
      for (int64_t c = 0; c < width; ++c) values[v * ns + w0 + c] = lut[depth[v * 64 + c]];
    for (; !listed.empty() && (cutoff < 0 || level <= cutoff); ++level) expand(level);
  }
  return out;
}

IndexMat anchor_depths(const Csr& g, const AnchorSets& sets, int cutoff, BfsDirection dir) {
  const int64_t n = g.num_dst, ns = sets.num_sets();
  check_anchors("pe::anchor_depths", n, sets);
  if (n == 0 || ns == 0) return IndexMat::Constant(n, ns, -1);
  IndexMat depth(n, ns);  // every entry written once
  run_anchor_bfs(g, sets, cutoff, dir, {nullptr, nullptr, depth.data()});
  return depth;
}

}  // namespace locus::pe
