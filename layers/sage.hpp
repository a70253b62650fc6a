// GraphSAGE layer (Hamilton et al., 2017), mean aggregation with a root weight:
//   h'_d = W_l · mean_{s→d} h_s + W_r · h_d + b.
// mean(h) W_l = mean(h W_l), so when the layer narrows (or the input is sparse) the linear map
// runs first and the SpMM moves fewer columns.
#pragma once
#include <string>

#include "core/graph.hpp"
#include "layers/linear.hpp"

namespace locus {

template <class T>
class SageConv {
 public:
  SageConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay = true);
  // g: the graph as loaded (no self loops added); x: [n, in] → [n, out]
  Var forward(Tape<T>& t, const Csr& g, const Features<T>& x) const;

 private:
  Linear<T> lin_l_, lin_r_;  // neighbours (with the bias), root (no bias)
};

}  // namespace locus
