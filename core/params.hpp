// ParamStore: every trainable parameter of a model in one flat value buffer and one flat
// gradient buffer. Layers keep ParamIds; optimizers and checkpoints loop over the flat buffers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/tensor.hpp"

namespace locus {

struct ParamId {
  int index = -1;
};

enum class Init { Zeros, Ones, Glorot };

struct ParamInfo {
  std::string name;
  int64_t rows = 0, cols = 0, offset = 0;
  bool decay = true;  // whether weight decay applies
  // A buffer: state a layer writes itself (BatchNorm's running statistics), never a gradient's or
  // an optimizer's; kept here so model files and checkpoints carry it. Not counted as a parameter.
  bool buffer = false;
};

template <class T>
class ParamStore {
 public:
  using Map = Eigen::Map<MatT<T>>;
  // Aligned like Eigen's own matrices: vectorised reductions over a Map peel by address, so
  // an unaligned buffer would make sums depend on where the heap placed it (not bit-reproducible).
  using Buffer = std::vector<T, Eigen::aligned_allocator<T>>;

  // Registers a rows × cols parameter. Glorot: U(±sqrt(6 / (rows + cols))), drawn from rng.
  ParamId add(const std::string& name, int64_t rows, int64_t cols, Init init, Rng& rng,
              bool decay = true);

  // A buffer (ParamInfo::buffer) of rows × cols, zeros or ones.
  ParamId add_buffer(const std::string& name, int64_t rows, int64_t cols, Init init);

  Map value(ParamId p) { return Map(values_.data() + info(p).offset, info(p).rows, info(p).cols); }
  Map grad(ParamId p) { return Map(grads_.data() + info(p).offset, info(p).rows, info(p).cols); }
  const ParamInfo& info(ParamId p) const { return params_.at(p.index); }
  const std::vector<ParamInfo>& params() const { return params_; }
  // The parameter or buffer registered as `name` ("layer0.weight"); index −1 when there is none.
  ParamId find(const std::string& name) const {
    for (size_t i = 0; i < params_.size(); ++i)
      if (params_[i].name == name) return ParamId{static_cast<int>(i)};
    return ParamId{-1};
  }

  Buffer& values() { return values_; }
  const Buffer& values() const { return values_; }
  Buffer& grads() { return grads_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  int64_t num_trainable() const;  // size() less the buffers' values
  void zero_grad();

 private:
  std::vector<ParamInfo> params_;
  Buffer values_, grads_;
};

}  // namespace locus
