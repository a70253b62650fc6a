#include "core/ops/message.hpp"

#include <string>
#include <vector>

#include "core/dist/halo.hpp"
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
// Reduce::Mean: out = D⁻¹ S. Scales out's rows and returns D⁻¹ (null for Sum).
template <class T>
std::shared_ptr<std::vector<T>> mean_scale(GraphRef g, Reduce reduce, MatT<T>& out) {
  if (reduce != Reduce::Mean) return nullptr;
  auto inv = std::make_shared<std::vector<T>>(inverse_degrees<T>(g));
  for (int64_t d = 0; d < out.rows(); ++d) out.row(d) *= (*inv)[d];
  return inv;
}
// The gradient reaching S: Gs = D⁻¹ G with mean (written to scratch), G itself with sum.
template <class T>
const T* grad_before_mean(Tape<T>& t, Var self, const std::vector<T>* inv, MatT<T>& scratch) {
  if (!inv) return t.grad(self).data();
  scratch = t.grad(self);
  for (int64_t d = 0; d < scratch.rows(); ++d) scratch.row(d) *= (*inv)[d];
  return scratch.data();
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
// gspmm on one rank's part of a partitioned graph, no edge values: out = A_in x + A_out x_halo,
// the halo rows in flight while A_in x is computed; backward likewise sends A_outᵀ G to the
// owners while A_inᵀ G is computed, then adds what the peers sent.
template <class T>
Var halo_gspmm(Tape<T>& t, const Csr& g, Var x, Reduce reduce, std::shared_ptr<const void> keep) {
  const dist::HaloLink& link = *g.halo;
  check(t.rows(x) == g.num_dst, "gspmm: on a partitioned graph x holds the " + std::to_string(g.num_dst) +
                                    " owned rows, got " + std::to_string(t.rows(x)));
  const int64_t cols = t.cols(x), halo = g.num_src - g.num_dst;
  const T* none = nullptr;  // no edge values
  MatT<T> out(g.num_dst, cols);
  {
    MatT<T> halo_rows(halo, cols);
    dist::HaloExchange<T> ex(link);
    ex.start_forward(t.value(x).data(), cols, halo_rows.data());
    kernels::spmm_csr_heads(link.inner, t.value(x).data(), 1, cols, none, false, out.data(), false);
    ex.wait();
    kernels::spmm_csr_heads(link.outer, halo_rows.data(), 1, cols, none, false, out.data(), true);
  }
  auto inv = mean_scale(GraphRef(g), reduce, out);
  return t.push(std::move(out), "gspmm", {x}, [&g, x, inv, cols, halo, keep](Tape<T>& t, Var self) {
    if (!t.requires_grad(x)) return;
    const dist::HaloLink& link = *g.halo;
    const T* none = nullptr;
    MatT<T> scratch;
    const T* gs = grad_before_mean(t, self, inv.get(), scratch);
    MatT<T> halo_grad(halo, cols);
    kernels::spmm_csr_heads(link.outer.reversed(), gs, 1, cols, none, false, halo_grad.data(), false);
    dist::HaloExchange<T> ex(link);
    ex.start_reverse(halo_grad.data(), cols);
    T* gx = t.grad(x).data();
    kernels::spmm_csr_heads(link.inner.reversed(), gs, 1, cols, none, false, gx, true);
    ex.wait_add(gx);
  });
}

template <class T>
Var gspmm_kept(Tape<T>& t, GraphRef g, Var x, Reduce reduce, Var edge, std::shared_ptr<const void> keep) {
  if (g.csr && g.csr->halo && !edge.valid()) return halo_gspmm(t, *g.csr, x, reduce, keep);
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
  auto inv = mean_scale(g, reduce, out);
  return t.push(std::move(out), "gspmm", {x, edge}, [g, x, edge, inv, heads, dim, keep](Tape<T>& t, Var self) {
    // With mean, out = D⁻¹ S: back-propagate through the row scaling first (Gs = D⁻¹ G).
    MatT<T> scratch;
    const T* gs = grad_before_mean(t, self, inv.get(), scratch);
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
Var halo_extend(Tape<T>& t, const Csr& g, Var x) {
  if (!g.halo) return x;
  check(t.rows(x) == g.num_dst, "halo_extend: x holds the " + std::to_string(g.num_dst) + " owned rows, got " +
                                    std::to_string(t.rows(x)));
  const int64_t own = g.num_dst, cols = t.cols(x);
  MatT<T> out(g.num_src, cols);
  {
    dist::HaloExchange<T> ex(*g.halo);
    ex.start_forward(t.value(x).data(), cols, out.data() + own * cols);
    out.topRows(own) = t.value(x);
    ex.wait();
  }
  return t.push(std::move(out), "halo_extend", {x}, [&g, x, own, cols](Tape<T>& t, Var self) {
    if (!t.requires_grad(x)) return;
    const T* gs = t.grad(self).data();
    dist::HaloExchange<T> ex(*g.halo);
    ex.start_reverse(gs + own * cols, cols);
    t.grad(x) += t.grad(self).topRows(own);
    ex.wait_add(t.grad(x).data());
  });
}

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
SpMatT<T> sparse_dropout(const SpMatT<T>& x, double p, uint64_t key, const std::vector<int64_t>* nnz_start) {
  check(p >= 0.0 && p < 1.0, "sparse_dropout: p must be in [0, 1)");
  SpMatT<T> out = x;
  out.makeCompressed();
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  const float pf = static_cast<float>(p);
  T* v = out.valuePtr();
  const int64_t nnz = out.nonZeros();
  if (!nnz_start) {
    for (int64_t i = 0; i < nnz; ++i)
      v[i] = Rng::uniform_at(key, static_cast<uint64_t>(i)) >= pf ? v[i] * keep_scale : T(0);
    return out;
  }
  check(static_cast<int64_t>(nnz_start->size()) == out.rows(), "sparse_dropout: one nnz start per row");
  const auto* outer = out.outerIndexPtr();
  for (int64_t r = 0; r < out.rows(); ++r)
    for (int64_t i = outer[r]; i < outer[r + 1]; ++i) {
      const int64_t at = (*nnz_start)[r] + (i - outer[r]);
      v[i] = Rng::uniform_at(key, static_cast<uint64_t>(at)) >= pf ? v[i] * keep_scale : T(0);
    }
  return out;
}

#define LOCUS_INSTANTIATE(T)                                                        \
  template Var gspmm<T>(Tape<T>&, GraphRef, Var, Reduce, Var);                      \
  template Var gspmm<T>(Tape<T>&, std::shared_ptr<const Csr>, Var, Reduce);         \
  template Var spmm<T>(Tape<T>&, std::shared_ptr<const SpMatT<T>>, Var);           \
  template Var halo_extend<T>(Tape<T>&, const Csr&, Var);                           \
  template SpMatT<T> sparse_dropout<T>(const SpMatT<T>&, double, uint64_t, const std::vector<int64_t>*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::ops
