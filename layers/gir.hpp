// GIR encoder (Lu, Chen, Sun, Hu, arXiv 2105.03821; the design Locus implements is stated in
// /work/shared/GIR.md): a per-anchor path state propagated outward from the anchors along the
// shortest-path frontier, so distance to each anchor set is carried implicitly by the message
// passing instead of being computed and encoded (P-GNN, layers/pgnn.hpp).
//
// State P [N, K·d] (entry (v, k) = columns [k·d, (k+1)·d) of row v; the frontier rule keeps it per
// level instead, see below), depths D [N, K] = hop count from v to anchor set k on the
// undirected graph (−1 beyond H hops or unreachable), σ = ReLU:
//   start:   P_0[v, k] = σ(x_v U + b_U)  where D[v, k] = 0 (every member of set k), else 0
//   l=1..H:  M = aggregate over in-neighbours of P_{l−1}     (Sum, or Mean = Sum / in-degree)
//            P_l[v, k] = σ([M[v, k] ‖ x_v U + b_U] W_l' + b_l')  for (v, k) in the update set,
//            P_l[v, k] = P_{l−1}[v, k] elsewhere
//   H = L hops by default (L distinct weights W_1..W_L), or more (GirOptions::max_hops; −1: until
//   no entry is left to reach), with l' = min(l, L): hops past L reuse W_L.
//   update set: the frontier D[v, k] == l (default), or with update_reached every reached
//   non-anchor entry 1 ≤ D[v, k] ≤ l (anchor entries always keep their start state).
//   outputs: Z_pos[v, k] = P_L[v, k] · w  [N, K] (order of anchor sets matters, as P-GNN's
//            position output), Z[v] = (1/K) Σ_k P_L[v, k]  [N, d] (anchor-order free, for stacking).
// On a symmetric graph the in-neighbours of a frontier entry (depth l) have depth l−1, l or l+1,
// and only those at l−1 are non-zero when it is updated: the state flows along the shortest-path
// DAG of each set; entries never reached within H hops stay exactly zero (P-GNN's cutoff).
// Depths come from pe::anchor_depths on the undirected simple view of the graph; on a
// directed graph a frontier entry may have no in-neighbour one hop closer (its M is then 0).
//
// Two evaluation paths, the same values. Frontier rule: each entry is written once, from its
// in-neighbours one level closer, so the state is kept per level, H_l [|level l|, d], and
// M_l = A_l · H_{l−1} is one SpMM over the hop graph A_l (AnchorState::hop: the other in-
// neighbours' entries are still zero when a frontier entry is written). The whole propagation
// and the readout are one op, ops::gir_frontier: W_l is split into its rows acting on M and on
// x U (W_top, W_bot), a hop is M_l W_top plus the node term (x U + b_U) W_bot + b_l (computed once
// per node) and ReLU, and Z or Z_pos is summed inside the op, so the only state-sized buffer is
// the levels' rows (its backward adds two level-sized scratch buffers). Time O(N·K·(deg + d)·d)
// and memory O(N·K·d) whatever the number of hops H, so exact depths (max_hops −1) stay
// affordable. update_reached: the full state is aggregated every hop, one gspmm over [N, K·d] on
// the graph itself: O(H·E·K·d) time, O(H·N·K·d) memory; it updates with one gather, a
// [|F|, 2d]·[2d, d] matmul and a scatter. No N×N buffer and no per-entry small matrices either way.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/ops/message.hpp"
#include "layers/linear.hpp"
#include "layers/positional/anchors.hpp"

namespace locus {

// What GIR needs of one anchor sampling, computed once per sampling (resampled every training
// step in P-GNN's protocol, fixed at evaluation) and shared by every layer and forward.
struct AnchorState {
  pe::AnchorSets sets;
  int hops = 0;                                 // the L it was built for (depths beyond are −1)
  bool exact = false;                           // built without a cutoff: every reachable entry has its depth
  pe::IndexMat depth;                           // [N, K] hops to set k (0: member), −1 beyond / none
  std::vector<int64_t> start;                   // entries e = v·K + k with depth 0, increasing
  std::vector<std::vector<int64_t>> frontier;   // [hops]: frontier[l−1] = entries with depth l, increasing
  // Frontier rule (layers/gir.hpp): hop[l−1] is a Csr [|frontier[l−1]|, |level l−1|] (level 0 =
  // start) linking entry (v, k) at depth l to the entries (u, k) at depth l−1 of v's in-neighbours
  // u, weight w_uv (the graph's; none when it has none): Σ_u w_uv H_{l−1}[(u, k)] = (hop · H_{l−1})
  // (Mean then divides by v's in-degree). Empty when not built; GirEncoder::forward then builds
  // them per call.
  std::vector<std::shared_ptr<const Csr>> hop;
  // Built with the hop graphs, for ops::gir_frontier: per level (0 = start, l = frontier[l−1]) its
  // entries, and the node v = e / K of each.
  std::vector<std::shared_ptr<const std::vector<int64_t>>> level_entry, level_node;
  int64_t num_nodes() const { return depth.rows(); }
  int64_t num_sets() const { return sets.num_sets(); }
};

// depth from pe::anchor_depths(g, sets, hops) (BFS of every set with cutoff = hops, on the
// undirected simple view of g). hops ≥ 0, or −1 for no cutoff (then `hops` and `frontier` take
// the largest depth found). With `hop_graphs`, also AnchorState::hop. O(BFS + N·K), plus
// O(N·K·mean degree) for the hop graphs; the levels' lists and the hop graphs are built in
// parallel, the same for any thread count.
AnchorState make_anchor_state(const Csr& g, pe::AnchorSets sets, int hops, bool hop_graphs = false);
// The hop graphs alone (AnchorState::hop) for levels 1..levels of `st`, each with its transpose
// (Csr::reversed, what gir_frontier's backward walks) built alongside it, without perm. One
// sweep over the nodes compares each node's row of K depths with its neighbours' rows, every set
// at once, instead of one entry and one depth lookup at a time.
std::vector<std::shared_ptr<const Csr>> make_hop_graphs(const Csr& g, const AnchorState& st, int levels);

struct GirOptions {
  ops::Reduce aggregate = ops::Reduce::Sum;  // Sum, or Mean (Sum / in-degree over all in-edges)
  bool update_reached = false;               // also re-update reached non-frontier entries each hop
  bool bias = true;                          // b_U and b_l
  // Hops propagated: 0 = one per hop weight (the encoder's `hops`); −1 = until every reachable
  // entry is reached (exact depths, P-GNN-E's analogue); otherwise ≥ hops. Hop l > hops reuses
  // W_hops, so one encoder serves any depth (a recurrence past the last distinct weight).
  int max_hops = 0;
};

struct GirOutput {
  Var z_pos;  // [N, K]  P_L[v, k] · w
  Var z;      // [N, d]  mean over k of P_L[v, k]
  Var state;  // [N, K·d] P_L
};
// Which outputs forward computes (the others are left invalid): under the frontier rule z_pos and z
// come straight from the per-level states, without the [N, K·d] matrix that only `all` builds.
enum class GirOutputs { all, z_pos, z };

template <class T>
class GirEncoder {
 public:
  // Parameters, registered in this order: name.input (U [in_dim, d], b_U [1, d]),
  // name.hop<l>.weight / .bias (W_l [2d, d]: rows 0..d−1 act on M, rows d..2d−1 on x U + b_U; b_l),
  // name.pos (w [1, d]). hops = L ≥ 1.
  GirEncoder(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in_dim, int64_t dim, int hops,
             GirOptions options = {});
  // g: Csr with rows = destinations, square, N nodes; x: [N, in_dim] (dense, sparse, or with
  // extra columns); anchors: make_anchor_state(g, sets, h) on the same N nodes, with h ≥ the hops
  // propagated (h = −1, exact, when options.max_hops = −1).
  // The graph must outlive the tape's backward pass; anchors need not.
  GirOutput forward(Tape<T>& t, const Csr& g, const Features<T>& x, const AnchorState& anchors,
                    GirOutputs want = GirOutputs::all) const;

  int64_t in_dim() const { return input_.in_dim(); }
  int64_t dim() const { return d_; }
  int hops() const { return hops_; }
  // The cutoff make_anchor_state needs for this encoder: the hops propagated (−1: none).
  int anchor_hops() const { return opt_.max_hops == 0 ? hops_ : opt_.max_hops; }
  // The anchor state this encoder reads, hop graphs included when it uses them.
  AnchorState anchor_state(const Csr& g, pe::AnchorSets sets) const;
  const GirOptions& options() const { return opt_; }
  const Linear<T>& input() const { return input_; }
  const Linear<T>& hop(int l) const { return hop_.at(l - 1); }  // W_l, l = 1..L
  ParamId pos_weight() const { return w_; }

 private:
  ParamStore<T>* store_;
  int64_t d_;
  int hops_;
  GirOptions opt_;
  Linear<T> input_;
  std::vector<Linear<T>> hop_;
  ParamId w_;
};

}  // namespace locus
