#include "layers/linear.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/ops/shape.hpp"
#include "layers/registry.hpp"

namespace locus {

template <class T>
Features<T> dropout(Tape<T>& t, const Features<T>& x, double p, uint64_t key, bool training,
                    const DropoutRows* rows) {
  if (!training || p == 0.0) return x;
  const std::vector<int64_t>* global_rows = rows ? &rows->row : nullptr;
  const Var extra = x.has_extra()
                        ? ops::dropout(t, x.extra, p, splitmix64(key ^ 0x5E5E5E5E5E5E5E5Eull), training, global_rows)
                        : Var{};
  if (x.is_sparse())
    return Features<T>{
        Var{}, std::make_shared<const SpMatT<T>>(ops::sparse_dropout(*x.sparse, p, key, rows ? &rows->nnz_start : nullptr)),
        extra};
  return Features<T>{ops::dropout(t, x.var, p, key, training, global_rows), nullptr, extra};
}

template <class T>
Linear<T>::Linear(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool bias,
                  bool decay)
    : store_(&store), in_(in), out_(out) {
  w_ = store.add(name + ".weight", in, out, Init::Glorot, rng, decay);
  if (bias) b_ = store.add(name + ".bias", 1, out, Init::Zeros, rng, decay);
}

template <class T>
Var Linear<T>::transform(Tape<T>& t, const Features<T>& x) const {
  Var w = t.param(*store_, w_);
  if (x.has_extra()) {
    // [x ‖ e] W = x W[:d] + e W[d:], d = in − extra columns.
    const int64_t de = t.cols(x.extra), d = in_ - de;
    check(d >= 0, "Linear: more extra columns than inputs");
    Var head = x.is_sparse() ? ops::spmm(t, x.sparse, ops::slice_rows(t, w, 0, d))
                             : ops::matmul(t, x.var, ops::slice_rows(t, w, 0, d));
    return ops::add(t, t.transient(head), t.transient(ops::matmul(t, x.extra, ops::slice_rows(t, w, d, de))));
  }
  if (x.is_sparse()) return ops::spmm(t, x.sparse, w);
  return ops::matmul(t, x.var, w);
}

template <class T>
Var Linear<T>::add_bias(Tape<T>& t, Var y) const {
  if (b_.index < 0) return y;
  return ops::add_bias(t, y, t.param(*store_, b_));
}

template <class T>
Var Linear<T>::forward(Tape<T>& t, const Features<T>& x) const {
  if (b_.index >= 0 && !x.is_sparse() && !x.has_extra())  // one buffer for x W + b
    return ops::affine(t, x.var, t.param(*store_, w_), t.param(*store_, b_));
  const Var y = transform(t, x);
  return b_.index < 0 ? y : add_bias(t, t.transient(y));  // x W is read by the bias alone
}

template <class T>
Mlp<T>::Mlp(ParamStore<T>& store, Rng& rng, const std::string& name, const std::vector<int64_t>& dims,
            ops::Act act, double dropout, bool decay)
    : act_(act), dropout_(dropout) {
  check(dims.size() >= 2, "Mlp: needs at least an input and an output size");
  for (size_t i = 0; i + 1 < dims.size(); ++i)
    layers_.emplace_back(store, rng, name + "." + std::to_string(i), dims[i], dims[i + 1], true, decay);
}

std::vector<int64_t> mlp_head_dims(int64_t in, int64_t out) {
  return {in, std::max<int64_t>(1, in / 2), std::max<int64_t>(1, in / 4), out};
}

template <class T>
Var Mlp<T>::forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const {
  Features<T> h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (i > 0) h = dropout(t, h, dropout_, splitmix64(key + i), training);
    Var y = layers_[i].forward(t, h);
    if (i + 1 < layers_.size()) y = ops::activation(t, y, act_);
    h = Features<T>{y, nullptr};
  }
  return h.var;
}

template struct Features<float>;
template struct Features<double>;
template Features<float> dropout(Tape<float>&, const Features<float>&, double, uint64_t, bool, const DropoutRows*);
template Features<double> dropout(Tape<double>&, const Features<double>&, double, uint64_t, bool, const DropoutRows*);
template class Linear<float>;
template class Linear<double>;
template class Mlp<float>;
template class Mlp<double>;

LayerDescriptor mlp_layer() {
  LayerDescriptor d;
  d.name = "mlp";
  d.summary = "a stack of Linear layers that ignores the graph (a baseline)";
  d.formula = "h' = h W + b";
  d.dense = true;
  d.distributed = true;
  d.set_factory([](const auto& a) {
    using T = typename std::decay_t<decltype(a)>::value_type;
    return built_layer<T>(Linear<T>(a.store, a.rng, a.name, a.in, a.out, true, a.decay), a, a.out);
  });
  d.memory = [](const MemoryShape& s, double in, double out, bool) {
    LayerMemory m;
    m.params = in * out + out;
    m.activations = s.n * (out * 8);
    return m;
  };
  return d;
}

}  // namespace locus
