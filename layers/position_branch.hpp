// The anchor-based branch of a model (GIR.md): a GIR encoder or a 2-layer P-GNN over anchor
// sets that are resampled every training call and fixed at evaluation (or fixed single nodes). Its output, used alone
// (`gir`, `pgnn` models) or fused with a typical GNN branch (GnnSpec::position), is either the
// position-aware Z_pos [N, K] (K anchor sets; its columns follow the anchor sets, so it only
// means something compared between nodes under the same sets: pair tasks) or the anchor-order-
// free Z [N, hidden] (GIR: mean_k P[v,k]; P-GNN: the structure output), which a node classifier
// can read although the sets change every epoch.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "core/graph.hpp"
#include "layers/gir.hpp"
#include "layers/linear.hpp"
#include "layers/pgnn.hpp"

namespace locus {

struct PositionBranchSpec {
  std::string kind = "gir";  // gir | pgnn
  int64_t in_dim = 0, hidden = 32;
  int layers = 2;            // GIR hops; P-GNN layers
  int pgnn_cutoff = -1;      // P-GNN distance cutoff: 2 (P-GNN-F) or -1 (exact, P-GNN-E)
  GirOptions gir;            // GIR aggregation, update rule and hops propagated (layers/gir.hpp)
  // false: P-GNN's anchor sets, resampled every training call; true: K single-node anchors
  // (pe::anchor_node_count(n, num_anchors)) fixed from eval_seed, the same at training and
  // evaluation (GIR.md's alternative).
  bool fixed_nodes = false;
  int64_t num_anchors = 0;   // with fixed_nodes: the anchor count asked for; 0: pe::anchor_node_count's rule
  bool resample = true;      // P-GNN's sets: fresh every training call; false: the evaluation sets throughout
  double dropout = 0.5;      // between P-GNN layers
  uint64_t eval_seed = 0;    // the fixed evaluation anchor sets
  // The evaluation anchor sets to use instead of drawing them from eval_seed (a saved model's, on
  // the graph it was trained on). Their node ids must lie in the graph (InputError otherwise).
  std::shared_ptr<const pe::AnchorSets> eval_sets;
  bool order_free = false;   // output Z [N, hidden] instead of Z_pos [N, K]
};

template <class T>
class PositionBranch {
 public:
  // graph: the message-passing graph (rows = destinations); it must outlive the branch.
  PositionBranch(ParamStore<T>& store, Rng& rng, const PositionBranchSpec& spec, const Csr& graph);
  // Z_pos [N, K] or Z [N, hidden] (spec.order_free). Training calls draw fresh anchor sets from `key`.
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const;
  int64_t out_dim() const { return spec_.order_free ? spec_.hidden : num_sets_; }
  // The fixed anchor sets evaluation uses (and training too with fixed_nodes).
  const std::shared_ptr<const pe::AnchorSets>& eval_sets() const { return eval_sets_; }

 private:
  PositionBranchSpec spec_;
  const Csr* graph_;
  int64_t num_sets_ = 0;
  std::optional<GirEncoder<T>> gir_;
  std::vector<PgnnLayer<T>> pgnn_;
  std::shared_ptr<const pe::AnchorSets> eval_sets_;
  std::shared_ptr<const AnchorState> eval_state_;          // GIR
  std::shared_ptr<const pe::AnchorDistances> eval_dist_;  // P-GNN
};

}  // namespace locus
