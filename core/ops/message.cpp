#include "core/ops/message.hpp"

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/gspmm.hpp"
#include "core/kernels/sparse_dense.hpp"

namespace locus::ops {

namespace {
// 1 / in-degree per destination (0 for none), for Reduce::Mean.
template <class T>
std::vector<T> inverse_degrees(GraphRef g) {
  std::vector<T> inv(g.num_dst(), T(0));
  if (g.csr) {
    for (int64_t d = 0; d < g.csr->num_dst; ++d) {
      const int64_t deg = g.csr->indptr[d + 1] - g.csr->indptr[d];
      inv[d] = deg ? T(1) / static_cast<T>(deg) : T(0);
    }
  } else {
    const Dense& dg = *g.dense;
    for (int64_t b = 0; b < dg.num_blocks(); ++b)
      for (int64_t dl = 0; dl < dg.block_len(b); ++dl)
        inv[dg.offsets[b] + dl] = T(1) / static_cast<T>(dg.causal ? dl + 1 : dg.block_len(b));
  }
  return inv;
}
template <class T>
Var gspmm_kept(Tape<T>& t, GraphRef g, Var x, Reduce reduce, Var edge, std::shared_ptr<const void> keep);
}  // namespace

template <class T>
Var gspmm(Tape<T>& t, GraphRef g, Var x, Reduce reduce, Var edge) {
  return gspmm_kept(t, g, x, reduce, edge, nullptr);
}

template <class T>
Var gspmm(Tape<T>& t, std::shared_ptr<const Csr> g, Var x, Reduce reduce) {
  check(g != nullptr, "gspmm: no graph");
  return gspmm_kept(t, GraphRef(*g), x, reduce, Var{}, g);
}

namespace {
template <class T>
Var gspmm_kept(Tape<T>& t, GraphRef g, Var x, Reduce reduce, Var edge, std::shared_ptr<const void> keep) {
  check(t.rows(x) == g.num_src(), "gspmm: x has " + std::to_string(t.rows(x)) + " rows but the graph has " +
                                      std::to_string(g.num_src()) + " source nodes");
  const int64_t heads = edge.valid() ? t.cols(edge) : 1;
  if (edge.valid()) {
    const int64_t slots = g.csr ? g.csr->num_edges() : g.dense->num_edge_slots();
    check(t.rows(edge) == slots && heads >= 1 && t.cols(x) % heads == 0,
          "gspmm: edge values must be [" + std::to_string(slots) + ", heads] with heads dividing " +
              std::to_string(t.cols(x)));
  }
  const int64_t dim = t.cols(x) / heads;  // per head
  const T* ev = edge.valid() ? t.value(edge).data() : nullptr;
  MatT<T> out(g.num_dst(), t.cols(x));
  if (g.csr) kernels::spmm_csr_heads(*g.csr, t.value(x).data(), heads, dim, ev, false, out.data(), false);
  else kernels::spmm_dense_heads(*g.dense, t.value(x).data(), heads, dim, ev, false, out.data(), false);
  std::shared_ptr<std::vector<T>> inv;
  if (reduce == Reduce::Mean) {
    inv = std::make_shared<std::vector<T>>(inverse_degrees<T>(g));
    for (int64_t d = 0; d < out.rows(); ++d) out.row(d) *= (*inv)[d];
  }
  return t.push(std::move(out), "gspmm", {x, edge}, [g, x, edge, inv, heads, dim, keep](Tape<T>& t, Var self) {
    // With mean, out = D⁻¹ S: back-propagate through the row scaling first (Gs = D⁻¹ G).
    MatT<T> scaled;
    const T* gs = t.grad(self).data();
    if (inv) {
      scaled = t.grad(self);
      for (int64_t d = 0; d < scaled.rows(); ++d) scaled.row(d) *= (*inv)[d];
      gs = scaled.data();
    }
    const T* ev = edge.valid() ? t.value(edge).data() : nullptr;
    // dx[s] += Σ_{s→d} w_e · Gs[d]: the same product on the reversed topology.
    if (t.requires_grad(x)) {
      if (g.csr) kernels::spmm_csr_heads(g.csr->reversed(), gs, heads, dim, ev, true, t.grad(x).data(), true);
      else kernels::spmm_dense_heads(*g.dense, gs, heads, dim, ev, true, t.grad(x).data(), true);
    }
    // dedge[e, h] += w_e · <Gs[d, h], x[s, h]>  (gsddmm, per-head dot product)
    if (edge.valid() && t.requires_grad(edge)) {
      if (g.csr) kernels::sddmm_dot_csr_heads(*g.csr, gs, t.value(x).data(), heads, dim, t.grad(edge).data(), true);
      else kernels::sddmm_dot_dense_heads(*g.dense, gs, t.value(x).data(), heads, dim, t.grad(edge).data(), true);
    }
  });
}

}  // namespace

template <class T>
Var spmm(Tape<T>& t, std::shared_ptr<const SpMatT<T>> x, Var w) {
  check(x->cols() == t.rows(w), "spmm: sparse input has " + std::to_string(x->cols()) +
                                    " columns but the weight has " + std::to_string(t.rows(w)) + " rows");
  check(x->isCompressed(), "spmm: sparse input must be compressed");
  const int64_t h = t.cols(w);
  MatT<T> out(x->rows(), h);
  kernels::csr_times_dense(*x, t.value(w).data(), h, out.data());
  return t.push(std::move(out), "spmm", {w}, [x, w, h](Tape<T>& t, Var self) {
    std::vector<T> workspace;
    kernels::csr_transpose_times_dense(*x, t.grad(self).data(), h, t.grad(w).data(), workspace);  // dW = Xᵀ G
  });
}

template <class T>
SpMatT<T> sparse_dropout(const SpMatT<T>& x, double p, uint64_t key) {
  check(p >= 0.0 && p < 1.0, "sparse_dropout: p must be in [0, 1)");
  SpMatT<T> out = x;
  out.makeCompressed();
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const float pf = static_cast<float>(p);
  T* v = out.valuePtr();
  const int64_t nnz = out.nonZeros();
  for (int64_t i = 0; i < nnz; ++i)
    v[i] = Rng::uniform_at(key, static_cast<uint64_t>(i)) >= pf ? v[i] * keep_scale : T(0);
  return out;
}

#define LOCUS_INSTANTIATE(T)                                                        \
  template Var gspmm<T>(Tape<T>&, GraphRef, Var, Reduce, Var);                      \
  template Var gspmm<T>(Tape<T>&, std::shared_ptr<const Csr>, Var, Reduce);         \
  template Var spmm<T>(Tape<T>&, std::shared_ptr<const SpMatT<T>>, Var);           \
  template SpMatT<T> sparse_dropout<T>(const SpMatT<T>&, double, uint64_t);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
