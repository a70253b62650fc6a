#include "core/params.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace locus {

template <class T>
ParamId ParamStore<T>::add(const std::string& name, int64_t rows, int64_t cols, Init init, Rng& rng,
                           bool decay) {
  check(rows > 0 && cols > 0, "ParamStore::add: empty parameter " + name);
  for (const auto& p : params_) check(p.name != name, "ParamStore::add: duplicate parameter " + name);
  ParamInfo info{name, rows, cols, static_cast<int64_t>(values_.size()), decay};
  const int64_t n = rows * cols;
  values_.resize(values_.size() + n, T(0));
  grads_.resize(grads_.size() + n, T(0));
  T* v = values_.data() + info.offset;
  if (init == Init::Ones) std::fill(v, v + n, T(1));
  if (init == Init::Glorot) {
    const double a = std::sqrt(6.0 / static_cast<double>(rows + cols));
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<T>(rng.uniform(-a, a));
  }
  params_.push_back(info);
  return ParamId{static_cast<int>(params_.size()) - 1};
}

template <class T>
ParamId ParamStore<T>::add_buffer(const std::string& name, int64_t rows, int64_t cols, Init init) {
  check(init != Init::Glorot, "ParamStore::add_buffer: a buffer starts at zeros or ones (" + name + ")");
  Rng unused(0);
  const ParamId id = add(name, rows, cols, init, unused, false);
  params_.back().buffer = true;
  return id;
}

template <class T>
int64_t ParamStore<T>::num_trainable() const {
  int64_t n = 0;
  for (const ParamInfo& p : params_)
    if (!p.buffer) n += p.rows * p.cols;
  return n;
}

template <class T>
void ParamStore<T>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), T(0));
}

template class ParamStore<float>;
template class ParamStore<double>;

}  // namespace locus
