#include "core/optim.hpp"

#include <cmath>

#include "core/error.hpp"

namespace locus {

namespace {
const std::pair<const char*, OptimKind> kKinds[] = {{"adam", OptimKind::Adam}, {"adamw", OptimKind::AdamW}, {"sgd", OptimKind::Sgd}};
}  // namespace

OptimKind parse_optim_kind(const std::string& name) {
  for (const auto& [n, k] : kKinds)
    if (name == n) return k;
  throw InputError("unknown optimizer '" + name + "'. Use adam, adamw or sgd");
}

const std::vector<std::string>& optim_kind_names() {
  static const std::vector<std::string> names{"adam", "adamw", "sgd"};
  return names;
}

const char* optim_kind_name(OptimKind k) {
  for (const auto& [n, x] : kKinds)
    if (x == k) return n;
  return "?";
}

template <class T>
void Optimizer<T>::step(ParamStore<T>& store) {
  const int64_t n = store.size();
  if (static_cast<int64_t>(m_.size()) != n) {
    m_.assign(n, T(0));
    if (opt_.kind != OptimKind::Sgd) v_.assign(n, T(0));
  }
  ++t_;
  // Restrict-qualified pointers and one loop per rule, so that the loops vectorise (through the
  // vectors' own pointers the compiler must assume that m_, v_ and w may overlap).
  T* __restrict w = store.values().data();
  const T* __restrict g = store.grads().data();
  T* __restrict m = m_.data();
  T* __restrict v = v_.data();
  const T lr = static_cast<T>(opt_.lr), b1 = static_cast<T>(opt_.beta1), b2 = static_cast<T>(opt_.beta2);
  const T eps = static_cast<T>(opt_.eps), mom = static_cast<T>(opt_.momentum);
  // Bias corrections of Adam: m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t).
  const T c1 = static_cast<T>(1.0 / (1.0 - std::pow(opt_.beta1, static_cast<double>(t_))));
  const T c2 = static_cast<T>(1.0 / (1.0 - std::pow(opt_.beta2, static_cast<double>(t_))));
  for (const ParamInfo& p : store.params()) {
    if (p.buffer) continue;
    const T wd = p.decay ? static_cast<T>(opt_.weight_decay) : T(0);
    const int64_t b = p.offset, e = p.offset + p.rows * p.cols;
    switch (opt_.kind) {
      case OptimKind::Sgd:
        if (mom != T(0)) {
          for (int64_t i = b; i < e; ++i) {
            m[i] = mom * m[i] + (g[i] + wd * w[i]);
            w[i] -= lr * m[i];
          }
        } else {
          for (int64_t i = b; i < e; ++i) {
            const T gi = g[i] + wd * w[i];
            m[i] = gi;
            w[i] -= lr * gi;
          }
        }
        break;
      case OptimKind::Adam:  // g ← g + λ·w
        for (int64_t i = b; i < e; ++i) {
          const T gi = g[i] + wd * w[i];
          m[i] = b1 * m[i] + (T(1) - b1) * gi;
          v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
          w[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
        }
        break;
      case OptimKind::AdamW:  // w ← w − lr·λ·w, then the Adam step on g
        for (int64_t i = b; i < e; ++i) {
          const T gi = g[i];
          w[i] -= lr * wd * w[i];
          m[i] = b1 * m[i] + (T(1) - b1) * gi;
          v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
          w[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
        }
        break;
    }
  }
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace locus
