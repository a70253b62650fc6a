#include "layers/gin.hpp"

#include "core/ops/scalar.hpp"
#include "layers/registry.hpp"

namespace locus {

template <class T>
GinConv<T>::GinConv(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool decay)
    : store_(&store),
      eps_(store.add(name + ".eps", 1, 1, Init::Zeros, rng, false)),
      lin1_(store, rng, name + ".mlp.0", in, out, true, decay),
      lin2_(store, rng, name + ".mlp.1", out, out, true, decay) {}

template <class T>
Var GinConv<T>::forward(Tape<T>& t, const Csr& g, const Features<T>& x) const {
  // W1 ((1 + ε) h_d + Σ h_s) = (1 + ε) (h W1)_d + Σ (h W1)_s
  // xW is read three times; every other intermediate once (Tape::transient).
  Var xw = lin1_.transform(t, x);
  Var self = ops::add(t, xw, t.transient(ops::scale_by(t, xw, t.param(*store_, eps_))));
  Var h = lin1_.add_bias(
      t, t.transient(ops::add(t, t.transient(self), t.transient(ops::gspmm(t, GraphRef(g), xw, ops::Reduce::Sum)))));
  return lin2_.forward(t, Features<T>{t.transient(ops::relu(t, t.transient(h))), nullptr});
}

template class GinConv<float>;
template class GinConv<double>;

LayerDescriptor gin_layer() {
  LayerDescriptor d;
  d.name = "gin";
  d.summary = "graph isomorphism network, learnable ε, 2-layer MLP (Xu et al., ICLR 2019)";
  d.formula = "h'_v = MLP((1 + ε) h_v + Σ_{u→v} h_u)";
  d.distributed = true;
  d.graph = graph_as_loaded;
  set_simple_factory<GinConv>(d);
  d.graph_memory = graph_as_loaded_memory;
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = in * out + out + out * out + out + 1;  // the MLP (in → out → out) and ε
    m.activations = s.n * (2 * in + out * 12);  // sum at input width, MLP, bias, activation, dropout
    return m;
  };
  return d;
}

}  // namespace locus
