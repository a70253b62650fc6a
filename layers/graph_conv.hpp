// GraphConv (Morris et al., "Weisfeiler and Leman Go Neural", AAAI 2019): a root weight and a
// neighbour weight over the summed (edge-weighted) in-neighbours, h'_v = W₁ h_v + W₂ Σ_{u→v} w_uv h_u + b.
// Σ_u h_u W₂ = (Σ_u h_u) W₂, so when the layer narrows (or the input is sparse) the linear map
// runs first and the SpMM moves fewer columns.
#pragma once
#include <string>

#include "core/graph.hpp"
#include "layers/linear.hpp"

namespace locus {

template <class T>
class GraphConv {
 public:
  GraphConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay = true);
  // g: the graph as loaded (no self loops added); x: [n, in] → [n, out]
  Var forward(Tape<T>& t, const Csr& g, const Features<T>& x) const;

 private:
  Linear<T> root_, neigh_;  // W₁ (no bias), W₂ (with the bias b)
};

}  // namespace locus
