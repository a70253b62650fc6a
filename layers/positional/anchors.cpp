#include "layers/positional/anchors.hpp"

#include <omp.h>

#include <algorithm>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/graph_traits.hpp>
#include <boost/iterator/iterator_facade.hpp>
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

// FIFO over a reused vector; refuses nodes at depth == cutoff, so they are never expanded. Reads
// as empty once every node is discovered (nothing left to find: the rest would only rescan edges).
struct CutoffQueue {
  std::vector<int32_t>* buf;
  size_t head;
  const int32_t* depth;
  int cutoff;
  const std::vector<int32_t>* discovered;
  size_t n;
  void push(int32_t v) {
    if (cutoff < 0 || depth[v] < cutoff) buf->push_back(v);
  }
  int32_t top() const { return (*buf)[head]; }
  void pop() { ++head; }
  bool empty() const { return head == buf->size() || discovered->size() == n; }
};

// Depth and nearest anchor flow from BFS parent to child; every discovered node is recorded.
struct AnchorVisitor : boost::default_bfs_visitor {
  int32_t* depth;
  int32_t* near;
  std::vector<int32_t>* touched;
  template <class G>
  void tree_edge(const bgl::Edge& e, const G&) const {
    depth[e.t] = depth[e.s] + 1;
    near[e.t] = near[e.s];
  }
  template <class G>
  void discover_vertex(int32_t v, const G&) const {
    touched->push_back(v);
  }
};

}  // namespace

AnchorSets sample_anchor_sets(int64_t n, uint64_t seed) {
  if (n <= 0) return {};
  int c = 0;
  while ((int64_t(1) << (c + 1)) <= n) ++c;  // floor(log2 n)
  c = std::max(c, 1);
  return sample_anchor_sets(n, seed, c, c);
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

AnchorDistances anchor_distances(const Csr& g, const AnchorSets& sets, int cutoff) {
  const int64_t n = g.num_dst, ns = sets.num_sets();
  for (int32_t v : sets.nodes)
    if (v < 0 || v >= n) check(false, "pe::anchor_distances: anchor " + std::to_string(v) + " outside the graph");
  AnchorDistances out;
  if (n == 0 || ns == 0) {
    out.value = Mat::Zero(n, ns);
    out.nearest.assign(n * ns, -1);
    return out;
  }
  out.value.resize(n, ns);  // every entry is written below
  out.nearest.resize(n * ns);
  const Csr s = undirected_simple(g);
  const bgl::CsrView view{s.indptr.data(), s.indices.data(), n};
  float* value = out.value.data();
  int32_t* nearest = out.nearest.data();
  // Sets go in blocks of up to 16 consecutive ones per task: each BFS fills a column buffer (random
  // writes into n entries), then the block is copied out row by row, w contiguous entries per row.
  // Writing the row-major [n, ns] output one column at a time would touch a new cache line (and
  // often a new page) per entry.
  const int64_t block = std::clamp<int64_t>(ns / (2 * omp_get_max_threads()), 1, 16);
  const int64_t nblocks = (ns + block - 1) / block;

#pragma omp parallel
  {
    std::vector<boost::default_color_type> color(n, boost::white_color);
    std::vector<int32_t> depth(n, 0), near(n, -1), queue, touched, col_near;
    std::vector<float> col_value;
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t i0 = b * block, w = std::min(ns, i0 + block) - i0;
      col_value.assign(w * n, 0.0f);
      col_near.assign(w * n, -1);
      for (int64_t c = 0; c < w; ++c) {
        const int64_t i = i0 + c;
        const int32_t* a0 = sets.nodes.data() + sets.offsets[i];
        const int32_t* a1 = sets.nodes.data() + sets.offsets[i + 1];
        for (const int32_t* a = a0; a != a1; ++a) {
          depth[*a] = 0;
          near[*a] = *a;
        }
        queue.clear();
        touched.clear();
        CutoffQueue q{&queue, 0, depth.data(), cutoff, &touched, static_cast<size_t>(n)};
        AnchorVisitor vis;
        vis.depth = depth.data();
        vis.near = near.data();
        vis.touched = &touched;
        boost::breadth_first_visit(view, a0, a1, q, vis, color.data());
        float* cv = col_value.data() + c * n;
        int32_t* cn = col_near.data() + c * n;
        for (int32_t v : touched) {
          cv[v] = 1.0f / static_cast<float>(depth[v] + 1);
          cn[v] = near[v];
          color[v] = boost::white_color;
        }
      }
      for (int64_t v = 0; v < n; ++v)
        for (int64_t c = 0; c < w; ++c) {
          value[v * ns + i0 + c] = col_value[c * n + v];
          nearest[v * ns + i0 + c] = col_near[c * n + v];
        }
    }
  }
  return out;
}

}  // namespace locus::pe
