// Linear and MLP layers, and Features: a layer input that is either a Var on the tape or a
// constant sparse matrix (bag-of-words node features are multiplied without densifying).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/ops/basic.hpp"
#include "core/ops/message.hpp"

namespace locus {

template <class T>
struct Features {
  Var var;                                   // dense input on the tape, or
  std::shared_ptr<const SpMatT<T>> sparse;   // a constant sparse input
  bool is_sparse() const { return sparse != nullptr; }
};

// Features after inverted dropout (sparse inputs drop stored values; see ops::sparse_dropout).
template <class T>
Features<T> dropout(Tape<T>& t, const Features<T>& x, double p, uint64_t key, bool training);

// y = x W + b   x: [n, in] → [n, out]; W Glorot-initialised, b zeros.
template <class T>
class Linear {
 public:
  Linear(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool bias = true,
         bool decay = true);
  Var forward(Tape<T>& t, const Features<T>& x) const;
  // x W only (no bias), for layers that add the bias after aggregation.
  Var transform(Tape<T>& t, const Features<T>& x) const;
  Var add_bias(Tape<T>& t, Var y) const;
  int64_t in_dim() const { return in_; }
  int64_t out_dim() const { return out_; }
  ParamId weight() const { return w_; }
  ParamId bias() const { return b_; }

 private:
  ParamStore<T>* store_;
  int64_t in_, out_;
  ParamId w_, b_;
};

// Linear layers with an activation and dropout between them (none after the last).
// dims = {in, hidden..., out}.
template <class T>
class Mlp {
 public:
  Mlp(ParamStore<T>& store, Rng& rng, const std::string& name, const std::vector<int64_t>& dims, ops::Act act,
      double dropout);
  // `key` seeds the dropout masks of this call.
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const;

 private:
  std::vector<Linear<T>> layers_;
  ops::Act act_;
  double dropout_;
};

}  // namespace locus
