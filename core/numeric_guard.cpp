#include "core/numeric_guard.hpp"

#include <cmath>
#include <cstring>
#include <functional>

namespace locus {

template <class T>
bool all_finite(const T* data, int64_t n) {
  // Σ x·0 is 0 for finite x and NaN as soon as one x is NaN or ±Inf; unlike Eigen's allFinite()
  // (a scalar loop with early exit) it is one vectorised reduction: ~1.5 µs vs ~13 µs for
  // Cora GCN's 23k parameters.
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  return n == 0 || std::isfinite((Eigen::Map<const Vec>(data, n).array() * T(0)).sum());
}

namespace {

std::string number(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

template <class T>
double first_nonfinite(const T* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return static_cast<double>(data[i]);
  return 0;
}

std::string head(int epoch, int run) {
  return (run >= 0 ? "run " + std::to_string(run) + " " : std::string()) + "epoch " + std::to_string(epoch) + ": ";
}

std::string in_layer(const std::string& layer) {
  return layer.empty() ? "outside every layer scope" : "in layer '" + layer + "'";
}

const char* kHint = "lower optim.base_lr or set optim.clip_grad_norm";

// The parameter whose value buffer v's value maps (parameter nodes), or nullptr.
template <class T>
const ParamInfo* param_of(Tape<T>& t, Var v, ParamStore<T>& store) {
  if (std::strcmp(t.op(v), "param") != 0) return nullptr;
  const T* p = t.value(v).data();
  const T* base = store.values().data();
  const std::less<const T*> before;
  if (before(p, base) || !before(p, base + store.size())) return nullptr;  // another store's parameter
  for (const ParamInfo& info : store.params())
    if (base + info.offset == p) return &info;
  return nullptr;
}

// The first parameter node on the tape mapping `info` (for the scope that uses it), or invalid.
template <class T>
Var node_of(Tape<T>& t, const ParamInfo& info, ParamStore<T>& store) {
  for (size_t i = 0; i < t.size(); ++i)
    if (param_of(t, Var{static_cast<int>(i)}, store) == &info) return Var{static_cast<int>(i)};
  return Var{};
}

// The first parameter (store order) with a non-finite entry in buffer `buf` (values or grads).
template <class T>
const ParamInfo* first_bad_param(ParamStore<T>& store, const T* buf, double& value) {
  for (const ParamInfo& info : store.params())
    if (!all_finite(buf + info.offset, info.rows * info.cols)) {
      value = first_nonfinite(buf + info.offset, info.rows * info.cols);
      return &info;
    }
  return nullptr;
}

template <class T>
int first_nonfinite_value(Tape<T>& t, Var last) {
  for (int i = 0; i <= last.id; ++i) {
    auto v = t.value(Var{i});
    if (!all_finite(v.data(), v.size())) return i;
  }
  return -1;
}

}  // namespace

template <class T>
void check_loss(Tape<T>& t, Var loss, ParamStore<T>& store, int epoch, int run) {
  const double value = static_cast<double>(t.value(loss)(0, 0));
  if (std::isfinite(value)) return;
  std::string msg = head(epoch, run) + "the loss is " + number(value) + "; ";
  const int first = first_nonfinite_value(t, loss);  // the loss node itself qualifies
  const Var v{first >= 0 ? first : loss.id};
  const std::string op = t.op(v), layer = t.scope_of(v);
  std::string param, hint = kHint;
  if (const ParamInfo* info = param_of(t, v, store)) {
    param = info->name;
    msg += "parameter '" + param + "' (" + in_layer(layer) + ") already holds non-finite values";
    hint = "it was loaded or initialised so, or diverged in an earlier step: " + hint;
  } else {
    msg += "first non-finite value produced by op '" + op + "' " + in_layer(layer);
    if (op == "view" || op == "constant" || op == "leaf")
      hint = "the input holds NaN or Inf values: check the dataset's features";
  }
  throw NumericFault(msg + "; " + hint, epoch, "loss", op, layer, param);
}

template <class T>
void check_gradients(Tape<T>& t, Var loss, ParamStore<T>& store, int epoch, int run) {
  if (all_finite(store.grads().data(), store.size())) return;
  double value = 0;
  const ParamInfo* info = first_bad_param(store, store.grads().data(), value);
  std::string msg = head(epoch, run) + "the gradient of parameter '" + info->name + "' is " + number(value) + "; ";
  std::string op, layer;
  const Var c = t.first_nonfinite_backward(loss);
  if (c.valid()) {
    op = t.op(c);
    layer = t.scope_of(c);
    msg += "the first non-finite gradient came from the backward of op '" + op + "' " + in_layer(layer);
    // A non-finite forward value the loss did not see (masked, multiplied by 0) often is the cause.
    const int f = first_nonfinite_value(t, loss);
    if (f >= 0)
      msg += " (the first non-finite forward value: op '" + std::string(t.op(Var{f})) + "' " +
             in_layer(t.scope_of(Var{f})) + ")";
    msg += std::string("; ") + kHint;
  } else {
    msg += "no op of this step's backward produced it: the gradient buffer held it before backward (call "
           "ParamStore::zero_grad() before each step)";
  }
  throw NumericFault(msg, epoch, "gradient", op, layer, info->name);
}

template <class T>
void check_parameters(Tape<T>& t, ParamStore<T>& store, int epoch, int run) {
  if (all_finite(store.values().data(), store.size())) return;
  double value = 0;
  const ParamInfo* info = first_bad_param(store, store.values().data(), value);
  const Var v = node_of(t, *info, store);
  const std::string layer = v.valid() ? t.scope_of(v) : std::string();
  std::string msg = head(epoch, run) + "parameter '" + info->name + "'" +
                    (v.valid() ? " (" + in_layer(layer) + ")" : std::string()) + " became " + number(value) +
                    " in the optimizer step (its gradient was finite); " + kHint;
  throw NumericFault(msg, epoch, "parameter", "optimizer step", layer, info->name);
}

template <class T>
double clip_grad_norm(ParamStore<T>& store, double max_norm) {
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  Eigen::Map<Vec> g(store.grads().data(), store.size());
  // Σ g² in T (vectorised); again in double only when that overflows (|g| ≳ 1.8e19 in float).
  double sq = static_cast<double>(g.squaredNorm());
  if (std::isinf(sq)) sq = g.template cast<double>().squaredNorm();
  const double norm = std::sqrt(sq);
  const double coef = max_norm / (norm + 1e-6);
  if (max_norm > 0 && coef < 1) g *= static_cast<T>(coef);
  return norm;
}

#define LOCUS_GUARD(T)                                                                 \
  template bool all_finite<T>(const T*, int64_t);                                      \
  template void check_loss<T>(Tape<T>&, Var, ParamStore<T>&, int, int);                \
  template void check_gradients<T>(Tape<T>&, Var, ParamStore<T>&, int, int);          \
  template void check_parameters<T>(Tape<T>&, ParamStore<T>&, int, int);               \
  template double clip_grad_norm<T>(ParamStore<T>&, double);
LOCUS_GUARD(float)
LOCUS_GUARD(double)
#undef LOCUS_GUARD

}  // namespace locus
