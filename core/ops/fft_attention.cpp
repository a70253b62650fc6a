#include "core/ops/fft_attention.hpp"

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace locus::ops {

template <class T>
Var fft_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, Var bias, int heads,
                  const FftAttentionOptions& opt) {
  const int64_t n = g.num_nodes(), cols = t.cols(q);
  auto shape = [&](Var x) { return "[" + std::to_string(t.rows(x)) + ", " + std::to_string(t.cols(x)) + "]"; };
  check(heads > 0, "fft_attention: heads must be positive, got " + std::to_string(heads));
  check(!g.causal, "fft_attention: causal blocks are not supported (the Toeplitz product is non-causal)");
  check(t.rows(q) == n, "fft_attention: q is " + shape(q) + " but the graph has " + std::to_string(n) + " nodes");
  check(cols % heads == 0, "fft_attention: q has " + std::to_string(cols) + " columns, not a multiple of " +
                               std::to_string(heads) + " heads");
  check(cols > 0 || n == 0, "fft_attention: q, k and v need at least one column per head");
  check(t.rows(k) == n && t.cols(k) == cols && t.rows(v) == n && t.cols(v) == cols,
        "fft_attention: q, k and v must all be [" + std::to_string(n) + ", " + std::to_string(cols) + "]; got q " +
            shape(q) + ", k " + shape(k) + ", v " + shape(v));
  check(t.rows(bias) == heads && t.cols(bias) % 2 == 1,
        "fft_attention: bias must be [" + std::to_string(heads) + ", 2R+1] (one row per head, an odd number of "
        "relative positions −R..R); got " + shape(bias));
  check(opt.feature_map == FftFeatureMap::EluPlusOne || opt.num_features > 0,
        "fft_attention: num_features must be positive, got " + std::to_string(opt.num_features));
  const int64_t dim = cols / heads, radius = (t.cols(bias) - 1) / 2;
  auto w = std::make_shared<const MatT<T>>(kernels::fft_attention_projection<T>(opt, dim));
  MatT<T> out(n, cols);
  // Denominators [N, heads], kept for the backward pass (O(N·H)).
  auto den = std::make_shared<std::vector<T>>(n * heads);
  kernels::fft_attention_forward(g, t.value(q).data(), t.value(k).data(), t.value(v).data(), t.value(bias).data(),
                                 radius, heads, dim, opt, w->data(), out.data(), den->data());
  auto graph = std::make_shared<const Dense>(g);
  return t.push(std::move(out), "fft_attention", {q, k, v, bias},
                [graph, q, k, v, bias, heads, dim, radius, opt, w, den](Tape<T>& t, Var self) {
                  // The kernel adds (+=) into each wanted gradient: dq, dk, dv through the
                  // Toeplitz products and their transposes, dbias through the frequency-domain
                  // cross-correlation (see core/kernels/fft_attention.hpp).
                  T* dq = t.requires_grad(q) ? t.grad(q).data() : nullptr;
                  T* dk = t.requires_grad(k) ? t.grad(k).data() : nullptr;
                  T* dv = t.requires_grad(v) ? t.grad(v).data() : nullptr;
                  T* db = t.requires_grad(bias) ? t.grad(bias).data() : nullptr;
                  kernels::fft_attention_backward(*graph, t.value(q).data(), t.value(k).data(), t.value(v).data(),
                                                  t.value(bias).data(), radius, heads, dim, opt, w->data(),
                                                  t.value(self).data(), den->data(), t.grad(self).data(), dq, dk,
                                                  dv, db);
                });
}

#define LOCUS_INSTANTIATE(T)                                                                       \
  template Var fft_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, Var, int, const FftAttentionOptions&);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
