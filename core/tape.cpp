#include "core/tape.hpp"

#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/kernels/row_ops.hpp"

namespace locus {

template <class T>
Var Tape<T>::append(Node&& n) {
  n.scope = scope_;
  nodes_.push_back(std::move(n));
  return Var{static_cast<int>(nodes_.size()) - 1};
}

template <class T>
typename Tape<T>::Scope Tape<T>::scope(std::string_view name) {
  const uint16_t prev = scope_;
  // Linear search: a model opens a handful of distinct scopes.
  for (size_t i = 1; i < scopes_.size(); ++i)
    if (scopes_[i].parent == prev && scopes_[i].name == name) {
      scope_ = static_cast<uint16_t>(i);
      return Scope(this, prev);
    }
  check(scopes_.size() < 65535, "Tape::scope: more than 65535 distinct scopes");
  std::string path = prev == 0 ? std::string(name) : scopes_[prev].path + "/" + std::string(name);
  scopes_.push_back(ScopeEntry{prev, std::string(name), std::move(path)});
  scope_ = static_cast<uint16_t>(scopes_.size() - 1);
  return Scope(this, prev);
}

template <class T>
void Tape<T>::clear() {
  nodes_.clear();
  // Scopes stay interned across epochs; a table grown large (names made per call) starts over,
  // unless a scope is open (its index must stay valid).
  if (scope_ == 0 && scopes_.size() > 1024) scopes_.resize(1);
}

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
  return append(std::move(n));
}

template <class T>
Var Tape<T>::view(const MatT<T>& value, const char* op) {
  Node n;
  n.rows = value.rows();
  n.cols = value.cols();
  // Never written through: the node needs no gradient, and ops only read their inputs.
  n.ext_value = const_cast<T*>(value.data());
  n.op = op;
  return append(std::move(n));
}

template <class T>
Var Tape<T>::leaf(MatT<T> value) {
  Var v = constant(std::move(value), "leaf");
  nodes_.back().requires_grad = grad_enabled_;
  return v;
}

template <class T>
Var Tape<T>::param(ParamStore<T>& store, ParamId id) {
  Node n;
  const ParamInfo& info = store.info(id);
  n.rows = info.rows;
  n.cols = info.cols;
  n.ext_value = store.value(id).data();
  if (grad_enabled_) {
    n.ext_grad = store.grad(id).data();
    n.requires_grad = true;
    n.grad_ready = true;  // the store's gradient buffer is always allocated
  }
  n.op = "param";
  return append(std::move(n));
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
  const Var out = append(std::move(n));
  if (!grad_enabled_)
    for (Var in : inputs)
      if (in.valid() && in.id != out.id) {
        Node& x = nodes_[static_cast<size_t>(in.id)];
        if (x.transient && !x.released) {
          x.value = MatT<T>();
          x.released = true;
        }
      }
  return out;
}

template <class T>
Var Tape<T>::transient(Var v) {
  Node& n = node(v);
  // Views and parameters read storage the tape does not own; they are never released.
  if (!grad_enabled_ && !n.ext_value) n.transient = true;
  return v;
}

template <class T>
bool Tape<T>::can_take(Var x) const {
  const Node& n = nodes_.at(static_cast<size_t>(x.id));
  return n.transient && !n.released && !n.ext_value;
}

template <class T>
MatT<T> Tape<T>::take(Var x) {
  if (!can_take(x)) return MatT<T>(value(x));
  Node& n = node(x);
  n.released = true;
  return std::move(n.value);
}

template <class T>
typename Tape<T>::Map Tape<T>::value(Var v) {
  Node& n = node(v);
  if (n.released)
    throw ShapeError(std::string("Tape: the value of node ") + std::to_string(v.id) + " (" + n.op +
                           ") was read after its one use (it was marked transient)");
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
void Tape<T>::pass_grad(Var self, Var x, bool last) {
  Node& s = node(self);
  Node& n = node(x);
  check(s.rows == n.rows && s.cols == n.cols, "Tape::pass_grad: self and x must have one shape");
  if (last && !keep_grads_ && !n.ext_grad && !n.grad_ready && !s.ext_grad && s.grad_ready && x.id != self.id) {
    n.grad = std::move(s.grad);
    n.grad_ready = true;
    s.grad = MatT<T>();
    s.grad_ready = false;  // a later grad(self) starts from zeros again
    return;
  }
  const T* g = grad(self).data();
  T* out = grad(x).data();
  const int64_t size = s.rows * s.cols;
#pragma omp parallel for schedule(static) if (size >= kernels::kParallelWork)
  for (int64_t i = 0; i < size; ++i) out[i] += g[i];
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
    if (!n.backward || !n.grad_ready || n.ext_grad) continue;
    n.backward(*this, Var{i});
    // Every reader of node i has a higher id and has run: its gradient is complete and spent. Freeing
    // it keeps the live gradients to a frontier instead of one per node (GatedGCN on PATTERN: GBs).
    n.grad = MatT<T>();
    n.grad_ready = false;
  }
}

template <class T>
Var Tape<T>::first_nonfinite_backward(Var loss) {
  check(loss.valid() && loss.id < static_cast<int>(nodes_.size()), "Tape::first_nonfinite_backward: invalid Var");
  const int n = loss.id + 1;  // later nodes take no part in backward(loss)
  struct Saved {
    MatT<T> grad;
    T* ext_grad;
    bool ready;
  };
  std::vector<Saved> saved(n);
  for (int i = 0; i < n; ++i) {
    Node& nd = nodes_[i];
    saved[i] = Saved{std::move(nd.grad), nd.ext_grad, nd.grad_ready};
    nd.grad = MatT<T>();
    nd.ext_grad = nullptr;  // parameters get scratch gradients too
    nd.grad_ready = false;
  }
  auto restore = [&] {
    for (int i = 0; i < n; ++i) {
      nodes_[i].grad = std::move(saved[i].grad);
      nodes_[i].ext_grad = saved[i].ext_grad;
      nodes_[i].grad_ready = saved[i].ready;
    }
  };
  auto bad = [&](int i) { return nodes_[i].grad_ready && !nodes_[i].grad.allFinite(); };
  // Replays backward(loss); with watch >= 0, returns the first closure after which node watch's
  // gradient is non-finite.
  auto replay = [&](int watch) {
    for (int i = 0; i < n; ++i) {
      nodes_[i].grad = MatT<T>();
      nodes_[i].grad_ready = false;
    }
    grad(loss)(0, 0) = T(1);
    for (int i = loss.id; i >= 0; --i) {
      Node& nd = nodes_[i];
      if (!nd.backward || !nd.grad_ready) continue;
      nd.backward(*this, Var{i});
      if (watch >= 0 && i > watch && bad(watch)) return i;
    }
    return -1;
  };
  int culprit = -1;
  keep_grads_ = true;
  try {
    // The node with the highest id whose gradient ends non-finite was written only by closures
    // of later nodes (gradients flow to lower ids); the first of them to make it non-finite is
    // where non-finite gradients start (with several independent sources, the one feeding the
    // highest node). Each node gets its own scratch gradient, so two uses of one parameter are
    // told apart.
    if (nodes_[loss.id].requires_grad) {
      replay(-1);
      int worst = -1;
      for (int i = loss.id; i >= 0 && worst < 0; --i)
        if (bad(i)) worst = i;
      if (worst >= 0) culprit = replay(worst);
    }
  } catch (...) {
    keep_grads_ = false;
    restore();
    throw;
  }
  keep_grads_ = false;
  restore();
  return Var{culprit};
}

template class Tape<float>;
template class Tape<double>;

}  // namespace locus
