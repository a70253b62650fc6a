// GIR encoder (Lu, Chen, Sun, Hu, arXiv 2105.03821; the design Locus implements is stated in
// /work/shared/GIR.md): a per-anchor path state propagated outward from the anchors along the
// shortest-path frontier, so distance to each anchor set is carried implicitly by the message
// passing instead of being computed and encoded (P-GNN, layers/pgnn.hpp).
//
// State P [N, K·d] (entry (v, k) = columns [k·d, (k+1)·d) of row v, one matrix so that one gspmm
// aggregates every anchor at once), depths D [N, K] = hop count from v to anchor set k on the
// undirected graph (−1 beyond L hops or unreachable), σ = ReLU:
//   start:   P_0[v, k] = σ(x_v U + b_U)  where D[v, k] = 0 (every member of set k), else 0
//   l=1..L:  M = aggregate over in-neighbours of P_{l−1}     (Sum, or Mean = Sum / in-degree)
//            P_l[v, k] = σ([M[v, k] ‖ x_v U + b_U] W_l + b_l)  for (v, k) in the update set,
//            P_l[v, k] = P_{l−1}[v, k] elsewhere
//   update set: the frontier D[v, k] == l (default), or with update_reached every reached
//   non-anchor entry 1 ≤ D[v, k] ≤ l (anchor entries always keep their start state).
//   outputs: Z_pos[v, k] = P_L[v, k] · w  [N, K] (order of anchor sets matters, as P-GNN's
//            position output), Z[v] = (1/K) Σ_k P_L[v, k]  [N, d] (anchor-order free, for stacking).
// On a symmetric graph the in-neighbours of a frontier entry (depth l) have depth l−1, l or l+1,
// and only those at l−1 are non-zero when it is updated: the state flows along the shortest-path
// DAG of each set; entries never reached within L hops stay exactly zero (P-GNN's cutoff).
// Depths come from pe::anchor_distances on the undirected simple view of the graph; on a
// directed graph a frontier entry may have no in-neighbour one hop closer (its M is then 0).
//
// Cost per forward, E edges: gspmm O(L·E·K·d); updates O(Σ_l |update set_l|·d²), i.e.
// O(N·K·d²) in total with the frontier rule (every entry updated at most once) and O(L·N·K·d²)
// with update_reached; copies O(L·N·K·d). Memory: the tape keeps two [N, K·d] matrices per hop
// (M and P_l), O(L·N·K·d); no N×N buffer and no per-entry small matrices (the update of all
// frontier entries is one gather, one [|F|, 2d]·[2d, d] matmul and one scatter).
#pragma once
#include <cstdint>
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
  pe::IndexMat depth;                           // [N, K] hops to set k (0: member), −1 beyond / none
  std::vector<int64_t> start;                   // entries e = v·K + k with depth 0, increasing
  std::vector<std::vector<int64_t>> frontier;   // [hops]: frontier[l−1] = entries with depth l, increasing
  int64_t num_nodes() const { return depth.rows(); }
  int64_t num_sets() const { return sets.num_sets(); }
};

// depth from pe::anchor_distances(g, sets, hops) (BFS of every set with cutoff = hops, on the
// undirected simple view of g), d = round(1/value) − 1. hops ≥ 0. O(BFS + N·K).
AnchorState make_anchor_state(const Csr& g, pe::AnchorSets sets, int hops);

struct GirOptions {
  ops::Reduce aggregate = ops::Reduce::Sum;  // Sum, or Mean (Sum / in-degree over all in-edges)
  bool update_reached = false;               // also re-update reached non-frontier entries each hop
  bool bias = true;                          // b_U and b_l
};

struct GirOutput {
  Var z_pos;  // [N, K]  P_L[v, k] · w
  Var z;      // [N, d]  mean over k of P_L[v, k]
  Var state;  // [N, K·d] P_L
};

template <class T>
class GirEncoder {
 public:
  // Parameters, registered in this order: name.input (U [in_dim, d], b_U [1, d]),
  // name.hop<l>.weight / .bias (W_l [2d, d]: rows 0..d−1 act on M, rows d..2d−1 on x U + b_U; b_l),
  // name.pos (w [1, d]). hops = L ≥ 1.
  GirEncoder(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in_dim, int64_t dim, int hops,
             GirOptions options = {});
  // g: Csr with rows = destinations, square, N nodes; x: [N, in_dim] (dense, sparse, or with
  // extra columns); anchors: make_anchor_state(g, sets, h) with h ≥ hops on the same N nodes.
  // The graph must outlive the tape's backward pass; anchors need not.
  GirOutput forward(Tape<T>& t, const Csr& g, const Features<T>& x, const AnchorState& anchors) const;

  int64_t in_dim() const { return input_.in_dim(); }
  int64_t dim() const { return d_; }
  int hops() const { return hops_; }
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
