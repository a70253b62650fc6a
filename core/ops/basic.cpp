#include "core/ops/basic.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus::ops {

namespace {
template <class T>
void same_shape(Tape<T>& t, Var a, Var b, const char* op) {
  check(t.rows(a) == t.rows(b) && t.cols(a) == t.cols(b),
        std::string(op) + ": shapes differ [" + std::to_string(t.rows(a)) + "," + std::to_string(t.cols(a)) +
            "] vs [" + std::to_string(t.rows(b)) + "," + std::to_string(t.cols(b)) + "]");
}

// The output buffer of an elementwise op on x: x's own at inference when x is transient
// (Tape::take; a Map of x taken before still reads it), else a new one of x's shape.
template <class T>
MatT<T> output_for(Tape<T>& t, Var x) {
  return t.can_take(x) ? t.take(x) : MatT<T>(t.rows(x), t.cols(x));
}
}  // namespace

namespace {
// Rows per block of by_row_blocks; fixed, so no result depends on the thread count.
constexpr int64_t kProductBlock = 4096;
// Multiply-adds (n·k·m) from which the blocks run in parallel.
constexpr int64_t kParallelProduct = int64_t(1) << 20;

// out = x·y (add: out += x·y) for x [n, k], y [k, m], out [n, m]: one Eigen product per block of
// kProductBlock rows of x and out, the blocks in parallel for large products. Eigen itself runs
// single-threaded here (EIGEN_DONT_PARALLELIZE), so without this a second thread idles in every
// dense layer.
template <class X, class Y, class Out>
void by_row_blocks(const X& x, const Y& y, Out&& out, bool add) {
  const int64_t n = x.rows(), blocks = (n + kProductBlock - 1) / kProductBlock;
  const bool parallel = blocks > 1 && n * x.cols() * y.cols() >= kParallelProduct;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t r0 = i * kProductBlock, len = std::min(kProductBlock, n - r0);
    if (add) out.middleRows(r0, len).noalias() += x.middleRows(r0, len) * y;
    else out.middleRows(r0, len).noalias() = x.middleRows(r0, len) * y;
  }
}
}  // namespace

template <class T>
Var matmul(Tape<T>& t, Var a, Var b) {
  check(t.cols(a) == t.rows(b), "matmul: inner dimensions differ (" + std::to_string(t.cols(a)) + " vs " +
                                    std::to_string(t.rows(b)) + ")");
  MatT<T> out(t.rows(a), t.cols(b));
  by_row_blocks(t.value(a), t.value(b), out, false);
  return t.push(std::move(out), "matmul", {a, b}, [a, b](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    if (t.requires_grad(a)) by_row_blocks(g, t.value(b).transpose(), t.grad(a), true);  // dA = G Bᵀ
    // dB = Aᵀ G sums over all rows: one Eigen product, as before.
    if (t.requires_grad(b)) t.grad(b).noalias() += t.value(a).transpose() * g;
  });
}

template <class T>
Var add(Tape<T>& t, Var a, Var b) {
  same_shape(t, a, b, "add");
  // At inference, in the buffer of a transient input (a + b = b + a exactly in floating point).
  MatT<T> out;
  if (a.id != b.id && (t.can_take(a) || t.can_take(b))) {
    const Var kept = t.can_take(a) ? b : a;
    const auto other = t.value(kept);
    out = t.take(kept.id == a.id ? b : a);
    out += other;
  } else {
    out.resize(t.rows(a), t.cols(a));
    const T* av = t.value(a).data();
    const T* bv = t.value(b).data();
    T* o = out.data();
    detail::for_each_block(out.size(), [&](int64_t i) { o[i] = av[i] + bv[i]; });
  }
  return t.push(std::move(out), "add", {a, b}, [a, b](Tape<T>& t, Var self) {
    const bool gb = t.requires_grad(b);
    if (t.requires_grad(a)) t.pass_grad(self, a, !gb);
    if (gb) t.pass_grad(self, b, true);
  });
}

namespace {
// out[r, :] += bias[0, :] for every row.
template <class T>
void add_row(MatT<T>& out, const T* bv) {
  const int64_t m = out.cols();
  T* o = out.data();
  detail::for_each_row(out.rows(), m, [&](int64_t r) {
    for (int64_t j = 0; j < m; ++j) o[r * m + j] += bv[j];
  });
}

// d bias += Σ_rows G(self); serial below the parallel threshold, else in fixed blocks (the same
// sum for any thread count).
template <class T>
void bias_grad(Tape<T>& t, Var self, Var bias) {
  if (!t.requires_grad(bias)) return;
  const int64_t n = t.rows(self), m = t.cols(self);
  const T* g = t.grad(self).data();
  if (n * m < detail::kParallelEntries) {
    t.grad(bias).row(0) += t.grad(self).colwise().sum();
    return;
  }
  t.grad(bias) += detail::reduce_rows<T>(n, m, 1, [&](int64_t r, T* acc) {
    for (int64_t j = 0; j < m; ++j) acc[j] += g[r * m + j];
  });
}

template <class T>
void check_bias(Tape<T>& t, Var bias, int64_t cols, const char* op) {
  check(t.rows(bias) == 1 && t.cols(bias) == cols, std::string(op) + ": bias must be [1, " + std::to_string(cols) + "]");
}
}  // namespace

template <class T>
Var add_bias(Tape<T>& t, Var x, Var bias) {
  check_bias(t, bias, t.cols(x), "add_bias");
  MatT<T> out = t.take(x);  // in place on a transient input at inference
  add_row(out, t.value(bias).data());
  return t.push(std::move(out), "add_bias", {x, bias}, [x, bias](Tape<T>& t, Var self) {
    bias_grad(t, self, bias);
    if (t.requires_grad(x)) t.pass_grad(self, x, true);
  });
}

template <class T>
Var affine(Tape<T>& t, Var x, Var w, Var bias) {
  check(t.cols(x) == t.rows(w), "affine: inner dimensions differ (" + std::to_string(t.cols(x)) + " vs " +
                                    std::to_string(t.rows(w)) + ")");
  check_bias(t, bias, t.cols(w), "affine");
  MatT<T> out(t.rows(x), t.cols(w));
  by_row_blocks(t.value(x), t.value(w), out, false);
  add_row(out, t.value(bias).data());
  return t.push(std::move(out), "affine", {x, w, bias}, [x, w, bias](Tape<T>& t, Var self) {
    bias_grad(t, self, bias);
    auto g = t.grad(self);
    if (t.requires_grad(x)) by_row_blocks(g, t.value(w).transpose(), t.grad(x), true);  // dx = G wᵀ
    if (t.requires_grad(w)) t.grad(w).noalias() += t.value(x).transpose() * g;      // dw = xᵀ G
  });
}

template <class T>
Var scale(Tape<T>& t, Var x, T s) {
  MatT<T> out = s * t.value(x);
  return t.push(std::move(out), "scale", {x}, [x, s](Tape<T>& t, Var self) {
    t.grad(x) += s * t.grad(self);
  });
}

template <class T>
Var sub(Tape<T>& t, Var a, Var b) {
  same_shape(t, a, b, "sub");
  MatT<T> out = t.value(a) - t.value(b);
  return t.push(std::move(out), "sub", {a, b}, [a, b](Tape<T>& t, Var self) {
    if (t.requires_grad(a)) t.grad(a) += t.grad(self);  // da = G
    if (t.requires_grad(b)) t.grad(b) -= t.grad(self);  // db = −G
  });
}

template <class T>
Var mul(Tape<T>& t, Var a, Var b) {
  same_shape(t, a, b, "mul");
  const int64_t n = t.rows(a), m = t.cols(a);
  MatT<T> out(n, m);
  const T* av = t.value(a).data();
  const T* bv = t.value(b).data();
  T* o = out.data();
  detail::for_each_row(n, m, [&](int64_t r) {
    for (int64_t j = r * m; j < (r + 1) * m; ++j) o[j] = av[j] * bv[j];
  });
  return t.push(std::move(out), "mul", {a, b}, [a, b](Tape<T>& t, Var self) {
    const int64_t n = t.rows(self), m = t.cols(self);
    const T* g = t.grad(self).data();
    const T* av = t.value(a).data();
    const T* bv = t.value(b).data();
    T* ga = t.requires_grad(a) ? t.grad(a).data() : nullptr;
    T* gb = t.requires_grad(b) ? t.grad(b).data() : nullptr;
    detail::for_each_row(n, m, [&](int64_t r) {
      for (int64_t j = r * m; j < (r + 1) * m; ++j) {
        if (ga) ga[j] += g[j] * bv[j];  // da = G ⊙ b
        if (gb) gb[j] += g[j] * av[j];  // db = G ⊙ a
      }
    });
  });
}

namespace {
const std::pair<const char*, Act> kActs[] = {
    {"relu", Act::Relu}, {"elu", Act::Elu}, {"leaky_relu", Act::LeakyRelu}, {"gelu", Act::Gelu}, {"identity", Act::Identity}};
}  // namespace

Act parse_act(const char* name) {
  for (const auto& [n, a] : kActs)
    if (!std::strcmp(name, n)) return a;
  throw InputError(std::string("unknown activation '") + name +
                   "'. Use relu, elu, leaky_relu, gelu or identity");
}

const std::vector<std::string>& act_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [n, a] : kActs) v.push_back(n);
    return v;
  }();
  return names;
}

const char* act_name(Act a) {
  for (const auto& [n, x] : kActs)
    if (x == a) return n;
  return "?";
}

template <class T>
Var relu(Tape<T>& t, Var x) {
  const auto xv = t.value(x);
  MatT<T> out = output_for(t, x);
  out = xv.cwiseMax(T(0));
  return t.push(std::move(out), "relu", {x}, [x](Tape<T>& t, Var self) {
    // d/dx relu = 1 where the output is positive
    t.grad(x).array() += (t.value(self).array() > T(0)).select(t.grad(self).array(), T(0));
  });
}

template <class T>
Var elu(Tape<T>& t, Var x, T alpha) {
  auto xv = t.value(x).array();
  MatT<T> out = output_for(t, x);
  // max(x, 0) + α (e^min(x, 0) − 1): the same values as the select (e^0 − 1 = 0 exactly), but
  // one vectorised exp; Eigen 3.4 evaluates a select coefficient by coefficient, a libm call each.
  // x.max(0) and x.min(0) keep a NaN x (std::max / std::min order, in packets too), as the select did.
  out = xv.max(T(0)) + alpha * (xv.min(T(0)).exp() - T(1));
  return t.push(std::move(out), "elu", {x}, [x, alpha](Tape<T>& t, Var self) {
    // d/dx = 1 for x > 0, else alpha e^x = y + alpha
    auto xv = t.value(x).array();
    auto yv = t.value(self).array();
    t.grad(x).array() += t.grad(self).array() * (xv > T(0)).select(T(1), yv + alpha);
  });
}

template <class T>
Var leaky_relu(Tape<T>& t, Var x, double slope) {
  // Whole-array operations vectorise; a per-row loop over short rows (8 heads) does not.
  const T s = static_cast<T>(slope);
  auto xv = t.value(x).array();
  MatT<T> out = output_for(t, x);
  // = the select, vectorised (Eigen 3.4 selects coefficient by coefficient); NaN stays NaN.
  out = xv.max(T(0)) + s * xv.min(T(0));
  return t.push(std::move(out), "leaky_relu", {x}, [x, s](Tape<T>& t, Var self) {
    // d/dx = 1 for x > 0, else slope
    auto g = t.grad(self).array();
    t.grad(x).array() += (t.value(x).array() > T(0)).select(g, s * g);
  });
}

template <class T>
Var gelu(Tape<T>& t, Var x) {
  const int64_t n = t.rows(x), m = t.cols(x);
  const T* xv = t.value(x).data();
  MatT<T> out = output_for(t, x);
  T* o = out.data();  // may be xv: each element is read before it is written
  const T inv_sqrt2 = static_cast<T>(0.70710678118654752440);
  detail::for_each_row(n, m, [&](int64_t r) {
    for (int64_t j = r * m; j < (r + 1) * m; ++j) o[j] = T(0.5) * xv[j] * (T(1) + std::erf(xv[j] * inv_sqrt2));
  });
  return t.push(std::move(out), "gelu", {x}, [x, inv_sqrt2](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), m = t.cols(x);
    const T* g = t.grad(self).data();
    const T* xv = t.value(x).data();
    T* gx = t.grad(x).data();
    const T inv_sqrt_2pi = static_cast<T>(0.39894228040143267794);
    detail::for_each_row(n, m, [&](int64_t r) {
      for (int64_t j = r * m; j < (r + 1) * m; ++j) {
        const T v = xv[j];
        const T cdf = T(0.5) * (T(1) + std::erf(v * inv_sqrt2));  // Φ(x)
        const T pdf = inv_sqrt_2pi * std::exp(T(-0.5) * v * v);    // φ(x)
        gx[j] += g[j] * (cdf + v * pdf);                           // d/dx x·Φ(x) = Φ + x·φ
      }
    });
  });
}

template <class T>
Var activation(Tape<T>& t, Var x, Act act) {
  switch (act) {
    case Act::Relu: return relu(t, x);
    case Act::Elu: return elu(t, x);
    case Act::LeakyRelu: return leaky_relu(t, x);
    case Act::Gelu: return gelu(t, x);
    case Act::Identity: return x;
  }
  return x;
}

template <class T>
Var dropout(Tape<T>& t, Var x, double p, uint64_t key, bool training, const std::vector<int64_t>* global_rows) {
  check(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1)");
  if (!training || p == 0.0) return x;
  const int64_t n = t.rows(x) * t.cols(x);
  check(!global_rows || static_cast<int64_t>(global_rows->size()) == t.rows(x), "dropout: one global row per row");
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const float pf = static_cast<float>(p);
  // A float mask: the measured fastest form on Cora-sized inputs (a byte or bit mask saved
  // memory but cost 30-80 % more epoch time here).
  auto mask = std::make_shared<MatT<T>>(t.rows(x), t.cols(x));
  MatT<T> out(t.rows(x), t.cols(x));
  T* m = mask->data();
  T* o = out.data();
  const T* xv = t.value(x).data();
  if (global_rows) {
    const int64_t rows = t.rows(x), cols = t.cols(x);
    const int64_t* global = global_rows->data();
#pragma omp parallel for schedule(static) if (n >= (1 << 15))
    for (int64_t r = 0; r < rows; ++r) {
      const uint64_t at = static_cast<uint64_t>(global[r] * cols);
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t i = r * cols + c;
        m[i] = Rng::uniform_at(key, at + static_cast<uint64_t>(c)) >= pf ? keep_scale : T(0);
        o[i] = xv[i] * m[i];
      }
    }
  } else {
#pragma omp parallel for schedule(static) if (n >= (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
      m[i] = Rng::uniform_at(key, static_cast<uint64_t>(i)) >= pf ? keep_scale : T(0);
      o[i] = xv[i] * m[i];
    }
  }
  return t.push(std::move(out), "dropout", {x}, [x, mask](Tape<T>& t, Var self) {
    t.grad(x).array() += t.grad(self).array() * mask->array();
  });
}

template <class T>
Var weighted_sum(Tape<T>& t, Var x, const MatT<T>& w) {
  check(w.rows() == t.rows(x) && w.cols() == t.cols(x), "weighted_sum: weight shape differs");
  MatT<T> out(1, 1);
  out(0, 0) = (t.value(x).array() * w.array()).sum();
  return t.push(std::move(out), "weighted_sum", {x}, [x, w](Tape<T>& t, Var self) {
    t.grad(x) += t.grad(self)(0, 0) * w;
  });
}

template <class T>
Var clamp(Tape<T>& t, Var x, double limit) {
  if (limit <= 0) return x;
  const T c = static_cast<T>(limit);
  MatT<T> out = t.value(x).cwiseMax(-c).cwiseMin(c);
  return t.push(std::move(out), "clamp", {x}, [x, c](Tape<T>& t, Var self) {
    // Gradient passes only where the input was inside (−c, c).
    t.grad(x).array() += (t.value(x).array().abs() < c).select(t.grad(self).array(), T(0));
  });
}

#define LOCUS_INSTANTIATE(T)                                            \
  template Var clamp<T>(Tape<T>&, Var, double);                         \
  template Var matmul<T>(Tape<T>&, Var, Var);                           \
  template Var add<T>(Tape<T>&, Var, Var);                              \
  template Var add_bias<T>(Tape<T>&, Var, Var);                         \
  template Var affine<T>(Tape<T>&, Var, Var, Var);                      \
  template Var scale<T>(Tape<T>&, Var, T);                              \
  template Var sub<T>(Tape<T>&, Var, Var);                              \
  template Var mul<T>(Tape<T>&, Var, Var);                              \
  template Var leaky_relu<T>(Tape<T>&, Var, double);                    \
  template Var gelu<T>(Tape<T>&, Var);                                  \
  template Var relu<T>(Tape<T>&, Var);                                  \
  template Var elu<T>(Tape<T>&, Var, T);                                \
  template Var activation<T>(Tape<T>&, Var, Act);                       \
  template Var dropout<T>(Tape<T>&, Var, double, uint64_t, bool, const std::vector<int64_t>*); \
  template Var weighted_sum<T>(Tape<T>&, Var, const MatT<T>&);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
