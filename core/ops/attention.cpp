#include "core/ops/attention.hpp"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/attention.hpp"

namespace locus {

const std::vector<std::string>& attn_norm_names() {
  static const std::vector<std::string> names{"softmax", "l2"};
  return names;
}

AttnNorm parse_attn_norm(const std::string& name) {
  if (name == "softmax") return AttnNorm::Softmax;
  if (name == "l2") return AttnNorm::L2;
  throw InputError("unknown attention normalisation '" + name + "'. Use softmax or l2");
}

}  // namespace locus

namespace locus::ops {

template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, const AttnConfig& cfg, Var rel_bias,
                    bool training, uint64_t key) {
  const int64_t n = g.num_nodes(), cols = t.cols(q);
  auto shape = [&](Var x) { return "[" + std::to_string(t.rows(x)) + ", " + std::to_string(t.cols(x)) + "]"; };
  check(heads > 0, "dense_attention: heads must be positive, got " + std::to_string(heads));
  check(t.rows(q) == n, "dense_attention: q is " + shape(q) + " but the graph has " + std::to_string(n) + " nodes");
  check(cols % heads == 0, "dense_attention: q has " + std::to_string(cols) + " columns, not a multiple of " +
                               std::to_string(heads) + " heads");
  check(t.rows(k) == n && t.cols(k) == cols && t.rows(v) == n && t.cols(v) == cols,
        "dense_attention: q, k and v must all be [" + std::to_string(n) + ", " + std::to_string(cols) + "]; got q " +
            shape(q) + ", k " + shape(k) + ", v " + shape(v));
  check(cfg.dropout >= 0.0 && cfg.dropout < 1.0,
        "dense_attention: dropout must be in [0, 1), got " + std::to_string(cfg.dropout));
  const int64_t dim = cols / heads;

  kernels::AttentionOptions<T> opt;
  opt.scale = cfg.scale > 0 ? static_cast<T>(cfg.scale) : T(1) / std::sqrt(static_cast<T>(dim));
  opt.clamp = static_cast<T>(cfg.clamp);
  opt.norm = cfg.norm;
  opt.dropout = training ? cfg.dropout : 0.0;
  opt.key = key;
  // The bias table [heads, num_buckets], copied (it is tiny) so that the backward pass sees the
  // forward's values whatever happens to the Var's storage.
  auto table = std::make_shared<std::vector<T>>();
  if (rel_bias.valid()) {
    const int64_t nb = t.cols(rel_bias);
    check(t.rows(rel_bias) == heads, "dense_attention: the relative bias table is " + shape(rel_bias) +
                                         ", expected one row per head (" + std::to_string(heads) + ")");
    // Each side of the buckets needs an exact part (≥ 1 bucket) and a log range beyond it.
    const int64_t side = g.causal ? nb : nb / 2, exact = side / 2;
    check(exact >= 1 && cfg.max_distance > exact,
          "dense_attention: relative bias with " + std::to_string(nb) + " buckets and max_distance " +
              std::to_string(cfg.max_distance) + " needs at least " + (g.causal ? "2" : "4") +
              " buckets and max_distance > " + std::to_string(exact));
    table->assign(t.value(rel_bias).data(), t.value(rel_bias).data() + heads * nb);
    opt.rel_bias = table->data();
    opt.num_buckets = static_cast<int>(nb);
    opt.max_distance = cfg.max_distance;
  }

  MatT<T> out(n, cols);
  // Per-row log normaliser [N, heads], kept for the backward pass (O(N·H)).
  auto lse = std::make_shared<std::vector<T>>(n * heads);
  kernels::dense_attention_forward(g, t.value(q).data(), t.value(k).data(), t.value(v).data(), heads, dim, opt,
                                   out.data(), lse->data());
  auto graph = std::make_shared<const Dense>(g);
  return t.push(std::move(out), "dense_attention", {q, k, v, rel_bias},
                [graph, q, k, v, rel_bias, heads, dim, opt, table, lse](Tape<T>& t, Var self) {
                  // See kernels::dense_attention_backward; it adds (+=) into each wanted gradient.
                  T* dq = t.requires_grad(q) ? t.grad(q).data() : nullptr;
                  T* dk = t.requires_grad(k) ? t.grad(k).data() : nullptr;
                  T* dv = t.requires_grad(v) ? t.grad(v).data() : nullptr;
                  T* db = rel_bias.valid() && t.requires_grad(rel_bias) ? t.grad(rel_bias).data() : nullptr;
                  kernels::AttentionOptions<T> o = opt;
                  o.rel_bias = table->empty() ? nullptr : table->data();
                  kernels::dense_attention_backward(*graph, t.value(q).data(), t.value(k).data(), t.value(v).data(),
                                                    t.value(self).data(), t.grad(self).data(), lse->data(), heads,
                                                    dim, o, dq, dk, dv, db);
                });
}

template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads, T scale, T clamp) {
  AttnConfig cfg;
  cfg.scale = static_cast<double>(scale);  // float → double → float is exact
  cfg.clamp = static_cast<double>(clamp);
  check(scale > T(0), "dense_attention: scale must be positive, got " + std::to_string(scale));
  return dense_attention(t, g, q, k, v, heads, cfg);
}

template <class T>
Var dense_attention(Tape<T>& t, const Dense& g, Var q, Var k, Var v, int heads) {
  check(heads > 0 && t.cols(q) % heads == 0, "dense_attention: q has " + std::to_string(t.cols(q)) +
                                                 " columns, not a multiple of " + std::to_string(heads) + " heads");
  return dense_attention(t, g, q, k, v, heads, AttnConfig{});
}

#define LOCUS_INSTANTIATE(T)                                                                                   \
  template Var dense_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, int, const AttnConfig&, Var, bool,     \
                                  uint64_t);                                                                   \
  template Var dense_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, int, T, T);                           \
  template Var dense_attention<T>(Tape<T>&, const Dense&, Var, Var, Var, int);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
