#include "layers/gir.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/ops/anchor.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/position.hpp"
#include "core/ops/shape.hpp"
#include "core/ops/message.hpp"
#include "layers/registry.hpp"

namespace locus {

AnchorState make_anchor_state(const Csr& g, pe::AnchorSets sets, int hops, bool hop_graphs) {
  check(hops >= -1, "make_anchor_state: hops must be ≥ 0 or −1 (no cutoff), got " + std::to_string(hops));
  check(g.num_dst == g.num_src, "make_anchor_state: the graph must be square");
  const pe::AnchorDistances dist = pe::anchor_distances(g, sets, hops);
  AnchorState st;
  st.sets = std::move(sets);
  st.exact = hops < 0;
  const int64_t n = g.num_dst, k = st.sets.num_sets();
  st.depth.resize(n, k);
  for (int64_t v = 0; v < n; ++v)
    for (int64_t s = 0; s < k; ++s) {
      const float val = dist.value(v, s);
      // value = 1/(d+1), so d+1 = 1/value, exact after rounding for any realistic depth.
      const int32_t d = val > 0.0f ? static_cast<int32_t>(std::lround(1.0 / static_cast<double>(val))) - 1 : -1;
      st.depth(v, s) = d;
      st.hops = std::max(st.hops, d);
    }
  if (hops >= 0) st.hops = hops;
  st.frontier.assign(st.hops, {});
  for (int64_t v = 0; v < n; ++v)
    for (int64_t s = 0; s < k; ++s) {
      const int32_t d = st.depth(v, s);
      const int64_t e = v * k + s;
      if (d == 0) st.start.push_back(e);
      else if (d > 0) st.frontier[d - 1].push_back(e);
    }
  if (hop_graphs) {
    st.hop = make_hop_graphs(g, st, st.hops);
    for (int l = 0; l <= st.hops; ++l) {
      const std::vector<int64_t>& level = l == 0 ? st.start : st.frontier[l - 1];
      std::vector<int64_t> node(level.size());
      for (size_t i = 0; i < level.size(); ++i) node[i] = level[i] / k;
      st.level_entry.push_back(std::make_shared<const std::vector<int64_t>>(level));
      st.level_node.push_back(std::make_shared<const std::vector<int64_t>>(std::move(node)));
    }
  }
  return st;
}

std::vector<std::shared_ptr<const Csr>> make_hop_graphs(const Csr& g, const AnchorState& st, int levels) {
  const int64_t n = st.num_nodes(), k = st.num_sets();
  check(g.num_dst == n && g.num_src == n, "make_hop_graphs: the graph and the anchor state differ in size");
  check(levels >= 0 && levels <= static_cast<int>(st.frontier.size()),
        "make_hop_graphs: the state has " + std::to_string(st.frontier.size()) + " levels, asked for " +
            std::to_string(levels));
  // Position of every entry within its level (levels are increasing lists of e = v·K + k).
  std::vector<int32_t> pos(static_cast<size_t>(n * k), -1);
  auto number = [&](const std::vector<int64_t>& level) {
    check(level.size() < static_cast<size_t>(INT32_MAX), "make_hop_graphs: a level has 2^31 entries or more");
    for (size_t i = 0; i < level.size(); ++i) pos[level[i]] = static_cast<int32_t>(i);
  };
  number(st.start);
  std::vector<std::shared_ptr<const Csr>> out;
  const bool weighted = g.has_weights();
  for (int l = 1; l <= levels; ++l) {
    const std::vector<int64_t>& rows = st.frontier[l - 1];
    const int64_t prev = l == 1 ? static_cast<int64_t>(st.start.size())
                                : static_cast<int64_t>(st.frontier[l - 2].size());
    auto a = std::make_shared<Csr>();
    a->num_dst = static_cast<int64_t>(rows.size());
    a->num_src = prev;
    a->indptr.assign(rows.size() + 1, 0);
    // Two passes (count, fill), parallel over rows; sources of a row stay sorted, as g's are.
    auto each_source = [&](int64_t e, auto&& visit) {
      const int64_t v = e / k, s = e % k;
      for (int64_t j = g.indptr[v]; j < g.indptr[v + 1]; ++j) {
        const int64_t u = g.indices[j];
        if (st.depth(u, s) == l - 1) visit(j, pos[u * k + s]);
      }
    };
    const int64_t r = a->num_dst;
#pragma omp parallel for schedule(dynamic, 1024)
    for (int64_t i = 0; i < r; ++i) {
      int64_t c = 0;
      each_source(rows[i], [&](int64_t, int32_t) { ++c; });
      a->indptr[i + 1] = c;
    }
    for (int64_t i = 0; i < r; ++i) a->indptr[i + 1] += a->indptr[i];
    a->indices.resize(a->indptr[r]);
    if (weighted) a->weights.resize(a->indptr[r]);
#pragma omp parallel for schedule(dynamic, 1024)
    for (int64_t i = 0; i < r; ++i) {
      int64_t q = a->indptr[i];
      each_source(rows[i], [&](int64_t j, int32_t col) {
        a->indices[q] = col;
        if (weighted) a->weights[q] = g.weights[j];
        ++q;
      });
    }
    number(rows);
    out.push_back(std::move(a));
  }
  return out;
}

template <class T>
GirEncoder<T>::GirEncoder(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in_dim, int64_t dim,
                          int hops, GirOptions options)
    : store_(&store),
      d_(dim),
      hops_(hops),
      opt_(options),
      input_(store, rng, name + ".input", in_dim, dim, options.bias) {
  check(hops >= 1 && dim >= 1, "GirEncoder: needs hops ≥ 1 and dim ≥ 1");
  check(options.max_hops == 0 || options.max_hops == -1 || options.max_hops >= hops,
        "GirEncoder: max_hops must be 0, −1 or ≥ hops (" + std::to_string(hops) + "), got " +
            std::to_string(options.max_hops));
  for (int l = 1; l <= hops; ++l)
    hop_.emplace_back(store, rng, name + ".hop" + std::to_string(l), 2 * dim, dim, options.bias);
  w_ = store.add(name + ".pos", 1, dim, Init::Glorot, rng);
}

template <class T>
AnchorState GirEncoder<T>::anchor_state(const Csr& g, pe::AnchorSets sets) const {
  return make_anchor_state(g, std::move(sets), anchor_hops(), !opt_.update_reached);
}

template <class T>
GirOutput GirEncoder<T>::forward(Tape<T>& t, const Csr& g, const Features<T>& x, const AnchorState& anchors,
                                 GirOutputs want) const {
  const int64_t n = g.num_dst, k = anchors.num_sets(), d = d_, width = k * d;
  check(g.num_src == n, "GirEncoder: the graph must be square");
  check(anchors.num_nodes() == n && anchors.depth.cols() == k,
        "GirEncoder: the anchor state has " + std::to_string(anchors.num_nodes()) + " nodes, the graph " +
            std::to_string(n));
  const int need = anchor_hops();
  check(need < 0 ? anchors.exact : (anchors.exact || anchors.hops >= need),
        "GirEncoder: the anchor state was built for " + (anchors.exact ? std::string("exact depths") : std::to_string(anchors.hops) + " hops") +
            ", the encoder needs " + (need < 0 ? std::string("exact depths") : std::to_string(need) + " hops"));
  const int propagate = need < 0 ? anchors.hops : std::min(need, anchors.hops);  // exact states stop at their depth
  check(k >= 1, "GirEncoder: no anchor sets");
  const Var xu = input_.forward(t, x);  // [N, d]  x U + b_U
  check(t.rows(xu) == n, "GirEncoder: x has " + std::to_string(t.rows(xu)) + " rows, the graph " + std::to_string(n));

  // Node of each entry e = v·K + k.
  auto nodes_of = [k](const std::vector<int64_t>& entries) {
    std::vector<int64_t> v(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) v[i] = entries[i] / k;
    return v;
  };
  const Var start = ops::gather_rows(t, ops::relu(t, xu), nodes_of(anchors.start));  // σ(x_a U + b_U), [|S|, d]
  GirOutput out;
  const bool all = want == GirOutputs::all;
  const Var wpos = t.param(*store_, w_);  // [1, d]
  Var p;
  if (!opt_.update_reached) {
    // Frontier rule, per level: H_l = σ([A_l H_{l−1} ‖ x U + b_U] W_l' + b_l'), then P from all levels.
    std::vector<std::shared_ptr<const Csr>> built;
    const bool have = static_cast<int>(anchors.hop.size()) >= propagate;
    if (!have) built = make_hop_graphs(g, anchors, propagate);
    const auto& hop_graph = have ? anchors.hop : built;
    // Mean: 1 / in-degree of each entry's node, in T as gspmm's own Mean (0 without in-edges).
    std::vector<T> inv_deg;
    if (opt_.aggregate == ops::Reduce::Mean) {
      inv_deg.resize(n);
      for (int64_t v = 0; v < n; ++v) {
        const int64_t deg = g.indptr[v + 1] - g.indptr[v];
        inv_deg[v] = deg ? T(1) / static_cast<T>(deg) : T(0);
      }
    }
    // Split W_l = [W_top; W_bot] (rows acting on M, on x U + b_U): the node part
    // y_l = (x U + b_U) W_bot + b_l [N, d] is computed once per distinct weight, and each hop
    // multiplies a level's aggregate by W_top inside ops::gir_frontier: d×d per entry instead of
    // 2d×d, no [|F|, 2d] concatenation, no gather of x U per entry, and no per-level tape buffers.
    ops::GirLevels<T> plan;
    plan.num_nodes = n;
    plan.num_sets = k;
    if (!inv_deg.empty()) plan.scale = std::make_shared<const std::vector<T>>(std::move(inv_deg));
    // Level l's entries and nodes: the state's cached lists, or built here.
    auto add_level = [&](int l) {
      if (static_cast<int>(anchors.level_entry.size()) > l) {
        plan.entry.push_back(anchors.level_entry[l]);
        plan.node.push_back(anchors.level_node[l]);
      } else {
        const std::vector<int64_t>& level = l == 0 ? anchors.start : anchors.frontier[l - 1];
        plan.entry.push_back(std::make_shared<const std::vector<int64_t>>(level));
        plan.node.push_back(std::make_shared<const std::vector<int64_t>>(nodes_of(level)));
      }
    };
    add_level(0);
    for (int l = 1; l <= propagate; ++l) {
      if (anchors.frontier[l - 1].empty()) break;  // BFS levels are contiguous: nothing deeper either
      plan.hop.push_back(hop_graph[l - 1]);
      add_level(l);
      plan.weight.push_back(std::min(l, hops_) - 1);
    }
    const int used = plan.weight.empty() ? 0 : plan.weight.back() + 1;  // distinct weights read
    Var w_top, y;
    if (used > 0) {
      std::vector<Var> tops, nodes;
      for (int h = 0; h < used; ++h) {
        const Linear<T>& lin = hop_[h];
        const Var w = t.param(*store_, lin.weight());
        tops.push_back(ops::slice_rows(t, w, 0, d));
        nodes.push_back(lin.add_bias(t, ops::matmul(t, xu, ops::slice_rows(t, w, d, d))));
      }
      w_top = used == 1 ? tops[0] : ops::concat_rows(t, tops);
      y = used == 1 ? nodes[0] : ops::concat_cols(t, nodes);
    }
    // Each output is its own propagation (`all` is for tests): no [E, d] tape buffer for z or z_pos.
    if (all || want == GirOutputs::z) {  // Z[v] = (1/K) Σ_k P[v, k]
      const T inv_k = T(1) / static_cast<T>(k);
      out.z = ops::gir_frontier(t, plan, start, w_top, y, ops::GirReadout::node_sum, static_cast<double>(inv_k));
    }
    if (all || want == GirOutputs::z_pos)  // Z_pos[v, k] = P[v, k] · w
      out.z_pos = ops::gir_frontier(t, plan, start, w_top, y, ops::GirReadout::entry_dot, 1.0, wpos);
    if (all) {  // P [N, K·d]: the rows stacked level by level, scattered to their entries
      std::vector<int64_t> entries;
      for (const auto& level : plan.entry) entries.insert(entries.end(), level->begin(), level->end());
      out.state = ops::scatter_blocks(t, Var{}, entries, ops::gir_frontier(t, plan, start, w_top, y, ops::GirReadout::rows),
                                      n, width);
    }
    return out;
  } else {
    // Every reached entry, every hop: aggregate the whole [N, K·d] state over the graph.
    p = ops::scatter_blocks(t, Var{}, anchors.start, start, n, width);
    std::vector<int64_t> update;
    for (int l = 1; l <= propagate; ++l) {
      const std::vector<int64_t>& frontier = anchors.frontier[l - 1];
      update.insert(update.end(), frontier.begin(), frontier.end());  // 1 ≤ depth ≤ l
      if (update.empty()) continue;  // nothing to update: P_l = P_{l−1}
      const Var m = ops::gspmm(t, GraphRef(g), p, opt_.aggregate);  // [N, K·d], every set at once
      const Var in = ops::concat_cols(t, {ops::gather_blocks(t, m, update, d), ops::gather_rows(t, xu, nodes_of(update))});
      const Var h = ops::relu(t, hop_[std::min(l, hops_) - 1].forward(t, Features<T>{in, nullptr}));
      p = ops::scatter_blocks(t, p, update, h, n, width);
    }
  }
  // Z_pos[v, k] = P[v, k] · w: a per-head dot product with w tiled over the K heads.
  if (all || want == GirOutputs::z_pos)
    out.z_pos = ops::head_dot(t, p, ops::reshape(t, ops::repeat_rows(t, wpos, k), 1, width), k);
  if (all || want == GirOutputs::z) out.z = ops::head_mean(t, p, k);
  out.state = p;
  return out;
}

template class GirEncoder<float>;
template class GirEncoder<double>;

LayerDescriptor gir_layer() {
  LayerDescriptor d;
  d.name = "gir";
  d.summary = "GIR anchor-path encoder alone, with a Linear head (GIR.md)";
  d.formula = "P_l[v,k] = ReLU([agg_{u→v} P_{l-1}[u,k] ‖ x_v U] W_l) on the frontier D[v,k] = l,  Z_v = mean_k P_L[v,k]";
  d.structure = Structure::AnchorOnly;
  d.options = {"gnn.anchors", "gnn.num_anchors", "gnn.anchor_readout", "gnn.branch_dim", "gnn.gir_hops", "gnn.gir_aggregate", "gnn.gir_update"};
  return d;
}

}  // namespace locus
