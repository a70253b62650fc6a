// Anchor indication (GIR, /work/shared/GIR.md): mark the anchors in the input so that any MPNN
// becomes position-aware. I [N, K] holds I[v, k] = 1 when v belongs to anchor set k. Two modes:
// concat, the input becomes [X ‖ I] (append I as Features::extra), and embedding, the input
// becomes X W + I E with a learnable E [K, d]. After l layers of an MPNN whose aggregation only
// mixes in-neighbours (and self), channel k at node v can be non-zero only when v lies within
// l hops of set k.
#pragma once
#include <cstdint>
#include <string>

#include "core/params.hpp"
#include "core/tape.hpp"
#include "layers/linear.hpp"
#include "layers/positional/anchors.hpp"

namespace locus {

enum class AnchorIndicationMode { Concat, Embedding };

// "concat" | "embedding" (InputError otherwise).
AnchorIndicationMode parse_anchor_indication(const std::string& name);

// I [n, K], K = sets.num_sets(): I[v, k] = 1 when v is in set k, else 0. Anchors outside [0, n)
// are a ShapeError. O(n K) to zero-fill plus the set sizes.
template <class T>
MatT<T> anchor_indicator(const pe::AnchorSets& sets, int64_t n);

// The same matrix as a constant on the tape (no gradient), to append or to embed.
template <class T>
Var anchor_indicator(Tape<T>& t, const pe::AnchorSets& sets, int64_t n);

// Concat mode: x with I appended as dense extra columns, [x ‖ I] (after any extra columns x already
// has: [x ‖ extra ‖ I]). A Linear on the result needs in = x columns (+ extra) + K.
template <class T>
Features<T> append_indicator(Tape<T>& t, const Features<T>& x, Var indicator);

// Embedding mode: a learnable table E [K, d] (Glorot), one row per anchor set; the set count K is
// fixed at construction (P-GNN's sampling gives K = ⌊log₂ n⌋² for every resampling of an
// n-node graph; set k means "the k-th sampled set", its members change when resampled).
template <class T>
class AnchorEmbedding {
 public:
  AnchorEmbedding(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t num_sets, int64_t dim,
                  bool decay = true);
  // I [N, K] → I E [N, d] (one matmul; for single-node sets a row gather would do, but sets may
  // hold many nodes and a node may be in several sets: row v is Σ_{k ∋ v} E[k]).
  Var anchor_embedding(Tape<T>& t, Var indicator) const;
  // h [N, d] + I E: the embedding-mode input, given h = X W (e.g. Linear::forward of x).
  Var add_to(Tape<T>& t, Var h, Var indicator) const;
  int64_t num_sets() const { return k_; }
  int64_t dim() const { return d_; }
  ParamId table() const { return e_; }

 private:
  ParamStore<T>* store_;
  int64_t k_, d_;
  ParamId e_;
};

}  // namespace locus
