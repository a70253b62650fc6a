#include "layers/position_branch.hpp"

#include "core/error.hpp"
#include "layers/positional/anchors.hpp"

namespace locus {

template <class T>
PositionBranch<T>::PositionBranch(ParamStore<T>& store, Rng& rng, const PositionBranchSpec& spec, const Csr& graph)
    : spec_(spec), graph_(&graph) {
  const int64_t n = graph.num_dst;
  if (spec.eval_sets) {
    for (int32_t v : spec.eval_sets->nodes)
      if (v < 0 || v >= n)
        throw InputError("the saved anchor sets name node " + std::to_string(v) + ", outside this graph's " +
                         std::to_string(n) + " nodes: give the graph the model was trained on");
    eval_sets_ = spec.eval_sets;
  } else {
    eval_sets_ = std::make_shared<const pe::AnchorSets>(spec.fixed_nodes
                                                            ? pe::sample_anchor_nodes(n, spec.eval_seed, pe::anchor_node_count(n, spec.num_anchors))
                                                            : pe::sample_anchor_sets(n, spec.eval_seed));
  }
  const pe::AnchorSets& sets = *eval_sets_;
  num_sets_ = sets.num_sets();
  if (spec.kind == "gir") {
    gir_.emplace(store, rng, "gir", spec.in_dim, spec.hidden, spec.layers, spec.gir);
    eval_state_ = std::make_shared<const AnchorState>(gir_->anchor_state(graph, sets));
  } else if (spec.kind == "pgnn") {
    int64_t in = spec.in_dim;
    for (int l = 0; l < spec.layers; ++l) {
      pgnn_.emplace_back(store, rng, "pgnn" + std::to_string(l), in, spec.hidden);
      in = spec.hidden;
    }
    eval_dist_ = std::make_shared<const pe::AnchorDistances>(pe::anchor_distances(graph, sets, spec.pgnn_cutoff));
  } else {
    throw InputError("unknown position branch '" + spec.kind + "'. Use gir or pgnn");
  }
}

template <class T>
Var PositionBranch<T>::forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const {
  // Fresh anchor sets per training call (P-GNN's protocol); the fixed sets at evaluation, and
  // always with single-node anchors.
  std::optional<pe::AnchorSets> fresh;
  if (training && !spec_.fixed_nodes && spec_.resample) fresh = pe::sample_anchor_sets(graph_->num_dst, key);
  if (gir_) {
    const GirOutputs want = spec_.order_free ? GirOutputs::z : GirOutputs::z_pos;
    const GirOutput out = fresh ? gir_->forward(t, *graph_, x, gir_->anchor_state(*graph_, *fresh), want)
                                : gir_->forward(t, *graph_, x, *eval_state_, want);
    return spec_.order_free ? out.z : out.z_pos;
  }
  const pe::AnchorDistances dist = fresh ? pe::anchor_distances(*graph_, *fresh, spec_.pgnn_cutoff) : *eval_dist_;
  Features<T> h = x;
  Var z;
  for (size_t l = 0; l < pgnn_.size(); ++l) {
    if (l > 0) h = dropout(t, h, spec_.dropout, splitmix64(key + l), training);
    const PgnnOutput out = pgnn_[l].forward(t, h, dist);
    h = Features<T>{out.h, nullptr};
    z = spec_.order_free ? out.h : out.z_pos;
  }
  return z;
}

template class PositionBranch<float>;
template class PositionBranch<double>;

}  // namespace locus
