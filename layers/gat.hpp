// GAT layer (Veličković et al., ICLR 2018), H heads of width F:
//   z = h W (per head z_h),  e_sd = LeakyReLU_0.2(a_srcᵀ z_s + a_dstᵀ z_d),
//   α = softmax over d's in-edges (self loop included), attention dropout on α,
//   h'_d = ‖_h Σ_s α_sd z̃_{s,h}  (concat: [n, H·F])  or  mean_h (…)  ([n, F]),  + b,
// z̃ = dropout(z) when value_dropout > 0 (as in the authors' code), else z.
// The per-node terms a·z are computed once and lifted to edges (gsddmm add). Works on a Csr
// (attention over neighbours; pass gat_graph(g)) and on a Dense complete graph.
#pragma once
#include <string>

#include "core/graph.hpp"
#include "layers/linear.hpp"

namespace locus {

// The graph GAT attends over: self loops removed, then one added to every node.
Csr gat_graph(const Csr& g);

struct GatOptions {
  int64_t heads = 8;
  bool concat = true;
  double negative_slope = 0.2;
  double attn_dropout = 0.6;
  double value_dropout = 0;  // on z before aggregation (the reference GAT code drops it with p_in)
};

template <class T>
class GatConv {
 public:
  GatConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out_per_head,
          GatOptions opt, bool decay = true);
  // x: [n, in] → [n, H·F] (concat) or [n, F] (mean). `key` seeds the attention dropout.
  Var forward(Tape<T>& t, GraphRef g, const Features<T>& x, bool training, uint64_t key) const;
  int64_t out_dim() const { return opt_.concat ? opt_.heads * f_ : f_; }

 private:
  ParamStore<T>* store_;
  GatOptions opt_;
  int64_t f_;
  Linear<T> lin_;  // W, no bias
  ParamId att_src_, att_dst_, bias_;
};

}  // namespace locus
