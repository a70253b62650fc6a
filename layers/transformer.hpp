// Transformer layer (Vaswani et al. 2017; on graphs, Dwivedi & Bresson 2021), width d, H heads:
//   a   = MHA(h): softmax_j(clamp(<q_i, k_j> / √(d/H))) v_j per head, then W_o;
//   h'  = Norm(h + dropout(a));  out = Norm(h' + dropout(FFN(h'))),  FFN: d → 2d → d
// (post-norm; with pre_norm the norms move inside the residual branches). On a Csr the
// attention runs over in-neighbours (pass transformer_graph(g): self loops added); on a Dense
// it runs over every token of the node's block through the fused kernel (no N×N buffer).
#pragma once
#include <memory>
#include <string>

#include "core/graph.hpp"
#include "core/ops/norm.hpp"
#include "layers/linear.hpp"

namespace locus {

// The neighbourhood a sparse Transformer attends over: the graph plus a self loop per node.
Csr transformer_graph(const Csr& g);

enum class NormKind { None, Layer, Batch };
NormKind parse_norm(const std::string& name);  // "none" | "layer" | "batch"

struct TransformerOptions {
  int64_t heads = 8;
  NormKind norm = NormKind::Layer;
  bool pre_norm = false;
  double clamp = 0;  // |score| limit before the softmax; 0 = none
  double dropout = 0;       // on the attention and FFN outputs (residual branches)
  double attn_dropout = 0;  // on attention coefficients (Csr path only; the fused Dense path has none)
  ops::Act ffn_act = ops::Act::Relu;
};

template <class T>
class TransformerLayer {
 public:
  TransformerLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim, TransformerOptions opt,
                   bool decay = true);
  // x: [n, dim] → [n, dim]. `key` seeds this call's dropout masks.
  Var forward(Tape<T>& t, GraphRef g, Var x, bool training, uint64_t key) const;

 private:
  Var attention(Tape<T>& t, GraphRef g, Var h, bool training, uint64_t key) const;
  Var norm(Tape<T>& t, int which, Var h, bool training) const;

  ParamStore<T>* store_;
  TransformerOptions opt_;
  int64_t dim_;
  Linear<T> wq_, wk_, wv_, wo_, ffn1_, ffn2_;
  ParamId gamma_[2], beta_[2];
  std::shared_ptr<ops::BatchNormState<T>> bn_[2];  // running statistics (BatchNorm only)
};

}  // namespace locus
