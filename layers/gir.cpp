#include "layers/gir.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/ops/anchor.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/edge.hpp"
#include "core/ops/position.hpp"
#include "core/ops/shape.hpp"

namespace locus {

AnchorState make_anchor_state(const Csr& g, pe::AnchorSets sets, int hops) {
  check(hops >= 0, "make_anchor_state: hops must be ≥ 0, got " + std::to_string(hops));
  check(g.num_dst == g.num_src, "make_anchor_state: the graph must be square");
  const pe::AnchorDistances dist = pe::anchor_distances(g, sets, hops);
  AnchorState st;
  st.sets = std::move(sets);
  st.hops = hops;
  const int64_t n = g.num_dst, k = st.sets.num_sets();
  st.depth.resize(n, k);
  st.frontier.assign(hops, {});
  for (int64_t v = 0; v < n; ++v)
    for (int64_t s = 0; s < k; ++s) {
      const float val = dist.value(v, s);
      // value = 1/(d+1), so d+1 = 1/value, exact after rounding for any realistic depth.
      const int32_t d = val > 0.0f ? static_cast<int32_t>(std::lround(1.0 / static_cast<double>(val))) - 1 : -1;
      st.depth(v, s) = d;
      const int64_t e = v * k + s;
      if (d == 0) st.start.push_back(e);
      else if (d > 0) st.frontier[d - 1].push_back(e);
    }
  return st;
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
  for (int l = 1; l <= hops; ++l)
    hop_.emplace_back(store, rng, name + ".hop" + std::to_string(l), 2 * dim, dim, options.bias);
  w_ = store.add(name + ".pos", 1, dim, Init::Glorot, rng);
}

template <class T>
GirOutput GirEncoder<T>::forward(Tape<T>& t, const Csr& g, const Features<T>& x, const AnchorState& anchors) const {
  const int64_t n = g.num_dst, k = anchors.num_sets(), d = d_, width = k * d;
  check(g.num_src == n, "GirEncoder: the graph must be square");
  check(anchors.num_nodes() == n && anchors.depth.cols() == k,
        "GirEncoder: the anchor state has " + std::to_string(anchors.num_nodes()) + " nodes, the graph " +
            std::to_string(n));
  check(anchors.hops >= hops_, "GirEncoder: the anchor state was built for " + std::to_string(anchors.hops) +
                                   " hops, the encoder needs " + std::to_string(hops_));
  check(k >= 1, "GirEncoder: no anchor sets");
  const Var xu = input_.forward(t, x);  // [N, d]  x U + b_U
  check(t.rows(xu) == n, "GirEncoder: x has " + std::to_string(t.rows(xu)) + " rows, the graph " + std::to_string(n));

  // Node of each entry e = v·K + k.
  auto nodes_of = [k](const std::vector<int64_t>& entries) {
    std::vector<int64_t> v(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) v[i] = entries[i] / k;
    return v;
  };
  // P_0: σ(x_a U + b_U) at every (a, k) with a in set k, zeros elsewhere.
  Var p = ops::scatter_blocks(t, Var{}, anchors.start, ops::gather_rows(t, ops::relu(t, xu), nodes_of(anchors.start)),
                              n, width);
  std::vector<int64_t> update;
  for (int l = 1; l <= hops_; ++l) {
    const std::vector<int64_t>& frontier = anchors.frontier[l - 1];
    if (opt_.update_reached) update.insert(update.end(), frontier.begin(), frontier.end());  // 1 ≤ depth ≤ l
    const std::vector<int64_t>& idx = opt_.update_reached ? update : frontier;
    if (idx.empty()) continue;  // nothing to update: P_l = P_{l−1}
    const Var m = ops::gspmm(t, GraphRef(g), p, opt_.aggregate);  // [N, K·d], every set at once
    // [M[v, k] ‖ x_v U + b_U] for the updated entries, then one matmul for all of them.
    const Var in = ops::concat_cols(t, {ops::gather_blocks(t, m, idx, d), ops::gather_rows(t, xu, nodes_of(idx))});
    const Var h = ops::relu(t, hop_[l - 1].forward(t, Features<T>{in, nullptr}));
    p = ops::scatter_blocks(t, p, idx, h, n, width);
  }
  // Z_pos[v, k] = P[v, k] · w: a per-head dot product with w tiled over the K heads.
  const Var w_tiled = ops::reshape(t, ops::repeat_rows(t, t.param(*store_, w_), k), 1, width);
  GirOutput out;
  out.z_pos = ops::head_dot(t, p, w_tiled, k);
  out.z = ops::head_mean(t, p, k);
  out.state = p;
  return out;
}

template class GirEncoder<float>;
template class GirEncoder<double>;

}  // namespace locus
