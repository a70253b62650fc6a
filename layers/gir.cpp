#include "layers/gir.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

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
  AnchorState st;
  st.depth = pe::anchor_depths(g, sets, hops);
  st.sets = std::move(sets);
  st.exact = hops < 0;
  const int64_t n = g.num_dst, k = st.sets.num_sets();
  const int32_t* depth = st.depth.data();
  // Entries e = v·K + k by level, each list increasing: nodes in chunks of fixed size, counted per
  // chunk and level, then each chunk writes its run of every level (the same lists for any
  // thread count).
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  st.hops = hops;  // the BFS cutoff keeps every depth ≤ hops; without one, the deepest found
  if (hops < 0) {
    int32_t deepest = 0;
#pragma omp parallel for schedule(static) reduction(max : deepest) if (n * k >= (int64_t(1) << 18))
    for (int64_t e = 0; e < n * k; ++e) deepest = std::max(deepest, depth[e]);
    st.hops = deepest;
  }
  const int64_t nl = static_cast<int64_t>(st.hops) + 1;  // levels 0..hops
  std::vector<int64_t> count(static_cast<size_t>(chunks * nl), 0);  // [chunk, level], then offsets
#pragma omp parallel for schedule(static) if (n * k >= (int64_t(1) << 18))
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t e = c * kChunk * k; e < std::min(n, (c + 1) * kChunk) * k; ++e)
      if (depth[e] >= 0) ++count[c * nl + depth[e]];
  std::vector<std::vector<int64_t>*> list(static_cast<size_t>(nl));
  st.frontier.assign(st.hops, {});
  list[0] = &st.start;
  for (int64_t l = 1; l <= st.hops; ++l) list[l] = &st.frontier[l - 1];
  for (int64_t l = 0; l < nl; ++l) {
    int64_t total = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t here = count[c * nl + l];
      count[c * nl + l] = total;
      total += here;
    }
    list[l]->resize(total);
  }
#pragma omp parallel for schedule(static) if (n * k >= (int64_t(1) << 18))
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t* at = count.data() + c * nl;
    for (int64_t e = c * kChunk * k; e < std::min(n, (c + 1) * kChunk) * k; ++e) {
      const int32_t d = depth[e];
      if (d >= 0) (*list[d])[at[d]++] = e;
    }
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
  auto level_of = [&](int l) -> const std::vector<int64_t>& { return l == 0 ? st.start : st.frontier[l - 1]; };
  // Position of every entry of levels 0..levels within its level (levels are increasing lists of
  // e = v·K + k); −1 elsewhere.
  std::vector<int32_t> pos(static_cast<size_t>(n * k), -1);
  for (int l = 0; l <= levels; ++l) {
    const std::vector<int64_t>& level = level_of(l);
    check(level.size() < static_cast<size_t>(INT32_MAX), "make_hop_graphs: a level has 2^31 entries or more");
    const int64_t f = static_cast<int64_t>(level.size());
#pragma omp parallel for schedule(static) if (f >= (int64_t(1) << 16))
    for (int64_t i = 0; i < f; ++i) pos[level[i]] = static_cast<int32_t>(i);
  }
  // fwd[l−1] = A_l (rows: level l, columns: level l−1); rev[l−1] = A_lᵀ, built here rather than by
  // Csr::reverse (a serial scatter over every hop edge, which cost as much as the forward pass).
  std::vector<std::shared_ptr<Csr>> fwd(levels);
  std::vector<Csr> rev(levels);
  const bool weighted = g.has_weights();
  for (int l = 1; l <= levels; ++l) {
    fwd[l - 1] = std::make_shared<Csr>();
    Csr& a = *fwd[l - 1];
    a.num_dst = static_cast<int64_t>(level_of(l).size());
    a.num_src = static_cast<int64_t>(level_of(l - 1).size());
    a.indptr.assign(a.num_dst + 1, 0);
    rev[l - 1].num_dst = a.num_src;
    rev[l - 1].num_src = a.num_dst;
    rev[l - 1].indptr.assign(a.num_src + 1, 0);
  }
  if (levels == 0) return {};
  // Node-major, every set at once: node v's K depths are one contiguous row, compared with each
  // neighbour's row. Entry (v, s) at depth l ∈ [1, levels] has a parent (u, s) for every in-edge
  // u → v with depth(u, s) = l − 1 (g's row v, in order); its children are the (w, s) with u → w
  // in reversed g and depth(w, s) = depth(u, s) + 1 ≤ levels.
  const Csr& gr = g.reversed();
  const int32_t* depth = st.depth.data();
  const int32_t lv = levels;
  auto is_parent = [lv](int32_t dv, int32_t du) { return dv >= 1 && dv <= lv && du == dv - 1; };
  // hit[0..h) = the sets s where (parent, s) is a parent of (child, s), as h; branch-free.
  auto parent_sets = [&](const int32_t* child, const int32_t* parent, int32_t* hit) {
    int64_t h = 0;
    for (int64_t s = 0; s < k; ++s) {
      hit[h] = static_cast<int32_t>(s);
      h += is_parent(child[s], parent[s]);
    }
    return h;
  };
  // Counts, written as row lengths into indptr[pos + 1] of the level's graph.
  const int64_t chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(k, 1));
#pragma omp parallel
  {
    std::vector<int32_t> cnt(k);
#pragma omp for schedule(dynamic, chunk)
    for (int64_t v = 0; v < n; ++v) {
      const int32_t* dv = depth + v * k;
      std::fill(cnt.begin(), cnt.end(), 0);
      for (int64_t j = g.indptr[v]; j < g.indptr[v + 1]; ++j) {
        const int32_t* du = depth + static_cast<int64_t>(g.indices[j]) * k;
        for (int64_t s = 0; s < k; ++s) cnt[s] += is_parent(dv[s], du[s]);
      }
      for (int64_t s = 0; s < k; ++s)
        if (dv[s] >= 1 && dv[s] <= lv) fwd[dv[s] - 1]->indptr[pos[v * k + s] + 1] = cnt[s];
      std::fill(cnt.begin(), cnt.end(), 0);
      for (int64_t q = gr.indptr[v]; q < gr.indptr[v + 1]; ++q) {
        const int32_t* dw = depth + static_cast<int64_t>(gr.indices[q]) * k;
        for (int64_t s = 0; s < k; ++s) cnt[s] += is_parent(dw[s], dv[s]);
      }
      for (int64_t s = 0; s < k; ++s)
        if (dv[s] >= 0 && dv[s] < lv) rev[dv[s]].indptr[pos[v * k + s] + 1] = cnt[s];
    }
  }
  for (int l = 1; l <= levels; ++l) {
    for (std::vector<int64_t>* ptr : {&fwd[l - 1]->indptr, &rev[l - 1].indptr})
      std::partial_sum(ptr->begin(), ptr->end(), ptr->begin());
    const int64_t m = fwd[l - 1]->indptr.back();
    check(rev[l - 1].indptr.back() == m, "make_hop_graphs: parent and child counts disagree");
    fwd[l - 1]->indices.resize(m);
    rev[l - 1].indices.resize(m);  // no perm: gir_frontier reads no edge values through it
    if (weighted) fwd[l - 1]->weights.resize(m), rev[l - 1].weights.resize(m);
  }
  // Fill, both graphs in one sweep over the nodes: node v fills its own rows of each (no two
  // threads write one row); a row's edges come in g's (reversed g's) order, as Csr::reverse would.
#pragma omp parallel
  {
    std::vector<int64_t> next(k), rnext(k);  // next free slot of each of the node's rows
    std::vector<int32_t> hit(k);             // the sets s where the neighbour is a parent (child)
#pragma omp for schedule(dynamic, chunk)
    for (int64_t v = 0; v < n; ++v) {
      const int32_t* dv = depth + v * k;
      for (int64_t s = 0; s < k; ++s) {
        if (dv[s] >= 1 && dv[s] <= lv) next[s] = fwd[dv[s] - 1]->indptr[pos[v * k + s]];
        if (dv[s] >= 0 && dv[s] < lv) rnext[s] = rev[dv[s]].indptr[pos[v * k + s]];
      }
      for (int64_t j = g.indptr[v]; j < g.indptr[v + 1]; ++j) {  // parents (u, s)
        const int64_t u = g.indices[j];
        const int64_t h = parent_sets(dv, depth + u * k, hit.data());
        for (int64_t i = 0; i < h; ++i) {
          const int64_t s = hit[i];
          Csr& a = *fwd[dv[s] - 1];
          const int64_t q = next[s]++;
          a.indices[q] = pos[u * k + s];
          if (weighted) a.weights[q] = g.weights[j];
        }
      }
      for (int64_t q = gr.indptr[v]; q < gr.indptr[v + 1]; ++q) {  // children (w, s)
        const int64_t w = gr.indices[q];
        const int64_t h = parent_sets(depth + w * k, dv, hit.data());
        for (int64_t i = 0; i < h; ++i) {
          const int64_t s = hit[i];
          Csr& r = rev[dv[s]];
          const int64_t p = rnext[s]++;
          r.indices[p] = pos[w * k + s];
          if (weighted) r.weights[p] = gr.weights[q];
        }
      }
    }
  }
  std::vector<std::shared_ptr<const Csr>> out;
  for (int l = 1; l <= levels; ++l) {
    fwd[l - 1]->set_reversed(std::move(rev[l - 1]));
    out.push_back(std::move(fwd[l - 1]));
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
