#include "layers/graph_readout.hpp"

#include <algorithm>

namespace locus {

const std::vector<std::string>& readout_names() {
  static const std::vector<std::string> names = {"sum", "mean", "max"};
  return names;
}

template <class T>
GraphReadout<T>::GraphReadout(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out,
                              ops::Pool pool)
    : pool_(pool),
      mlp_(store, rng, name, mlp_head_dims(in, out), ops::Act::Relu, 0.0) {}

template <class T>
Var GraphReadout<T>::forward(Tape<T>& t, Var h, std::span<const int32_t> graph_of, int64_t num_graphs) const {
  const Var pooled = ops::graph_pool(t, h, graph_of, num_graphs, pool_);
  return mlp_.forward(t, Features<T>{pooled, nullptr}, false, 0);
}

template class GraphReadout<float>;
template class GraphReadout<double>;

}  // namespace locus
