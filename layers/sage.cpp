#include "layers/sage.hpp"

#include "layers/registry.hpp"

namespace locus {

template <class T>
SageConv<T>::SageConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
    : lin_l_(store, rng, name + ".neigh", in, out, true, decay), lin_r_(store, rng, name + ".root", in, out, false, decay) {}

template <class T>
Var SageConv<T>::forward(Tape<T>& t, const Csr& g, const Features<T>& x) const {
  // Each intermediate is read once (Tape::transient: at inference, freed or reused as it goes).
  Var neigh;
  if (x.is_sparse() || x.has_extra() || lin_l_.out_dim() <= lin_l_.in_dim())
    neigh = ops::gspmm(t, GraphRef(g), t.transient(lin_l_.transform(t, x)), ops::Reduce::Mean);
  else
    neigh = lin_l_.transform(t, Features<T>{t.transient(ops::gspmm(t, GraphRef(g), x.var, ops::Reduce::Mean)), nullptr});
  return lin_l_.add_bias(t, t.transient(ops::add(t, t.transient(neigh), t.transient(lin_r_.transform(t, x)))));
}

template class SageConv<float>;
template class SageConv<double>;

LayerDescriptor sage_layer() {
  LayerDescriptor d;
  d.name = "sage";
  d.summary = "GraphSAGE, mean aggregation with a root weight (Hamilton et al., NeurIPS 2017)";
  d.formula = "h'_v = W_l · mean_{u→v} h_u + W_r h_v + b";
  d.distributed = true;
  d.graph = graph_as_loaded;
  set_simple_factory<SageConv>(d);
  d.graph_memory = graph_as_loaded_memory;
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = 2 * in * out + out;            // neighbour map with its bias, root map without
    m.activations = s.n * (2 * in + out * 10);  // aggregation at input width, transforms, bias, activation, dropout
    return m;
  };
  return d;
}

}  // namespace locus
