// GIN layer (Xu et al., 2019): h'_d = MLP((1 + ε) h_d + Σ_{s→d} h_s) with a learnable ε
// (initialised to 0) and a two-layer MLP (in → out → out, ReLU between). The MLP's first
// linear map is applied before the sum (it is linear), so sparse inputs stay sparse.
#pragma once
#include <string>

#include "core/graph.hpp"
#include "layers/linear.hpp"

namespace locus {

template <class T>
class GinConv {
 public:
  GinConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay = true);
  // g: the graph as loaded (no self loops); x: [n, in] → [n, out]
  Var forward(Tape<T>& t, const Csr& g, const Features<T>& x) const;
  ParamId eps() const { return eps_; }

 private:
  ParamStore<T>* store_;
  ParamId eps_;
  Linear<T> lin1_, lin2_;
};

}  // namespace locus
