#include "layers/gnn.hpp"

#include "core/error.hpp"
#include "core/ops/loss.hpp"

namespace locus {

const std::vector<std::string>& gnn_layer_types() {
  static const std::vector<std::string> types{"gcn", "mlp"};
  return types;
}

template <class T>
GnnClassifier<T>::GnnClassifier(ParamStore<T>& store, Rng& rng, const GnnSpec& spec, const Csr& graph)
    : spec_(spec) {
  check(spec.layers >= 1, "GnnClassifier: at least one layer");
  check(spec.in_dim > 0 && spec.out_dim > 0 && spec.hidden > 0, "GnnClassifier: sizes must be positive");
  if (spec.layer_type == "gcn") a_hat_ = std::make_shared<const Csr>(gcn_normalize(graph));
  else if (spec.layer_type != "mlp")
    throw InputError("unknown layer type '" + spec.layer_type + "'. Use gcn or mlp");
  for (int l = 0; l < spec.layers; ++l) {
    const int64_t in = l == 0 ? spec.in_dim : spec.hidden;
    const int64_t out = l + 1 == spec.layers ? spec.out_dim : spec.hidden;
    const bool decay = !spec.decay_first_only || l == 0;
    const std::string name = "layer" + std::to_string(l);
    if (a_hat_) gcn_.emplace_back(store, rng, name, in, out, decay);
    else lin_.emplace_back(store, rng, name, in, out, true, decay);
  }
}

template <class T>
Var GnnClassifier<T>::forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const {
  Features<T> h = x;
  for (int l = 0; l < spec_.layers; ++l) {
    h = dropout(t, h, spec_.dropout, splitmix64(key + static_cast<uint64_t>(l)), training);
    Var y = a_hat_ ? gcn_[l].forward(t, *a_hat_, h) : lin_[l].forward(t, h);
    if (l + 1 < spec_.layers) y = ops::activation(t, y, spec_.act);
    h = Features<T>{y, nullptr};
  }
  return ops::log_softmax(t, h.var);
}

template class GnnClassifier<float>;
template class GnnClassifier<double>;

}  // namespace locus
