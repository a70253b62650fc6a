#include "core/ops/norm.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ops/basic.hpp"
#include "core/text.hpp"

namespace locus::ops {

namespace {

// gamma / beta: invalid (absent) or [1, d].
template <class T>
void check_affine(Tape<T>& t, Var v, int64_t d, const char* op, const char* name) {
  if (!v.valid()) return;
  check(t.rows(v) == 1 && t.cols(v) == d, std::string(op) + ": " + name + " must be " + dims(1, d) + ", got " +
                                              dims(t.rows(v), t.cols(v)));
}

// Adds the affine gradients dgamma += Σ_r G ⊙ x̂ and dbeta += Σ_r G, with x̂_rj = (x_rj − mu) · rs,
// where mu / rs are per row (by_row) or per column. Sums over rows in a fixed order.
template <class T>
void affine_grads(Tape<T>& t, Var self, Var x, Var gamma, Var beta, const std::vector<T>& mu,
                  const std::vector<T>& rs, bool by_row) {
  const bool need_g = gamma.valid() && t.requires_grad(gamma), need_b = beta.valid() && t.requires_grad(beta);
  if (!need_g && !need_b) return;
  const int64_t n = t.rows(x), d = t.cols(x);
  const T* g = t.grad(self).data();
  const T* xv = t.value(x).data();
  const MatT<T> sums = detail::reduce_rows<T>(n, d, 2, [&](int64_t r, T* acc) {
    const T* gr = g + r * d;
    const T* xr = xv + r * d;
    for (int64_t j = 0; j < d; ++j) {
      const T xhat = by_row ? (xr[j] - mu[r]) * rs[r] : (xr[j] - mu[j]) * rs[j];
      acc[j] += gr[j] * xhat;  // dgamma_j = Σ_r G_rj x̂_rj
      acc[d + j] += gr[j];     // dbeta_j = Σ_r G_rj
    }
  });
  if (need_g) t.grad(gamma).row(0) += sums.row(0);
  if (need_b) t.grad(beta).row(0) += sums.row(1);
}

// y = gamma ⊙ x̂ + beta with x̂ from per-row or per-column mu / rs.
template <class T>
MatT<T> normalise(Tape<T>& t, Var x, Var gamma, Var beta, const std::vector<T>& mu, const std::vector<T>& rs,
                  bool by_row) {
  const int64_t n = t.rows(x), d = t.cols(x);
  MatT<T> out(n, d);
  const T* xv = t.value(x).data();
  const T* gm = gamma.valid() ? t.value(gamma).data() : nullptr;
  const T* bt = beta.valid() ? t.value(beta).data() : nullptr;
  T* o = out.data();
  detail::for_each_row(n, d, [&](int64_t r) {
    const T* xr = xv + r * d;
    T* orow = o + r * d;
    for (int64_t j = 0; j < d; ++j) {
      T y = by_row ? (xr[j] - mu[r]) * rs[r] : (xr[j] - mu[j]) * rs[j];
      if (gm) y *= gm[j];
      if (bt) y += bt[j];
      orow[j] = y;
    }
  });
  return out;
}
}  // namespace

template <class T>
Var layer_norm(Tape<T>& t, Var x, Var gamma, Var beta, double eps) {
  const int64_t n = t.rows(x), d = t.cols(x);
  check(d >= 1, "layer_norm: x " + dims(n, d) + " has no columns");
  check(eps >= 0, "layer_norm: eps must be ≥ 0");
  check_affine(t, gamma, d, "layer_norm", "gamma");
  check_affine(t, beta, d, "layer_norm", "beta");
  const T e = static_cast<T>(eps);
  auto mean = std::make_shared<std::vector<T>>(n);
  auto rstd = std::make_shared<std::vector<T>>(n);
  const T* xv = t.value(x).data();
  T* mu = mean->data();
  T* rs = rstd->data();
  const T inv_d = T(1) / static_cast<T>(d);
  detail::for_each_row(n, d, [&](int64_t r) {
    const T* xr = xv + r * d;
    T s = 0;
    for (int64_t j = 0; j < d; ++j) s += xr[j];
    const T m = s * inv_d;
    T v = 0;  // two passes: Σ (x − μ)² keeps precision when |μ| ≫ σ
    for (int64_t j = 0; j < d; ++j) v += (xr[j] - m) * (xr[j] - m);
    mu[r] = m;
    rs[r] = T(1) / std::sqrt(v * inv_d + e);
  });
  MatT<T> out = normalise(t, x, gamma, beta, *mean, *rstd, true);
  return t.push(std::move(out), "layer_norm", {x, gamma, beta}, [x, gamma, beta, mean, rstd](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), d = t.cols(x);
    if (t.requires_grad(x)) {
      const T* g = t.grad(self).data();
      const T* xv = t.value(x).data();
      const T* gm = gamma.valid() ? t.value(gamma).data() : nullptr;
      T* gx = t.grad(x).data();
      const T* mu = mean->data();
      const T* rs = rstd->data();
      const T inv_d = T(1) / static_cast<T>(d);
      detail::for_each_row(n, d, [&](int64_t r) {
        const T* gr = g + r * d;
        const T* xr = xv + r * d;
        T sum_dxhat = 0, sum_dxhat_xhat = 0;
        for (int64_t j = 0; j < d; ++j) {
          const T dxhat = gm ? gr[j] * gm[j] : gr[j];  // dx̂ = G ⊙ gamma
          sum_dxhat += dxhat;
          sum_dxhat_xhat += dxhat * (xr[j] - mu[r]) * rs[r];
        }
        const T a = sum_dxhat * inv_d, b = sum_dxhat_xhat * inv_d;
        for (int64_t j = 0; j < d; ++j) {
          const T dxhat = gm ? gr[j] * gm[j] : gr[j];
          const T xhat = (xr[j] - mu[r]) * rs[r];
          gx[r * d + j] += rs[r] * (dxhat - a - xhat * b);  // dx = (1/σ)(dx̂ − mean dx̂ − x̂ mean(dx̂ x̂))
        }
      });
    }
    affine_grads(t, self, x, gamma, beta, *mean, *rstd, true);
  });
}

template <class T>
Var batch_norm(Tape<T>& t, Var x, Var gamma, Var beta, BatchNormState<T>& state, bool training, double momentum,
               double eps) {
  const int64_t n = t.rows(x), d = t.cols(x);
  check_affine(t, gamma, d, "batch_norm", "gamma");
  check_affine(t, beta, d, "batch_norm", "beta");
  check(state.running_mean.rows() == 1 && state.running_mean.cols() == d && state.running_var.rows() == 1 &&
            state.running_var.cols() == d,
        "batch_norm: state holds running statistics of shape " +
            dims(state.running_mean.rows(), state.running_mean.cols()) + " for x " + dims(n, d) +
            "; build it with BatchNormState<T>(" + std::to_string(d) + ")");
  check(momentum >= 0 && momentum <= 1, "batch_norm: momentum must be in [0, 1]");
  check(eps >= 0, "batch_norm: eps must be ≥ 0");
  check(!training || n >= 2, "batch_norm: training needs at least 2 rows per column, x is " + dims(n, d));
  const T e = static_cast<T>(eps);
  auto mean = std::make_shared<std::vector<T>>(d);
  auto rstd = std::make_shared<std::vector<T>>(d);
  if (training) {
    const T* xv = t.value(x).data();
    const MatT<T> s = detail::reduce_rows<T>(n, d, 1, [&](int64_t r, T* acc) {
      for (int64_t j = 0; j < d; ++j) acc[j] += xv[r * d + j];
    });
    const T inv_n = T(1) / static_cast<T>(n);
    for (int64_t j = 0; j < d; ++j) (*mean)[j] = s(0, j) * inv_n;
    const T* mu = mean->data();
    const MatT<T> ss = detail::reduce_rows<T>(n, d, 1, [&](int64_t r, T* acc) {
      for (int64_t j = 0; j < d; ++j) acc[j] += (xv[r * d + j] - mu[j]) * (xv[r * d + j] - mu[j]);
    });
    const T m = static_cast<T>(momentum);
    const T unbias = static_cast<T>(n) / static_cast<T>(n - 1);
    for (int64_t j = 0; j < d; ++j) {
      const T var = ss(0, j) * inv_n;  // biased: used to normalise
      (*rstd)[j] = T(1) / std::sqrt(var + e);
      state.running_mean(0, j) = (T(1) - m) * state.running_mean(0, j) + m * (*mean)[j];
      state.running_var(0, j) = (T(1) - m) * state.running_var(0, j) + m * var * unbias;  // unbiased
    }
    ++state.num_batches;
  } else {
    for (int64_t j = 0; j < d; ++j) {
      (*mean)[j] = state.running_mean(0, j);
      (*rstd)[j] = T(1) / std::sqrt(state.running_var(0, j) + e);
    }
  }
  MatT<T> out = normalise(t, x, gamma, beta, *mean, *rstd, false);
  return t.push(std::move(out), "batch_norm", {x, gamma, beta},
                [x, gamma, beta, mean, rstd, training](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), d = t.cols(x);
    if (t.requires_grad(x)) {
      const T* g = t.grad(self).data();
      const T* xv = t.value(x).data();
      const T* gm = gamma.valid() ? t.value(gamma).data() : nullptr;
      T* gx = t.grad(x).data();
      const T* mu = mean->data();
      const T* rs = rstd->data();
      if (training) {
        // Per column: Σ_r G and Σ_r G ⊙ x̂ (times gamma these are Σ dx̂ and Σ dx̂ ⊙ x̂).
        const MatT<T> s = detail::reduce_rows<T>(n, d, 2, [&](int64_t r, T* acc) {
          for (int64_t j = 0; j < d; ++j) {
            acc[j] += g[r * d + j];
            acc[d + j] += g[r * d + j] * (xv[r * d + j] - mu[j]) * rs[j];
          }
        });
        const T inv_n = T(1) / static_cast<T>(n);
        const T* sg = s.data();
        const T* sgx = s.data() + d;
        detail::for_each_row(n, d, [&](int64_t r) {
          for (int64_t j = 0; j < d; ++j) {
            const T xhat = (xv[r * d + j] - mu[j]) * rs[j];
            const T scale = gm ? gm[j] * rs[j] : rs[j];
            // dx = gamma/σ · (G − mean_r G − x̂ · mean_r(G ⊙ x̂))
            gx[r * d + j] += scale * (g[r * d + j] - sg[j] * inv_n - xhat * sgx[j] * inv_n);
          }
        });
      } else {
        detail::for_each_row(n, d, [&](int64_t r) {
          for (int64_t j = 0; j < d; ++j)
            gx[r * d + j] += g[r * d + j] * (gm ? gm[j] * rs[j] : rs[j]);  // dx = G ⊙ gamma / σ_running
        });
      }
    }
    affine_grads(t, self, x, gamma, beta, *mean, *rstd, false);
  });
}

template <class T>
Var l2_normalize_rows(Tape<T>& t, Var x, double eps) {
  const int64_t n = t.rows(x), d = t.cols(x);
  check(eps > 0, "l2_normalize_rows: eps must be > 0");
  const T e = static_cast<T>(eps);
  auto norms = std::make_shared<std::vector<T>>(n);
  MatT<T> out(n, d);
  const T* xv = t.value(x).data();
  T* o = out.data();
  T* nr = norms->data();
  detail::for_each_row(n, d, [&](int64_t r) {
    const T* xr = xv + r * d;
    T s = 0;
    for (int64_t j = 0; j < d; ++j) s += xr[j] * xr[j];
    nr[r] = std::sqrt(s);
    const T inv = T(1) / (nr[r] > e ? nr[r] : e);
    for (int64_t j = 0; j < d; ++j) o[r * d + j] = xr[j] * inv;
  });
  return t.push(std::move(out), "l2_normalize_rows", {x}, [x, norms, e](Tape<T>& t, Var self) {
    const int64_t n = t.rows(x), d = t.cols(x);
    const T* g = t.grad(self).data();
    const T* y = t.value(self).data();
    const T* nr = norms->data();
    T* gx = t.grad(x).data();
    detail::for_each_row(n, d, [&](int64_t r) {
      const T* gr = g + r * d;
      if (nr[r] > e) {
        const T* yr = y + r * d;
        T yg = 0;
        for (int64_t j = 0; j < d; ++j) yg += yr[j] * gr[j];
        const T inv = T(1) / nr[r];
        for (int64_t j = 0; j < d; ++j) gx[r * d + j] += (gr[j] - yr[j] * yg) * inv;  // (G − y (y·G)) / ‖x‖
      } else {
        const T inv = T(1) / e;
        for (int64_t j = 0; j < d; ++j) gx[r * d + j] += gr[j] * inv;  // clamped: y = x / eps
      }
    });
  });
}

#define LOCUS_INSTANTIATE(T)                                                                            \
  template Var layer_norm<T>(Tape<T>&, Var, Var, Var, double);                                          \
  template Var batch_norm<T>(Tape<T>&, Var, Var, Var, BatchNormState<T>&, bool, double, double);        \
  template Var l2_normalize_rows<T>(Tape<T>&, Var, double);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
