// Reverse-mode autograd. A Tape records op results in execution order; each node holds its
// value, a lazily allocated gradient and a backward closure that *adds* into the gradients of
// its inputs. Parameter nodes map their value and gradient into a ParamStore's flat buffers.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/params.hpp"
#include "core/tensor.hpp"

namespace locus {

struct Var {
  int id = -1;
  bool valid() const { return id >= 0; }
};

template <class T>
class Tape {
 public:
  using Map = Eigen::Map<MatT<T>>;
  using BackwardFn = std::function<void(Tape&, Var self)>;

  // A value that needs no gradient (inputs, masks).
  Var constant(MatT<T> value, const char* op = "constant");
  // A constant that reads `value` in place (no copy); `value` must outlive this tape's use.
  Var view(const MatT<T>& value, const char* op = "view");
  // A leaf that receives a gradient (tests, inputs whose gradient is wanted).
  Var leaf(MatT<T> value);
  // A parameter: value and gradient live in the store; gradients accumulate there.
  Var param(ParamStore<T>& store, ParamId id);
  // Records an op result; requires_grad when any (valid) input requires it.
  Var push(MatT<T> value, const char* op, std::initializer_list<Var> inputs, BackwardFn backward);

  Map value(Var v);
  // The gradient of v, allocated as zeros on first use.
  Map grad(Var v);
  bool requires_grad(Var v) const { return nodes_.at(v.id).requires_grad; }
  bool has_grad(Var v) const;
  int64_t rows(Var v) const { return nodes_.at(v.id).rows; }
  int64_t cols(Var v) const { return nodes_.at(v.id).cols; }
  const char* op(Var v) const { return nodes_.at(v.id).op; }
  size_t size() const { return nodes_.size(); }

  // Seeds d loss / d loss = 1 (loss must be 1×1) and runs the closures in reverse order.
  void backward(Var loss);
  // Drops every node; parameter gradients stay in the store.
  void clear() { nodes_.clear(); }

 private:
  struct Node {
    MatT<T> value, grad;
    T* ext_value = nullptr;  // parameter storage
    T* ext_grad = nullptr;
    int64_t rows = 0, cols = 0;
    bool requires_grad = false;
    bool grad_ready = false;
    const char* op = "";
    BackwardFn backward;
  };
  Node& node(Var v);
  std::vector<Node> nodes_;
};

}  // namespace locus
