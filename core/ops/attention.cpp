#include "core/ops/attention.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/attention.hpp"

namespace locus::ops {

template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, T scale, T clamp) {
  const int64_t n = g.num_nodes(), cols = t.cols(q);
  auto shape = [&](Var x) { return "[" + std::to_string(t.rows(x)) + ", " + std::to_string(t.cols(x)) + "]"; };
  check(heads > 0, "dense_attention: heads must be positive, got " + std::to_string(heads));
  check(t.rows(q) == n, "dense_attention: q is " + shape(q) + " but the graph has " + std::to_string(n) + " nodes");
  check(cols % heads == 0, "dense_attention: q has " + std::to_string(cols) + " columns, not a multiple of " +
                               std::to_string(heads) + " heads");
  check(t.rows(k) == n && t.cols(k) == cols && t.rows(v) == n && t.cols(v) == cols,
        "dense_attention: q, k and v must all be [" + std::to_string(n) + ", " + std::to_string(cols) + "]; got q " +
            shape(q) + ", k " + shape(k) + ", v " + shape(v));
  const int64_t dim = cols / heads;
  MatT<T> out(n, cols);
  // Per-row log-sum-exp of the scores [N, heads], kept for the backward pass (O(N·H)).
  auto lse = std::make_shared<std::vector<T>>(n * heads);
  kernels::dense_attention_forward(g, t.value(q).data(), t.value(k).data(), t.value(v).data(), heads, dim, scale,
                                   clamp, out.data(), lse->data());
  auto graph = std::make_shared<const Dense>(g);
  return t.push(std::move(out), "dense_attention", {q, k, v},
                [graph, q, k, v, heads, dim, scale, clamp, lse](Tape<T>& t, Var self) {
                  // dq = scale · dS K, dk = scale · dSᵀ Q, dv = Pᵀ dO with dS = P ∘ (dO Vᵀ − D),
                  // D_i = <dO_i, O_i>; the kernel adds (+=) into each wanted gradient.
                  T* dq = t.requires_grad(q) ? t.grad(q).data() : nullptr;
                  T* dk = t.requires_grad(k) ? t.grad(k).data() : nullptr;
                  T* dv = t.requires_grad(v) ? t.grad(v).data() : nullptr;
                  kernels::dense_attention_backward(*graph, t.value(q).data(), t.value(k).data(), t.value(v).data(),
                                                    t.value(self).data(), t.grad(self).data(), lse->data(), heads,
                                                    dim, scale, clamp, dq, dk, dv);
                });
}

template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads) {
  check(heads > 0 && t.cols(q) % heads == 0, "dense_attention: q has " + std::to_string(t.cols(q)) +
                                                 " columns, not a multiple of " + std::to_string(heads) + " heads");
  const T scale = T(1) / std::sqrt(static_cast<T>(t.cols(q) / heads));
  return dense_attention(t, g, q, k, v, heads, scale, T(0));
}

#define LOCUS_INSTANTIATE(T)                                                      \
  template Var dense_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, int, T, T); \
  template Var dense_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, int);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
