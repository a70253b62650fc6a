#include "datasets/reorder.hpp"

#include <metis.h>

#include <algorithm>
#include <deque>
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/cuthill_mckee_ordering.hpp>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "core/error.hpp"

namespace locus {

namespace {

const std::vector<std::pair<std::string, Reorder>>& table() {
  static const std::vector<std::pair<std::string, Reorder>> t = {
      {"none", Reorder::None}, {"rcm", Reorder::Rcm}, {"degree", Reorder::Degree}, {"metis", Reorder::Metis}};
  return t;
}

// One start node per connected component, each a pseudo-peripheral node (George & Liu 1979):
// from the component's first node, repeat a BFS and move to a least-degree node of the last level
// while the depth grows. Boost's own search resets every node's colour per component, quadratic on
// graphs with many components (R-MAT leaves a third of its nodes isolated); here each BFS touches
// its component alone (visit stamps).
std::deque<uint32_t> component_starts(const Csr& s) {
  const auto n = static_cast<size_t>(s.num_dst);
  auto degree = [&](uint32_t v) { return s.indptr[v + 1] - s.indptr[v]; };
  std::vector<uint32_t> stamp(n, 0), level;
  std::vector<char> seen(n, 0);
  uint32_t round = 0;
  // BFS from u; returns the depth and leaves the last level in `level`.
  auto bfs = [&](uint32_t u) {
    ++round;
    std::vector<uint32_t> frontier{u}, next;
    stamp[u] = round;
    seen[u] = 1;
    int depth = 0;
    for (;;) {
      next.clear();
      for (uint32_t v : frontier)
        for (int64_t p = s.indptr[v]; p < s.indptr[static_cast<size_t>(v) + 1]; ++p) {
          const auto w = static_cast<uint32_t>(s.indices[static_cast<size_t>(p)]);
          if (stamp[w] != round) stamp[w] = round, seen[w] = 1, next.push_back(w);
        }
      if (next.empty()) break;
      frontier.swap(next);
      ++depth;
    }
    level = std::move(frontier);
    return depth;
  };
  std::deque<uint32_t> starts;
  for (uint32_t v = 0; v < n; ++v) {
    if (seen[v]) continue;
    uint32_t start = v;
    int depth = bfs(v);
    for (int tries = 0; tries < 8 && depth > 0; ++tries) {
      const uint32_t far = *std::min_element(level.begin(), level.end(),
                                             [&](uint32_t a, uint32_t b) { return std::pair(degree(a), a) < std::pair(degree(b), b); });
      const int far_depth = bfs(far);
      if (far_depth <= depth) break;
      start = far, depth = far_depth;
    }
    starts.push_back(start);
  }
  return starts;
}

std::vector<int32_t> rcm_order(const Csr& s) {
  using Graph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, boost::no_property,
                                                   boost::no_property, uint32_t, uint64_t>;
  const auto n = static_cast<uint32_t>(s.num_dst);
  std::deque<uint32_t> starts = component_starts(s);
  std::vector<std::pair<uint32_t, uint32_t>> edges;
  edges.reserve(s.indices.size());
  for (uint32_t v = 0; v < n; ++v)
    for (int64_t p = s.indptr[v]; p < s.indptr[static_cast<size_t>(v) + 1]; ++p)
      edges.emplace_back(v, static_cast<uint32_t>(s.indices[static_cast<size_t>(p)]));
  const Graph g(boost::edges_are_sorted, edges.begin(), edges.end(), n);
  edges = {};
  std::vector<uint32_t> order(n);
  // Cuthill–McKee's order written back to front is the reverse one. The out-degree is the degree:
  // the pattern holds each undirected edge in both rows.
  std::vector<boost::default_color_type> color(n);
  boost::cuthill_mckee_ordering(g, starts, order.rbegin(),
                                boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g)),
                                boost::make_out_degree_map(g));
  return {order.begin(), order.end()};
}

std::vector<int32_t> degree_order(const Csr& s) {
  std::vector<int32_t> order(static_cast<size_t>(s.num_dst));
  std::iota(order.begin(), order.end(), 0);
  auto degree = [&](int32_t v) { return s.indptr[static_cast<size_t>(v) + 1] - s.indptr[static_cast<size_t>(v)]; };
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return degree(a) > degree(b); });
  return order;
}

std::vector<int32_t> metis_order(const Csr& s) {
  if (s.indices.size() > static_cast<size_t>(std::numeric_limits<idx_t>::max()))
    throw InputError("dataset.reorder=metis: the graph has more than 2^31 edges, more than METIS (32-bit) takes; "
                     "use dataset.reorder=rcm or degree");
  idx_t n = static_cast<idx_t>(s.num_dst);
  std::vector<idx_t> xadj(s.indptr.begin(), s.indptr.end()), adj(s.indices.begin(), s.indices.end());
  std::vector<idx_t> perm(static_cast<size_t>(n)), iperm(static_cast<size_t>(n));
  idx_t options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(options);
  options[METIS_OPTION_SEED] = 0;
  options[METIS_OPTION_NUMBERING] = 0;
  const int rc = METIS_NodeND(&n, xadj.data(), adj.empty() ? nullptr : adj.data(), nullptr, options, perm.data(),
                              iperm.data());
  if (rc != METIS_OK)
    throw std::runtime_error(std::string("METIS_NodeND failed (") + (rc == METIS_ERROR_MEMORY ? "out of memory" : "error") +
                             ") on " + std::to_string(n) + " nodes");
  // METIS: perm[new] = old (its "perm" is the fill-reducing order), iperm[old] = new.
  return {perm.begin(), perm.end()};
}

}  // namespace

const std::vector<std::string>& reorder_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& [name, kind] : table()) n.push_back(name);
    return n;
  }();
  return names;
}

Reorder parse_reorder(const std::string& name) {
  for (const auto& [n, kind] : table())
    if (n == name) return kind;
  throw InputError("unknown node order '" + name + "': use none, rcm, degree or metis");
}

std::vector<int32_t> node_order(const Csr& g, Reorder kind) {
  check(g.num_dst == g.num_src, "node_order: the graph must be square");
  if (kind == Reorder::None || g.num_dst == 0) {
    std::vector<int32_t> id(static_cast<size_t>(g.num_dst));
    std::iota(id.begin(), id.end(), 0);
    return id;
  }
  const Csr s = g.simple_pattern();
  switch (kind) {
    case Reorder::Rcm: return rcm_order(s);
    case Reorder::Degree: return degree_order(s);
    case Reorder::Metis: return metis_order(s);
    case Reorder::None: break;
  }
  return {};
}

void renumber_nodes(Dataset& ds, const std::vector<int32_t>& order) {
  check(!ds.has_graphs() && !ds.is_sentences(), "renumber_nodes: one graph only");
  const auto n = static_cast<size_t>(ds.num_nodes);
  check(order.size() == n, "renumber_nodes: one position per node");
  std::vector<int32_t> at(n, -1);  // at[old] = new
  for (size_t i = 0; i < n; ++i) {
    const int32_t old = order[i];
    check(old >= 0 && static_cast<size_t>(old) < n && at[static_cast<size_t>(old)] < 0, "renumber_nodes: not a permutation");
    at[static_cast<size_t>(old)] = static_cast<int32_t>(i);
  }
  for (int32_t& v : ds.src) v = at[static_cast<size_t>(v)];
  for (int32_t& v : ds.dst) v = at[static_cast<size_t>(v)];
  for (auto* split : {&ds.train, &ds.val, &ds.test})
    for (int32_t& v : *split) v = at[static_cast<size_t>(v)];
  auto gather = [&](auto& per_node) {
    if (per_node.empty()) return;
    std::remove_reference_t<decltype(per_node)> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = std::move(per_node[static_cast<size_t>(order[i])]);
    per_node = std::move(out);
  };
  gather(ds.labels);
  gather(ds.node_names);
  if (ds.features.rows() == static_cast<Eigen::Index>(n) && ds.features.cols() > 0) {
    SpMat& x = ds.features;
    x.makeCompressed();
    SpMat y(x.rows(), x.cols());
    y.resizeNonZeros(x.nonZeros());
    int32_t* outer = y.outerIndexPtr();
    outer[0] = 0;
    for (size_t i = 0; i < n; ++i) {
      const auto old = static_cast<size_t>(order[i]);
      outer[i + 1] = outer[i] + (x.outerIndexPtr()[old + 1] - x.outerIndexPtr()[old]);
    }
    for (size_t i = 0; i < n; ++i) {
      const auto old = static_cast<size_t>(order[i]);
      const int32_t b = x.outerIndexPtr()[old], len = x.outerIndexPtr()[old + 1] - b;
      std::copy_n(x.innerIndexPtr() + b, len, y.innerIndexPtr() + outer[i]);
      std::copy_n(x.valuePtr() + b, len, y.valuePtr() + outer[i]);
    }
    x.swap(y);
  }
}

}  // namespace locus
