// Transformer layer (Vaswani et al. 2017; on graphs, Dwivedi & Bresson 2021), width d, H heads:
//   a   = MHA(h): softmax_j(clamp(<q_i, k_j> / √(d/H))) v_j per head, then W_o;
//   h'  = Norm(h + dropout(a));  out = Norm(h' + dropout(FFN(h'))),  FFN: d → 2d → d
// (post-norm; with pre_norm the norms move inside the residual branches). On a Csr the
// attention runs over in-neighbours (pass transformer_graph(g): self loops added, or a K-hop
// graph with SPD classes); on a Dense it runs over every token of the node's block through the
// fused kernel (no N×N buffer). Position options: RoPE on q and k (both topologies, positions
// given per call), a T5 relative bias table and l2-normalised attention (Dense), an SPD bias
// table indexed by per-edge classes (Csr).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/ops/attention.hpp"
#include "core/ops/norm.hpp"
#include "layers/linear.hpp"
#include "layers/norm.hpp"

namespace locus {

// The neighbourhood a sparse Transformer attends over: the graph plus a self loop per node.
Csr transformer_graph(const Csr& g);

struct TransformerOptions {
  int64_t heads = 8;
  NormKind norm = NormKind::Layer;
  bool pre_norm = false;
  double clamp = 0;  // |score| limit before the softmax; 0 = none
  double dropout = 0;       // on the attention and FFN outputs (residual branches)
  double attn_dropout = 0;  // on attention coefficients
  ops::Act ffn_act = ops::Act::Relu;
  AttnNorm attn_norm = AttnNorm::Softmax;  // l2: Dense only
  bool rope = false;                       // rotate q, k by the positions given to forward
  int rel_buckets = 0;                     // T5 relative bias buckets (Dense only; 0: off)
  int rel_max_distance = 128;              // T5: offsets beyond share the last bucket
  int spd_classes = 0;                     // SPD bias over edge classes 0..spd_classes-1 (Csr only; 0: off)
  int fft_radius = 0;  // > 0: kernelized FFT attention with a relative bias over offsets ±fft_radius (Dense only)
};

// Per-call inputs of the position options: positions [N, P] (RoPE; P = 1 or 2) and, on a Csr,
// one class per edge (SPD distance). Both must outlive the tape's backward pass.
struct AttentionExtras {
  const Mat* positions = nullptr;
  const std::vector<int32_t>* edge_class = nullptr;
};

template <class T>
class TransformerLayer {
 public:
  TransformerLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim, TransformerOptions opt,
                   bool decay = true);
  // x: [n, dim] → [n, dim]. `key` seeds this call's dropout masks.
  Var forward(Tape<T>& t, GraphRef g, Var x, bool training, uint64_t key, const AttentionExtras& ex = {}) const;

 private:
  Var attention(Tape<T>& t, GraphRef g, Var h, bool training, uint64_t key, const AttentionExtras& ex) const;

  ParamStore<T>* store_;
  TransformerOptions opt_;
  int64_t dim_;
  Linear<T> wq_, wk_, wv_, wo_, ffn1_, ffn2_;
  Norm<T> norm_[2];  // after attention, after the FFN (pre_norm: before each)
  ParamId rel_bias_, spd_bias_, fft_bias_;  // [heads, buckets], [heads, spd_classes], [heads, 2R+1] when enabled
};

}  // namespace locus
