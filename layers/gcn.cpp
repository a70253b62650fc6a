#include "layers/gcn.hpp"

#include <cmath>

#include "core/dist/halo.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"

namespace locus {

Csr gcn_normalize(const Csr& g) {
  Csr a = g.add_self_loops(1.0f);
  std::vector<double> deg(a.num_dst, 0.0);
  for (int64_t d = 0; d < a.num_dst; ++d)
    for (int64_t p = a.indptr[d]; p < a.indptr[d + 1]; ++p) deg[d] += a.weight(p);
  // A rank's part: its rows hold the owned nodes' whole in-degree; the halo's come from their owners.
  if (g.halo) deg = dist::with_halo(g, deg);
  std::vector<float> w(a.num_edges());
  // Â[d, s] = w_sd / sqrt(deg d · deg s)
  for (int64_t d = 0; d < a.num_dst; ++d)
    for (int64_t p = a.indptr[d]; p < a.indptr[d + 1]; ++p) {
      const double ds = deg[a.indices[p]], dd = deg[d];
      w[p] = (ds > 0 && dd > 0) ? static_cast<float>(a.weight(p) / std::sqrt(dd * ds)) : 0.0f;
    }
  a.weights = std::move(w);
  if (g.halo) return dist::link_halo(std::move(a), g.halo->layout, g.halo->comm);
  return a;
}

template <class T>
GcnConv<T>::GcnConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
    : lin_(store, rng, name, in, out, true, decay) {}

template <class T>
Var GcnConv<T>::forward(Tape<T>& t, const Csr& a_hat, const Features<T>& x) const {
  // (Â X) W = Â (X W): transform first unless the layer widens a dense input.
  // Each intermediate is read once (Tape::transient: at inference, freed or reused as it goes).
  if (x.is_sparse() || x.has_extra() || lin_.out_dim() <= lin_.in_dim())
    return lin_.add_bias(t, t.transient(ops::gspmm(t, GraphRef(a_hat), t.transient(lin_.transform(t, x)))));
  Var ax = t.transient(ops::gspmm(t, GraphRef(a_hat), x.var));
  return lin_.add_bias(t, t.transient(lin_.transform(t, Features<T>{ax, nullptr})));
}

template class GcnConv<float>;
template class GcnConv<double>;

LayerDescriptor gcn_layer() {
  LayerDescriptor d;
  d.name = "gcn";
  d.summary = "graph convolution (Kipf & Welling, ICLR 2017)";
  d.formula = "H' = Â H W + b,  Â = D^-1/2 (A + I) D^-1/2";
  d.distributed = true;
  d.graph = [](const Csr& g, const GnnSpec&) { return GraphCache{std::make_shared<const Csr>(gcn_normalize(g)), nullptr}; };
  set_simple_factory<GcnConv>(d);
  d.graph_memory = [](const MemoryShape& s) {  // Â: self loops and weights
    return GraphMemory{csr_with_reverse(s.n, s.edges + s.n, true), "normalised Â"};
  };
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = in * out + out;
    m.activations = s.n * (out * 8);  // transform, aggregation, bias, activation, next dropout (+ mask)
    return m;
  };
  return d;
}

}  // namespace locus
