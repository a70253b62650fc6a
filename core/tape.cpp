#include "core/tape.hpp"

#include "core/error.hpp"

namespace locus {

template <class T>
typename Tape<T>::Node& Tape<T>::node(Var v) {
  check(v.id >= 0 && v.id < static_cast<int>(nodes_.size()), "Tape: invalid Var");
  return nodes_[v.id];
}

template <class T>
Var Tape<T>::constant(MatT<T> value, const char* op) {
  Node n;
  n.rows = value.rows();
  n.cols = value.cols();
  n.value = std::move(value);
  n.op = op;
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
Var Tape<T>::view(const MatT<T>& value, const char* op) {
  Node n;
  n.rows = value.rows();
  n.cols = value.cols();
  // Never written through: the node needs no gradient, and ops only read their inputs.
  n.ext_value = const_cast<T*>(value.data());
  n.op = op;
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
Var Tape<T>::leaf(MatT<T> value) {
  Var v = constant(std::move(value), "leaf");
  nodes_.back().requires_grad = true;
  return v;
}

template <class T>
Var Tape<T>::param(ParamStore<T>& store, ParamId id) {
  Node n;
  const ParamInfo& info = store.info(id);
  n.rows = info.rows;
  n.cols = info.cols;
  n.ext_value = store.value(id).data();
  n.ext_grad = store.grad(id).data();
  n.requires_grad = true;
  n.grad_ready = true;  // the store's gradient buffer is always allocated
  n.op = "param";
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
Var Tape<T>::push(MatT<T> value, const char* op, std::initializer_list<Var> inputs, BackwardFn backward) {
  Node n;
  n.rows = value.rows();
  n.cols = value.cols();
  n.value = std::move(value);
  n.op = op;
  for (Var in : inputs)
    if (in.valid()) n.requires_grad = n.requires_grad || node(in).requires_grad;
  if (n.requires_grad) n.backward = std::move(backward);
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
typename Tape<T>::Map Tape<T>::value(Var v) {
  Node& n = node(v);
  return Map(n.ext_value ? n.ext_value : n.value.data(), n.rows, n.cols);
}

template <class T>
typename Tape<T>::Map Tape<T>::grad(Var v) {
  Node& n = node(v);
  if (n.ext_grad) return Map(n.ext_grad, n.rows, n.cols);
  if (!n.grad_ready) {
    n.grad = MatT<T>::Zero(n.rows, n.cols);
    n.grad_ready = true;
  }
  return Map(n.grad.data(), n.rows, n.cols);
}

template <class T>
bool Tape<T>::has_grad(Var v) const {
  return nodes_.at(v.id).grad_ready;
}

template <class T>
void Tape<T>::backward(Var loss) {
  check(rows(loss) == 1 && cols(loss) == 1, "Tape::backward: the loss must be a 1x1 value");
  if (!requires_grad(loss)) return;
  grad(loss)(0, 0) += T(1);
  for (int i = loss.id; i >= 0; --i) {
    Node& n = nodes_[i];
    // Nodes no gradient reached contribute nothing; skip them.
    if (n.backward && n.grad_ready && !n.ext_grad) n.backward(*this, Var{i});
  }
}

template class Tape<float>;
template class Tape<double>;

}  // namespace locus
