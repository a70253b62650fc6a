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
  Features() = default;
  Features(Var v, std::shared_ptr<const SpMatT<T>> s, Var e = {}) : var(v), sparse(std::move(s)), extra(e) {}

  Var var;                                   // dense input on the tape, or
  std::shared_ptr<const SpMatT<T>> sparse;   // a constant sparse input
  // Optional dense columns appended to the input (positional encodings): the layer input is
  // [x ‖ extra], and a linear map of it is x·W_top + extra·W_bottom, so x stays sparse.
  Var extra;
  bool is_sparse() const { return sparse != nullptr; }
  bool has_extra() const { return extra.valid(); }
};

// Where a partitioned rank's rows sit in the whole input, so its dropout masks are those of one
// process: row[r] the global row of local row r, nnz_start[r] the position of its first stored
// value in the whole sparse feature matrix (ops::dropout, ops::sparse_dropout).
struct DropoutRows {
  std::vector<int64_t> row, nnz_start;
};

// Features after inverted dropout (sparse inputs drop stored values; see ops::sparse_dropout;
// extra columns are dropped too). rows: a partitioned rank's placement (dense inputs use
// rows->row, sparse ones rows->nnz_start).
template <class T>
Features<T> dropout(Tape<T>& t, const Features<T>& x, double p, uint64_t key, bool training,
                    const DropoutRows* rows = nullptr);

// y = x W + b   x: [n, in] → [n, out]; W Glorot-initialised, b zeros.
template <class T>
class Linear {
 public:
  Linear(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t in, int64_t out, bool bias = true,
         bool decay = true);
  // x: [n, in] (with extra columns: their count is part of `in`).
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
// The widths of benchmarking-GNNs' MLPReadout from in to out: in → in/2 → in/4 → out (each at
// least 1); the graph readout's MLP and gnn.head=mlp.
std::vector<int64_t> mlp_head_dims(int64_t in, int64_t out);

template <class T>
class Mlp {
 public:
  Mlp(ParamStore<T>& store, Rng& rng, const std::string& name, const std::vector<int64_t>& dims, ops::Act act,
      double dropout, bool decay = true);
  // `key` seeds the dropout masks of this call.
  Var forward(Tape<T>& t, const Features<T>& x, bool training, uint64_t key) const;

 private:
  std::vector<Linear<T>> layers_;
  ops::Act act_;
  double dropout_;
};

}  // namespace locus
