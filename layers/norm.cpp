#include "layers/norm.hpp"

#include "core/error.hpp"

namespace locus {

const std::vector<std::string>& norm_names() {
  static const std::vector<std::string> names{"layer", "batch", "none"};
  return names;
}

NormKind parse_norm(const std::string& name) {
  if (name == "none") return NormKind::None;
  if (name == "layer") return NormKind::Layer;
  if (name == "batch") return NormKind::Batch;
  throw InputError("unknown norm '" + name + "'. Use layer, batch or none");
}

template <class T>
Norm<T>::Norm(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim, NormKind kind)
    : kind_(kind), store_(&store) {
  if (kind == NormKind::None) return;
  gamma_ = store.add(name + ".gamma", 1, dim, Init::Ones, rng, false);
  beta_ = store.add(name + ".beta", 1, dim, Init::Zeros, rng, false);
  if (kind != NormKind::Batch) return;
  mean_ = store.add_buffer(name + ".running_mean", 1, dim, Init::Zeros);
  var_ = store.add_buffer(name + ".running_var", 1, dim, Init::Ones);
  bn_ = std::make_shared<ops::BatchNormState<T>>(dim);
}

template <class T>
Var Norm<T>::forward(Tape<T>& t, Var x, bool training) const {
  switch (kind_) {
    case NormKind::None: return x;
    case NormKind::Layer: return ops::layer_norm(t, x, t.param(*store_, gamma_), t.param(*store_, beta_));
    case NormKind::Batch: {
      bn_->running_mean = store_->value(mean_);
      bn_->running_var = store_->value(var_);
      const Var y = ops::batch_norm(t, x, t.param(*store_, gamma_), t.param(*store_, beta_), *bn_, training);
      if (training) store_->value(mean_) = bn_->running_mean, store_->value(var_) = bn_->running_var;
      return y;
    }
  }
  return x;
}

template class Norm<float>;
template class Norm<double>;

}  // namespace locus
