#include "layers/graph_conv.hpp"

#include "layers/registry.hpp"

namespace locus {

template <class T>
GraphConv<T>::GraphConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
    : root_(store, rng, name + ".root", in, out, false, decay), neigh_(store, rng, name + ".neigh", in, out, true, decay) {}

template <class T>
Var GraphConv<T>::forward(Tape<T>& t, const Csr& g, const Features<T>& x) const {
  Var neigh;  // Σ_u w_uv h_u W₂  [n, out]
  if (x.is_sparse() || x.has_extra() || neigh_.out_dim() <= neigh_.in_dim())
    neigh = ops::gspmm(t, GraphRef(g), neigh_.transform(t, x), ops::Reduce::Sum);
  else
    neigh = neigh_.transform(t, Features<T>{ops::gspmm(t, GraphRef(g), x.var, ops::Reduce::Sum), nullptr});
  return neigh_.add_bias(t, ops::add(t, root_.transform(t, x), neigh));
}

template class GraphConv<float>;
template class GraphConv<double>;

LayerDescriptor graph_conv_layer() {
  LayerDescriptor d;
  d.name = "graphconv";
  d.summary = "GraphConv, sum aggregation with a root weight (Morris et al., AAAI 2019)";
  d.formula = "h'_v = W₁ h_v + W₂ Σ_{u→v} w_uv h_u + b";
  d.distributed = true;  // reads in-neighbours only: one halo exchange per layer
  d.graph = graph_as_loaded;
  set_simple_factory<GraphConv>(d);
  d.graph_memory = graph_as_loaded_memory;
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = 2 * (in * out) + out;            // W₁, W₂, b
    m.activations = s.n * (2 * in + out * 10);  // as SAGE: sum at input width, two transforms, add, bias, activation, dropout
    return m;
  };
  return d;
}

}  // namespace locus
