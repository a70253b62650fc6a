// Reverse-mode autograd. A Tape records op results in execution order; each node holds its
// value, a lazily allocated gradient and a backward closure that *adds* into the gradients of
// its inputs. Parameter nodes map their value and gradient into a ParamStore's flat buffers.
// Each node also records the layer scope it was created in (Tape::scope), for error messages.
// Inference runs on a no-grad tape (Tape::NoGrad): nothing is kept for backward, and values
// marked transient are handed to, or freed after, the one op that reads them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
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
  // Records an op result; requires_grad when any (valid) input requires it. On a no-grad tape the
  // closure is dropped, and the values of transient inputs are freed once recorded.
  Var push(MatT<T> value, const char* op, std::initializer_list<Var> inputs, BackwardFn backward);

  // Gradient recording off while a NoGrad lives (inference): parameters and leaves then need no
  // gradient, so no op keeps a backward closure or what it captured, and backward() does nothing.
  class NoGrad {
   public:
    explicit NoGrad(Tape& t) : tape_(t), prev_(t.grad_enabled_) { t.grad_enabled_ = false; }
    NoGrad(const NoGrad&) = delete;
    NoGrad& operator=(const NoGrad&) = delete;
    ~NoGrad() { tape_.grad_enabled_ = prev_; }

   private:
    Tape& tape_;
    bool prev_;
  };
  bool grad_enabled() const { return grad_enabled_; }
  // Declares that exactly one later op reads v (a layer's intermediate result). On a no-grad tape
  // that op may take v's buffer as its output (take()), or push() frees it: a forward pass then
  // holds a few activations at a time instead of all. Reading v again fails. With gradients on,
  // does nothing (backward needs the values). Returns v.
  Var transient(Var v);
  // Whether take(x) hands over x's own buffer: x is transient on a no-grad tape and owns its value.
  bool can_take(Var x) const;
  // The value of x as a new buffer for an elementwise op's output: x's own buffer when
  // can_take(x) (x is then released; a Map of it taken before stays valid), else a copy.
  MatT<T> take(Var x);

  // Layer scopes: nodes recorded while a Scope is alive belong to it; nested scopes join with
  // "/" ("layer 2 (gat)/attention"). A node stores a 16-bit index into this tape's table of
  // scope paths (interned: reopening a scope, e.g. every epoch, allocates nothing new).
  class Scope {
   public:
    Scope(Scope&& o) noexcept : tape_(o.tape_), prev_(o.prev_) { o.tape_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope() {
      if (tape_) tape_->scope_ = prev_;
    }

   private:
    friend class Tape;
    Scope(Tape* t, uint16_t prev) : tape_(t), prev_(prev) {}
    Tape* tape_;
    uint16_t prev_;
  };
  [[nodiscard]] Scope scope(std::string_view name);
  // The scope path v was recorded in; "" outside every scope.
  const std::string& scope_of(Var v) const { return scopes_[nodes_.at(v.id).scope].path; }

  Map value(Var v);
  // The gradient of v, allocated as zeros on first use.
  Map grad(Var v);
  // In a backward closure: x's gradient += self's (x and self of one shape), in parallel. With
  // `last` (the closure reads self's gradient no more) and no gradient on x yet, x takes self's
  // buffer instead: no zero fill and no pass over it (add, add_bias: ~E × d floats per edge op).
  void pass_grad(Var self, Var x, bool last);
  bool requires_grad(Var v) const { return nodes_.at(v.id).requires_grad; }
  bool has_grad(Var v) const;
  int64_t rows(Var v) const { return nodes_.at(v.id).rows; }
  int64_t cols(Var v) const { return nodes_.at(v.id).cols; }
  const char* op(Var v) const { return nodes_.at(v.id).op; }
  size_t size() const { return nodes_.size(); }

  // Seeds d loss / d loss = 1 (loss must be 1×1) and runs the closures in reverse order. An op
  // result's gradient is freed once its closure has run (has_grad is then false); leaves and
  // parameters keep theirs.
  void backward(Var loss);
  // Drops every node; parameter gradients stay in the store.
  void clear();

  // Diagnostics for a backward(loss) that left a non-finite gradient somewhere: re-runs the
  // backward closures (twice, into scratch gradients; the store's gradients and this tape's are
  // left as they were) and returns the node whose closure first wrote a non-finite value into a
  // gradient, or an invalid Var when none did (the store held it before backward). Slow: for
  // error reports only.
  Var first_nonfinite_backward(Var loss);

 private:
  struct Node {
    MatT<T> value, grad;
    T* ext_value = nullptr;  // parameter storage
    T* ext_grad = nullptr;
    int64_t rows = 0, cols = 0;
    bool requires_grad = false;
    bool grad_ready = false;
    bool transient = false;  // read by one more op (no-grad tapes only)
    bool released = false;   // its value was taken or freed after that op
    uint16_t scope = 0;  // index into scopes_ (fills padding: the node stays 128 bytes)
    const char* op = "";
    BackwardFn backward;
  };
  struct ScopeEntry {
    uint16_t parent;
    std::string name, path;
  };
  Node& node(Var v);
  Var append(Node&& n);
  std::vector<Node> nodes_;
  std::vector<ScopeEntry> scopes_{ScopeEntry{0, "", ""}};  // [0]: outside every scope
  uint16_t scope_ = 0;                                     // the open scope
  bool grad_enabled_ = true;
  bool keep_grads_ = false;  // first_nonfinite_backward: every node keeps its gradient (no pass_grad moves)
};

}  // namespace locus
