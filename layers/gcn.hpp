// GCN layer (Kipf & Welling, ICLR 2017): H' = Â H W + b with Â = D^-1/2 (A + I) D^-1/2,
// D the weighted in-degree of A + I. Â is built once per graph (gcn_normalize) and reused.
// When the layer narrows the width, H W is computed first, so the SpMM runs on fewer columns.
#pragma once
#include <string>

#include "core/graph.hpp"
#include "layers/linear.hpp"

namespace locus {

// Â for a destination-major graph: self loops (weight 1) added where missing; edge weights,
// when present, enter the degrees and the products. Isolated nodes keep only their self loop.
// On a rank's part (g.halo set) the halo's degrees are fetched from their owners (collective),
// and the result is linked to the same halo.
Csr gcn_normalize(const Csr& g);

template <class T>
class GcnConv {
 public:
  GcnConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay = true);
  // a_hat from gcn_normalize; x: [n, in] → [n, out]
  Var forward(Tape<T>& t, const Csr& a_hat, const Features<T>& x) const;

 private:
  Linear<T> lin_;
};

}  // namespace locus
