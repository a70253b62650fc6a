#include "core/ops/edge.hpp"

#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/kernels/edge.hpp"
#include "core/kernels/gspmm.hpp"
#include "core/kernels/row_ops.hpp"
#include "core/ops/basic.hpp"

namespace locus::ops {

namespace {
int64_t edge_slots(GraphRef g) { return g.csr ? g.csr->num_edges() : g.dense->num_edge_slots(); }
}  // namespace

template <class T>
Var gsddmm_add(Tape<T>& t, GraphRef g, Var a_src, Var a_dst, Var base) {
  const int64_t heads = t.cols(a_src);
  check(t.rows(a_src) == g.num_src() && t.rows(a_dst) == g.num_dst() && t.cols(a_dst) == heads,
        "gsddmm_add: a_src must be [num_src, H] and a_dst [num_dst, H]");
  check(!base.valid() || (t.rows(base) == edge_slots(g) && t.cols(base) == heads),
        "gsddmm_add: base must be [edge slots, H]");
  MatT<T> e = base.valid() ? t.take(base) : MatT<T>(edge_slots(g), heads);
  kernels::sddmm_add(g, t.value(a_src).data(), t.value(a_dst).data(), heads, e.data(), base.valid());
  return t.push(std::move(e), "gsddmm_add", {a_src, a_dst, base}, [g, a_src, a_dst, base, heads](Tape<T>& t, Var self) {
    // d a_src[s] += Σ_{p out of s} ge[p];  d a_dst[d] += Σ_{p into d} ge[p];  d base += ge
    T* gd = t.requires_grad(a_dst) ? t.grad(a_dst).data() : nullptr;
    T* gs = t.requires_grad(a_src) ? t.grad(a_src).data() : nullptr;
    kernels::edge_sums(g, t.grad(self).data(), heads, gd, gs);
    if (base.valid() && t.requires_grad(base)) t.pass_grad(self, base, true);
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
Var gat_attention(Tape<T>& t, const Csr& g, Var z, Var s_src, Var s_dst, double slope, double drop, uint64_t key,
                  bool training) {
  const int64_t heads = t.cols(s_src), edges = g.num_edges();
  check(heads >= 1 && t.cols(s_dst) == heads && t.cols(z) % heads == 0, "gat_attention: z must be [n, H·F], s_src and s_dst [n, H]");
  check(t.rows(z) == g.num_src && t.rows(s_src) == g.num_src && t.rows(s_dst) == g.num_dst,
        "gat_attention: z and s_src have a row per source, s_dst per destination");
  check(drop >= 0.0 && drop < 1.0, "gat_attention: the dropout rate must be in [0, 1)");
  check(heads <= kernels::kMaxFusedHeads, "gat_attention: at most 64 heads (compose gsddmm_add, edge_softmax and gspmm)");
  const int64_t dim = t.cols(z) / heads;
  const bool dropping = training && drop > 0.0;
  const T sl = static_cast<T>(slope);
  auto a = std::make_shared<MatT<T>>(edges, heads);
  auto kept = dropping ? std::make_shared<MatT<T>>(edges, heads) : a;  // D: A itself without dropout
  MatT<T> out(g.num_dst, t.cols(z));
  kernels::gat_attention(g, t.value(z).data(), t.value(s_src).data(), t.value(s_dst).data(), heads, dim, sl,
                         dropping ? drop : 0.0, key, a->data(), kept->data(), out.data());
  const T keep_scale = dropping ? static_cast<T>(1.0 / (1.0 - drop)) : T(1);
  return t.push(std::move(out), "gat_attention", {z, s_src, s_dst},
                [&g, z, s_src, s_dst, a, kept, heads, dim, sl, keep_scale](Tape<T>& t, Var self) {
                  const T* G = t.grad(self).data();
                  // dz[s] += Σ_{p out of s} w_p D[p, h] G[d, h]: the aggregation on the reversed topology.
                  if (t.requires_grad(z))
                    kernels::spmm_csr_heads(g.reversed(), G, heads, dim, kept->data(), true, t.grad(z).data(), true);
                  if (!t.requires_grad(s_src) && !t.requires_grad(s_dst)) return;
                  MatT<T> dpre(a->rows(), heads);
                  kernels::gat_attention_scores_backward(g, G, t.value(z).data(), t.value(s_src).data(),
                                                         t.value(s_dst).data(), a->data(), kept->data(), heads, dim, sl,
                                                         keep_scale, dpre.data(),
                                                         t.requires_grad(s_dst) ? t.grad(s_dst).data() : nullptr);
                  if (t.requires_grad(s_src))
                    kernels::edge_sums(GraphRef(g), dpre.data(), heads, static_cast<T*>(nullptr), t.grad(s_src).data());
                });
}

template <class T>
Var head_dot(Tape<T>& t, Var x, Var a, int64_t heads) {
  check(heads >= 1 && t.cols(x) % heads == 0 && t.rows(a) == 1 && t.cols(a) == t.cols(x),
        "head_dot: x must be [n, heads·dim] and a [1, heads·dim]");
  const int64_t n = t.rows(x), dim = t.cols(x) / heads, row = heads * dim;
  // Row loops with the head width fixed at compile time: per head an Eigen GEMV over a strided
  // [n, dim] block ran several times slower on GAT's widths (8 heads of 8).
  MatT<T> y(n, heads);
  {
    const T* __restrict xv = t.value(x).data();
    const T* __restrict av = t.value(a).data();
    T* __restrict yv = y.data();
    kernels::dispatch_width(dim, [&](auto width) {
      constexpr int W = decltype(width)::value;
#pragma omp parallel for schedule(static) if (n * row >= kernels::kParallelWork)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t h = 0; h < heads; ++h) yv[i * heads + h] = kernels::dot<W>(xv + i * row + h * dim, av + h * dim, dim);
    });
  }
  return t.push(std::move(y), "head_dot", {x, a}, [x, a, n, heads, dim, row](Tape<T>& t, Var self) {
    const T* __restrict g = t.grad(self).data();
    kernels::dispatch_width(dim, [&](auto width) {
      constexpr int W = decltype(width)::value;
      // dx[i, h] += g[i, h] a_h
      if (t.requires_grad(x)) {
        const T* __restrict av = t.value(a).data();
        T* __restrict gx = t.grad(x).data();
#pragma omp parallel for schedule(static) if (n * row >= kernels::kParallelWork)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t h = 0; h < heads; ++h) kernels::axpy<W>(g[i * heads + h], av + h * dim, gx + i * row + h * dim, dim);
      }
      // da_h += Σ_i g[i, h] x[i, h] (in row order: the same sum for every thread count)
      if (t.requires_grad(a)) {
        const T* __restrict xv = t.value(x).data();
        T* __restrict ga = t.grad(a).data();
        for (int64_t i = 0; i < n; ++i)
          for (int64_t h = 0; h < heads; ++h) kernels::axpy<W>(g[i * heads + h], xv + i * row + h * dim, ga + h * dim, dim);
      }
    });
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

template <class T>
Var gated_sum(Tape<T>& t, const Csr& g, Var x, Var e_hat, double eps) {
  const int64_t n = g.num_dst, d = t.cols(x), edges = g.num_edges();
  check(!g.has_weights(), "gated_sum: the graph must be unweighted");
  check(t.rows(x) == g.num_src && t.rows(e_hat) == edges && t.cols(e_hat) == d,
        "gated_sum: x must be [num_src, d] and e_hat [num_edges, d]");
  using Row = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;
  using CRow = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;
  const T ep = static_cast<T>(eps);
  // σ = 1 / (1 + e^−ê): e^−ê overflows to inf for ê ≪ 0, giving 0 (no NaN).
  auto sig = std::make_shared<MatT<T>>(edges, d);
  const T* ev = t.value(e_hat).data();
  T* sv = sig->data();
  detail::for_each_row(edges, d, [&](int64_t p) { Row(sv + p * d, d) = (T(1) + (-CRow(ev + p * d, d)).exp()).inverse(); });
  auto den = std::make_shared<MatT<T>>(n, d);
  MatT<T> y(n, d);
  const T* xv = t.value(x).data();
  const int64_t* ptr = g.indptr.data();
  const int32_t* idx = g.indices.data();
  // Rows by destination: each writes its own y_i and den_i (dynamic: degrees vary).
#pragma omp parallel for schedule(dynamic, 64) if (edges * d >= detail::kParallelEntries)
  for (int64_t i = 0; i < n; ++i) {
    Row num(y.data() + i * d, d), dn(den->data() + i * d, d);
    num.setZero();
    dn.setZero();
    for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) {
      const CRow s(sv + p * d, d);
      num += s * CRow(xv + static_cast<int64_t>(idx[p]) * d, d);
      dn += s;
    }
    num /= dn + ep;
  }
  return t.push(std::move(y), "gated_sum", {x, e_hat}, [&g, x, e_hat, sig, den, ep, n, d](Tape<T>& t, Var self) {
    const T* gy = t.grad(self).data();
    const T* yv = t.value(self).data();
    const T* xv = t.value(x).data();
    const T* sv = sig->data();
    const int64_t* ptr = g.indptr.data();
    const int32_t* idx = g.indices.data();
    T* ge = t.requires_grad(e_hat) ? t.grad(e_hat).data() : nullptr;
    MatT<T> a(n, d);  // dnum_i = G_i / (den_i + eps)
#pragma omp parallel for schedule(dynamic, 64) if (g.num_edges() * d >= detail::kParallelEntries)
    for (int64_t i = 0; i < n; ++i) {
      const auto inv = (CRow(den->data() + i * d, d) + ep).inverse();
      Row ai(a.data() + i * d, d);
      ai = CRow(gy + i * d, d) * inv;
      if (!ge) continue;
      const Eigen::Array<T, 1, Eigen::Dynamic> bi = -CRow(gy + i * d, d) * CRow(yv + i * d, d) * inv;  // dden_i
      for (int64_t p = ptr[i]; p < ptr[i + 1]; ++p) {
        const CRow s(sv + p * d, d);
        Row(ge + p * d, d) += (ai * CRow(xv + static_cast<int64_t>(idx[p]) * d, d) + bi) * s * (T(1) - s);
      }
    }
    if (!t.requires_grad(x)) return;
    // dx_j: rows by source on the transpose (perm: each of its edges' position in g).
    const Csr& r = g.reversed();
    T* gx = t.grad(x).data();
#pragma omp parallel for schedule(dynamic, 64) if (r.num_edges() * d >= detail::kParallelEntries)
    for (int64_t j = 0; j < r.num_dst; ++j) {
      Row out(gx + j * d, d);
      for (int64_t q = r.indptr[j]; q < r.indptr[j + 1]; ++q)
        out += CRow(sv + r.perm[q] * d, d) * CRow(a.data() + static_cast<int64_t>(r.indices[q]) * d, d);
    }
  });
}

#define LOCUS_INSTANTIATE(T)                                       \
  template Var gsddmm_add<T>(Tape<T>&, GraphRef, Var, Var, Var);   \
  template Var gsddmm_dot<T>(Tape<T>&, GraphRef, Var, Var, int64_t); \
  template Var edge_softmax<T>(Tape<T>&, GraphRef, Var);           \
  template Var gat_attention<T>(Tape<T>&, const Csr&, Var, Var, Var, double, double, uint64_t, bool); \
  template Var head_dot<T>(Tape<T>&, Var, Var, int64_t);           \
  template Var edge_class_bias<T>(Tape<T>&, Var, const std::vector<int32_t>&, Var); \
  template Var gated_sum<T>(Tape<T>&, const Csr&, Var, Var, double);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
