// P-GNN layer (You, Ying, Leskovec, "Position-aware Graph Neural Networks", ICML 2019): every node
// receives one message per anchor set, from the set's nearest anchor, scaled by a learned function
// of the distance. P-GNN-F (q = 2 hop cutoff) and P-GNN-E (exact distances) differ only in the
// distances passed in: pe::anchor_distances(g, sets, 2) or pe::anchor_distances(g, sets, −1).
//
// For node v and set i with nearest anchor u = nearest(v, i) and closeness s = value(v, i) = 1/(d+1):
//   s̃_{v,i} = MLP_dist(s)                       (1 → d_s → 1, ReLU between)
//   m_{v,i} = ReLU(s̃_{v,i} · h_u W_top + h_v W_bottom + b)  = ReLU(W [s̃ h_u ‖ h_v] + b)
//   z_v[i]  = w · m_{v,i}                        position output [N, K] (no bias)
//   h'_v    = (1/K) Σ_i m_{v,i}                  structure output [N, d], the next layer's input
// Unreachable or beyond the cutoff (s = 0, nearest = −1): the message comes from a zero h_u, i.e.
// m_{v,i} = ReLU(h_v W_bottom + b). (The reference code instead takes an arbitrary anchor of the set
// with s = 0; with h_u = 0 the message carries no information about any anchor.)
// h W_top is computed once for all nodes and gathered by `nearest`, and MLP_dist runs once per
// distinct distance (s = 1/(d+1) takes at most cutoff + 2 values), so the cost is O(N·in·d + N·K·d)
// time and O(N·K·d) memory per layer (no per-(v, i) products of h_u with W).
#pragma once
#include <cstdint>
#include <string>

#include "layers/linear.hpp"
#include "layers/positional/anchors.hpp"

namespace locus {

struct PgnnOptions {
  int64_t dist_hidden = 0;  // d_s, the hidden width of MLP_dist; 0: the layer's output width (as P-GNN)
};

struct PgnnOutput {
  Var z_pos;  // [N, K]
  Var h;      // [N, out]
};

template <class T>
class PgnnLayer {
 public:
  // Parameters, registered in this order: name.dist.0 / name.dist.1 (MLP_dist, weights and biases),
  // name.anchor.weight (W_top [in, out]), name.self.weight / .bias (W_bottom [in, out], b [1, out]),
  // name.pos (w [1, out]).
  PgnnLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in_dim, int64_t out_dim,
            PgnnOptions options = {});
  // h: [N, in] (dense, sparse, or with extra columns); dist: pe::anchor_distances on the same N
  // nodes (value and nearest [N, K]). dist need not outlive the tape.
  PgnnOutput forward(Tape<T>& t, const Features<T>& h, const pe::AnchorDistances& dist) const;

  int64_t in_dim() const { return anchor_.in_dim(); }
  int64_t out_dim() const { return anchor_.out_dim(); }

 private:
  // s̃ [N·K, 1] = MLP_dist(value), entry e = v·K + i.
  Var distance_weights(Tape<T>& t, const pe::AnchorDistances& dist) const;
  ParamStore<T>* store_;
  Mlp<T> dist_;
  Linear<T> anchor_, self_;
  ParamId w_;
};

}  // namespace locus
