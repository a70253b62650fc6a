// A normalisation a layer applies to its rows (gnn.norm): LayerNorm per row, BatchNorm per column
// over the rows of a call (a mini-batch's nodes or edges), or none. One object holds the learnt
// scale and shift ([1, d] each, from 1 and 0) and BatchNorm's running statistics (store buffers, so
// that model files and checkpoints keep them); the Transformer, GatedGCN and gnn.residual use it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/ops/norm.hpp"
#include "core/params.hpp"
#include "core/tape.hpp"

namespace locus {

enum class NormKind { None, Layer, Batch };
NormKind parse_norm(const std::string& name);  // "none" | "layer" | "batch"
const std::vector<std::string>& norm_names();   // "layer", "batch", "none"

// Values one Norm of width d stores (memory estimates): gamma, beta, and BatchNorm's two buffers.
inline double norm_values(const std::string& name, double d) { return name == "none" ? 0 : name == "batch" ? 4 * d : 2 * d; }

template <class T>
class Norm {
 public:
  Norm() = default;  // none
  // Parameters NAME.gamma and NAME.beta [1, dim] unless kind is None (never weight-decayed);
  // BatchNorm adds the buffers NAME.running_mean and NAME.running_var [1, dim] (from 0 and 1).
  Norm(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t dim, NormKind kind);
  // x [n, dim] → [n, dim]. BatchNorm: batch statistics in training (updating the running ones,
  // momentum 0.1), running statistics at evaluation (core/ops/norm.hpp).
  Var forward(Tape<T>& t, Var x, bool training) const;
  NormKind kind() const { return kind_; }

 private:
  NormKind kind_ = NormKind::None;
  ParamStore<T>* store_ = nullptr;
  ParamId gamma_, beta_, mean_, var_;
  // The op's view of the running statistics, loaded from the buffers before each call and written
  // back after a training call (the op reads it again in backward).
  std::shared_ptr<ops::BatchNormState<T>> bn_;
};

}  // namespace locus
