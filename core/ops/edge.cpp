#include "core/ops/edge.hpp"

#include <string>

#include "core/error.hpp"
#include "core/kernels/edge.hpp"
#include "core/kernels/gspmm.hpp"

namespace locus::ops {

namespace {
int64_t edge_slots(GraphRef g) { return g.csr ? g.csr->num_edges() : g.dense->num_edge_slots(); }
}  // namespace

template <class T>
Var gsddmm_add(Tape<T>& t, GraphRef g, Var a_src, Var a_dst) {
  const int64_t heads = t.cols(a_src);
  check(t.rows(a_src) == g.num_src() && t.rows(a_dst) == g.num_dst() && t.cols(a_dst) == heads,
        "gsddmm_add: a_src must be [num_src, H] and a_dst [num_dst, H]");
  MatT<T> e(edge_slots(g), heads);
  kernels::sddmm_add(g, t.value(a_src).data(), t.value(a_dst).data(), heads, e.data());
  return t.push(std::move(e), "gsddmm_add", {a_src, a_dst}, [g, a_src, a_dst, heads](Tape<T>& t, Var self) {
    // d a_src[s] += Σ_{p out of s} ge[p];  d a_dst[d] += Σ_{p into d} ge[p]
    T* gd = t.requires_grad(a_dst) ? t.grad(a_dst).data() : nullptr;
    T* gs = t.requires_grad(a_src) ? t.grad(a_src).data() : nullptr;
    kernels::edge_sums(g, t.grad(self).data(), heads, gd, gs);
  });
}

template <class T>
Var gsddmm_dot(Tape<T>& t, GraphRef g, Var q, Var k, int64_t heads) {
  check(heads >= 1 && t.cols(q) == t.cols(k) && t.cols(q) % heads == 0,
        "gsddmm_dot: q and k must be [n, heads·dim] with the same width");
  check(t.rows(q) == g.num_dst() && t.rows(k) == g.num_src(), "gsddmm_dot: q rows are destinations, k rows sources");
  const int64_t dim = t.cols(q) / heads;
  MatT<T> e(edge_slots(g), heads);
  if (g.dense && g.dense->causal) e.setZero();  // slots above the diagonal stay 0
  if (g.csr) kernels::sddmm_dot_csr_heads(*g.csr, t.value(q).data(), t.value(k).data(), heads, dim, e.data(), false);
  else kernels::sddmm_dot_dense_heads(*g.dense, t.value(q).data(), t.value(k).data(), heads, dim, e.data(), false);
  return t.push(std::move(e), "gsddmm_dot", {q, k}, [g, q, k, heads, dim](Tape<T>& t, Var self) {
    const T* ge = t.grad(self).data();
    // dq[d, h] += Σ_p w_p ge[p, h] k[s, h]: a multi-head gspmm with the edge gradient as values.
    if (t.requires_grad(q)) {
      if (g.csr) kernels::spmm_csr_heads(*g.csr, t.value(k).data(), heads, dim, ge, false, t.grad(q).data(), true);
      else kernels::spmm_dense_heads(*g.dense, t.value(k).data(), heads, dim, ge, false, t.grad(q).data(), true);
    }
    // dk[s, h] += Σ_p w_p ge[p, h] q[d, h]: the same on the reversed topology.
    if (t.requires_grad(k)) {
      if (g.csr)
        kernels::spmm_csr_heads(g.csr->reversed(), t.value(q).data(), heads, dim, ge, true, t.grad(k).data(), true);
      else kernels::spmm_dense_heads(*g.dense, t.value(q).data(), heads, dim, ge, true, t.grad(k).data(), true);
    }
  });
}

template <class T>
Var edge_softmax(Tape<T>& t, GraphRef g, Var e) {
  check(t.rows(e) == edge_slots(g), "edge_softmax: one row per edge slot");
  const int64_t heads = t.cols(e);
  MatT<T> a(t.rows(e), heads);
  if (g.dense && g.dense->causal) a.setZero();
  kernels::edge_softmax(g, t.value(e).data(), heads, a.data());
  return t.push(std::move(a), "edge_softmax", {e}, [g, e, heads](Tape<T>& t, Var self) {
    kernels::edge_softmax_backward(g, t.value(self).data(), t.grad(self).data(), heads, t.grad(e).data());
  });
}

template <class T>
Var head_dot(Tape<T>& t, Var x, Var a, int64_t heads) {
  check(heads >= 1 && t.cols(x) % heads == 0 && t.rows(a) == 1 && t.cols(a) == t.cols(x),
        "head_dot: x must be [n, heads·dim] and a [1, heads·dim]");
  const int64_t n = t.rows(x), dim = t.cols(x) / heads;
  auto xv = t.value(x);
  auto av = t.value(a);
  MatT<T> y(n, heads);
  for (int64_t h = 0; h < heads; ++h)
    y.col(h).noalias() = xv.middleCols(h * dim, dim) * av.middleCols(h * dim, dim).transpose();
  return t.push(std::move(y), "head_dot", {x, a}, [x, a, heads, dim](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    for (int64_t h = 0; h < heads; ++h) {
      // dx[:, h] += g[:, h] a_hᵀ;  da_h += g[:, h]ᵀ x[:, h]
      if (t.requires_grad(x)) t.grad(x).middleCols(h * dim, dim).noalias() += g.col(h) * t.value(a).middleCols(h * dim, dim);
      if (t.requires_grad(a)) t.grad(a).middleCols(h * dim, dim).noalias() += g.col(h).transpose() * t.value(x).middleCols(h * dim, dim);
    }
  });
}

template <class T>
Var edge_class_bias(Tape<T>& t, Var e, const std::vector<int32_t>& cls, Var table) {
  const int64_t E = t.rows(e), H = t.cols(e), C = t.cols(table);
  if (static_cast<int64_t>(cls.size()) != E || t.rows(table) != H)
    throw ShapeError("edge_class_bias: e is [" + std::to_string(E) + ", " + std::to_string(H) + "], cls has " +
                     std::to_string(cls.size()) + " entries, table is [" + std::to_string(t.rows(table)) + ", " +
                     std::to_string(C) + "]; need cls per edge and table [H, classes]");
  MatT<T> out = t.value(e);
  const auto tab = t.value(table);
  for (int64_t p = 0; p < E; ++p) {
    const int32_t c = cls[static_cast<size_t>(p)];
    if (c < 0 || c >= C) throw ShapeError("edge_class_bias: class " + std::to_string(c) + " out of range");
    for (int64_t h = 0; h < H; ++h) out(p, h) += tab(h, c);
  }
  const std::vector<int32_t>* classes = &cls;
  return t.push(std::move(out), "edge_class_bias", {e, table}, [e, table, classes](Tape<T>& t, Var self) {
    auto g = t.grad(self);
    if (t.requires_grad(e)) t.grad(e) += g;
    if (t.requires_grad(table)) {
      auto gt = t.grad(table);
      const int64_t H = g.cols();
      for (int64_t p = 0; p < g.rows(); ++p)
        for (int64_t h = 0; h < H; ++h) gt(h, (*classes)[static_cast<size_t>(p)]) += g(p, h);
    }
  });
}

#define LOCUS_INSTANTIATE(T)                                       \
  template Var gsddmm_add<T>(Tape<T>&, GraphRef, Var, Var);        \
  template Var gsddmm_dot<T>(Tape<T>&, GraphRef, Var, Var, int64_t); \
  template Var edge_softmax<T>(Tape<T>&, GraphRef, Var);           \
  template Var head_dot<T>(Tape<T>&, Var, Var, int64_t);           \
  template Var edge_class_bias<T>(Tape<T>&, Var, const std::vector<int32_t>&, Var);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
