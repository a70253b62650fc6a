// GatedGCN (Bresson & Laurent 2017, arXiv 1711.07553; benchmarking-gnns' gated_gcn_layer.py): a
// residual layer with a node state h [n, d] and an edge state e [E, d] (a row per Csr position), and
// the stack of `gnn.layer_type gatedgcn`, which carries e from layer to layer. Edge j → i (i = dst):
//   ê_ij = C e_ij + D h_i + E h_j,  σ_ij = sigmoid(ê_ij),  A..E: d×d Linear maps with bias
//   h̃_i  = A h_i + Σ_{j→i} σ_ij ⊙ B h_j / (Σ_{j→i} σ_ij + 1e-6)
//   h_i ← h_i + dropout(act(Norm(h̃_i))),  e_ij ← e_ij + dropout(act(Norm(ê_ij)))  (Norm over nodes / edges)
//   e⁰_ij = W_e·1 + b_e (a learned vector: the reference's embedding_e of a constant edge feature)
// Differences from the reference: it has D on the source, E on the destination (renamed maps, same
// model); it drops out h + ReLU(BN(h̃)), here only the branch (as GraphGPS); the last layer's edge
// update, never read, is skipped; Norm is gnn.norm (batch as the reference; the config's default is
// layer, shared with the transformer); the head is one Linear (reference: 3-layer MLPReadout); Locus's
// Linear init (Glorot, zero bias); edge weights ignored. BatchNorm running statistics are kept as
// TransformerLayer keeps them (a BatchNormState per norm, outside the ParamStore).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "core/ops/norm.hpp"
#include "layers/linear.hpp"
#include "layers/norm.hpp"
#include "layers/transformer.hpp"

namespace locus {

struct GatedGcnOptions {
  NormKind norm = NormKind::Batch;  // of h̃ (over nodes) and ê (over edges); the reference's default
  double dropout = 0;               // on the residual branches
  ops::Act act = ops::Act::Relu;
  bool update_edges = true;         // false: forward returns no edge state (a stack's last layer)
};

// One layer's output: h [n, d] and e [E, d] (e invalid when the layer does not update edges).
struct GatedGcnState {
  Var h, e;
};

template <class T>
class GatedGcnLayer {
 public:
  // Parameters NAME.{A,B,C,D,E}.{weight,bias} ([d, d], [1, d]); with a norm NAME.norm_h.{gamma,beta}
  // and (update_edges) NAME.norm_e.{gamma,beta}, [1, d] each.
  GatedGcnLayer(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim, GatedGcnOptions opt,
                bool decay = true);
  // h [n, d], e [E, d] (rows by Csr position) → (h', e'). `key` seeds this call's dropout masks.
  // A destination without in-edges gets h̃_i = A h_i.
  GatedGcnState forward(Tape<T>& t, const Csr& g, Var h, Var e, bool training, uint64_t key) const;

 private:

  ParamStore<T>* store_;
  GatedGcnOptions opt_;
  int64_t dim_;
  Linear<T> a_, b_, c_, d_, e_;
  Norm<T> norm_[2];  // of h̃ (over nodes), of ê (over edges)
};

// The stack of `layers` GatedGCN layers at width d that carries the edge state from layer to layer,
// the last without its edge update. Parameters PREFIX + "edge_encoder" (W_e [1, d], b_e [1, d]) and
// PREFIX + "layer<l>".* for each layer.
template <class T>
class GatedGcnStack {
 public:
  GatedGcnStack(ParamStore<T>& store, Rng& rng, const std::string& prefix, int layers, int64_t dim,
                GatedGcnOptions opt, bool decay = true);
  // x [n, d] (the encoder's output) → h after the last layer [n, d]. Layer l draws its dropout
  // masks from splitmix64(key + l).
  Var forward(Tape<T>& t, GraphRef g, const Features<T>& x, bool training, uint64_t key) const;

 private:
  Linear<T> edge_encoder_;
  std::vector<GatedGcnLayer<T>> layers_;
};

// The graph GatedGCN runs on: `g` without edge weights.
Csr gated_gcn_graph(const Csr& g);

}  // namespace locus
