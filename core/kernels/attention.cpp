#include "core/kernels/attention.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/row_ops.hpp"
#include "core/tensor.hpp"

namespace locus::kernels {

namespace {

// Work is Σ_b len_b² · H · d multiply-adds, compared with kParallelWork (row_ops.hpp).

template <class T>
using CStrided = Eigen::Map<const MatT<T>, 0, Eigen::OuterStride<>>;
template <class T>
using Strided = Eigen::Map<MatT<T>, 0, Eigen::OuterStride<>>;
template <class T>
using RowArr = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;
template <class T>
using CRowArr = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;

// One tile of consecutive rows of a block: rows [start + r0, start + r0 + min(tile, len − r0)).
struct Tile {
  int64_t start;  // first node of the block
  int64_t len;    // block length
  int64_t r0;     // first row of the tile, relative to the block
};

// The tiles of every block, blocks in order (a zero-length block has none). O(N / tile + blocks).
std::vector<Tile> make_tiles(const Dense& g, int64_t tile) {
  std::vector<Tile> tiles;
  for (int64_t b = 0; b < g.num_blocks(); ++b)
    for (int64_t r0 = 0; r0 < g.block_len(b); r0 += tile) tiles.push_back({g.offsets[b], g.block_len(b), r0});
  return tiles;
}

// The longest block: tile buffers never need more rows than it has.
int64_t max_block_len(const Dense& g) {
  int64_t m = 0;
  for (int64_t b = 0; b < g.num_blocks(); ++b) m = std::max(m, g.block_len(b));
  return m;
}

// Multiply-adds of one score/value product over all blocks and heads (for the parallel threshold).
int64_t work(const Dense& g, int64_t heads, int64_t dim) {
  int64_t w = 0;
  for (int64_t b = 0; b < g.num_blocks(); ++b) w += g.block_len(b) * g.block_len(b);
  return (g.causal ? w / 2 : w) * heads * dim;
}

// Number of valid entries of a tile row, for query row qi and key tile [c0, c0 + kc) (both
// relative to the block): all kc, or the keys ≤ qi when causal.
inline int64_t valid_keys(bool causal, int64_t qi, int64_t c0, int64_t kc) {
  return causal ? std::clamp<int64_t>(qi - c0 + 1, 0, kc) : kc;
}

}  // namespace

template <class T>
void dense_attention_forward(const Dense& g, const T* q, const T* k, const T* v, int64_t heads, int64_t dim,
                             T scale, T clamp, T* out, T* lse) {
  constexpr int64_t BQ = kAttnQueryTile, BK = kAttnKeyTile;
  const int64_t hd = heads * dim;
  // Tile buffer sizes: the tile sizes, or the longest block when shorter (short sentences).
  const int64_t bq = std::min(BQ, max_block_len(g)), bk = std::min(BK, max_block_len(g));
  const bool causal = g.causal, use_clamp = clamp > T(0);
  const std::vector<Tile> tiles = make_tiles(g, BQ);
  const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
  const bool parallel = work(g, heads, dim) >= kParallelWork;
#pragma omp parallel if (parallel)
  {
    // Per-thread tiles: scaled queries, scores/probabilities, output accumulator, running
    // max m and sum l of each query row.
    MatT<T> qs(bq, dim), s(bq, bk), acc(bq, dim);
    std::vector<T> m(bq), l(bq);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      const Tile& tl = tiles[task / heads];
      const int64_t h = task % heads;
      const int64_t qr = std::min(BQ, tl.len - tl.r0), row0 = tl.start + tl.r0;
      auto qsb = qs.topRows(qr);
      qsb.noalias() = scale * CStrided<T>(q + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
      auto accb = acc.topRows(qr);
      accb.setZero();
      std::fill(m.begin(), m.end(), -std::numeric_limits<T>::infinity());
      std::fill(l.begin(), l.end(), T(0));
      const int64_t kend = causal ? tl.r0 + qr : tl.len;
      for (int64_t c0 = 0; c0 < kend; c0 += BK) {
        const int64_t kc = std::min(BK, kend - c0);
        CStrided<T> kb(k + (tl.start + c0) * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
        CStrided<T> vb(v + (tl.start + c0) * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
        auto sb = s.topLeftCorner(qr, kc);
        sb.noalias() = qsb * kb.transpose();  // s_ij = scale · <q_i, k_j>
        for (int64_t i = 0; i < qr; ++i) {
          T* row = s.data() + i * bk;
          const int64_t nv = valid_keys(causal, tl.r0 + i, c0, kc);
          std::fill(row + nv, row + kc, T(0));  // masked (causal) keys get probability 0
          if (nv == 0) continue;
          RowArr<T> r(row, nv);
          if (use_clamp) r = r.max(-clamp).min(clamp);
          // Online softmax: new max, rescale the old sum and accumulator by e^(m_old − m_new).
          const T mx = std::max(m[i], r.maxCoeff());
          const T alpha = std::exp(m[i] - mx);  // 0 on the first tile (m = −∞)
          r = (r - mx).exp();
          l[i] = l[i] * alpha + r.sum();
          if (alpha != T(1)) acc.row(i) *= alpha;
          m[i] = mx;
        }
        accb.noalias() += sb * vb;  // acc_i += Σ_j p_ij v_j
      }
      Strided<T> ob(out + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
      for (int64_t i = 0; i < qr; ++i) {
        ob.row(i) = acc.row(i) * (T(1) / l[i]);
        lse[(row0 + i) * heads + h] = m[i] + std::log(l[i]);
      }
    }
  }
}

template <class T>
void dense_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* out, const T* dout,
                              const T* lse, int64_t heads, int64_t dim, T scale, T clamp, T* dq, T* dk, T* dv) {
  constexpr int64_t BQ = kAttnQueryTile, BK = kAttnKeyTile;
  const int64_t n = g.num_nodes(), hd = heads * dim;
  const int64_t bq = std::min(BQ, max_block_len(g)), bk = std::min(BK, max_block_len(g));
  const bool causal = g.causal, use_clamp = clamp > T(0);
  const bool parallel = work(g, heads, dim) >= kParallelWork;
  if (n == 0 || (!dq && !dk && !dv)) return;

  // D_i = <dO_i, O_i> per row and head: [N, H].
  std::vector<T> delta(n * heads);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t off = i * hd + h * dim;
      delta[i * heads + h] = CRowArr<T>(dout + off, dim).matrix().dot(CRowArr<T>(out + off, dim).matrix());
    }
  // dS from scores s (raw scale·<q,k>), dP, lse and D over one tile row segment:
  //   p = exp(clamp(s) − lse), ds = p ∘ (dP − D) ∘ [|s| < c]   (the clamp passes no gradient outside ±c)
  auto softmax_grad = [&](auto s_seg, auto dp_seg, auto lse_seg, auto delta_seg, auto p_out, auto ds_out) {
    if (use_clamp) {
      p_out = (s_seg.max(-clamp).min(clamp) - lse_seg).exp();
      ds_out = p_out * (dp_seg - delta_seg) * (s_seg.abs() < clamp).template cast<T>();
    } else {
      p_out = (s_seg - lse_seg).exp();
      ds_out = p_out * (dp_seg - delta_seg);
    }
  };

  // Pass 1: dq, one task per (query tile, head); it owns its dq rows.
  if (dq) {
    const std::vector<Tile> tiles = make_tiles(g, BQ);
    const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
#pragma omp parallel if (parallel)
    {
      MatT<T> qs(bq, dim), s(bq, bk), p(bq, bk), dp(bq, bk), acc(bq, dim);
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < ntasks; ++task) {
        const Tile& tl = tiles[task / heads];
        const int64_t h = task % heads;
        const int64_t qr = std::min(BQ, tl.len - tl.r0), row0 = tl.start + tl.r0;
        auto qsb = qs.topRows(qr);
        qsb.noalias() = scale * CStrided<T>(q + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
        CStrided<T> dob(dout + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
        auto accb = acc.topRows(qr);
        accb.setZero();
        const int64_t kend = causal ? tl.r0 + qr : tl.len;
        for (int64_t c0 = 0; c0 < kend; c0 += BK) {
          const int64_t kc = std::min(BK, kend - c0);
          CStrided<T> kb(k + (tl.start + c0) * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
          CStrided<T> vb(v + (tl.start + c0) * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
          s.topLeftCorner(qr, kc).noalias() = qsb * kb.transpose();  // s = scale · Q Kᵀ
          dp.topLeftCorner(qr, kc).noalias() = dob * vb.transpose();  // dP = dO Vᵀ
          for (int64_t i = 0; i < qr; ++i) {
            const int64_t nv = valid_keys(causal, tl.r0 + i, c0, kc);
            T* dsrow = dp.data() + i * bk;  // dS overwrites dP in place
            if (nv > 0) {
              const T li = lse[(row0 + i) * heads + h], di = delta[(row0 + i) * heads + h];
              softmax_grad(RowArr<T>(s.data() + i * bk, nv), RowArr<T>(dsrow, nv), li, di,
                           RowArr<T>(p.data() + i * bk, nv), RowArr<T>(dsrow, nv));
            }
            std::fill(dsrow + nv, dsrow + kc, T(0));
          }
          accb.noalias() += dp.topLeftCorner(qr, kc) * kb;  // Σ_j dS_ij k_j
        }
        // dq_i += scale · Σ_j dS_ij k_j
        Strided<T>(dq + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd)) += scale * accb;
      }
    }
  }

  // Pass 2: dk and dv, one task per (key tile, head); it owns its dk and dv rows. Scores are
  // recomputed transposed (rows are keys), so every product is on row-major tiles.
  if (dk || dv) {
    const std::vector<Tile> tiles = make_tiles(g, BK);
    const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
#pragma omp parallel if (parallel)
    {
      MatT<T> ks(bk, dim), st(bk, bq), pt(bk, bq), dpt(bk, bq), dk_acc(bk, dim), dv_acc(bk, dim);
      std::vector<T> lse_t(bq), delta_t(bq);
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < ntasks; ++task) {
        const Tile& tl = tiles[task / heads];
        const int64_t h = task % heads;
        const int64_t c0 = tl.r0, kc = std::min(BK, tl.len - c0), krow0 = tl.start + c0;
        auto ksb = ks.topRows(kc);
        ksb.noalias() = scale * CStrided<T>(k + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
        CStrided<T> vb(v + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd));
        auto dkb = dk_acc.topRows(kc), dvb = dv_acc.topRows(kc);
        dkb.setZero();
        dvb.setZero();
        // Causal: only queries i ≥ the tile's first key see it.
        for (int64_t r0 = causal ? c0 : 0; r0 < tl.len; r0 += BQ) {
          const int64_t qr = std::min(BQ, tl.len - r0), row0 = tl.start + r0;
          CStrided<T> qb(q + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
          CStrided<T> dob(dout + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
          for (int64_t i = 0; i < qr; ++i) {
            lse_t[i] = lse[(row0 + i) * heads + h];
            delta_t[i] = delta[(row0 + i) * heads + h];
          }
          st.topLeftCorner(kc, qr).noalias() = ksb * qb.transpose();   // sᵀ = scale · K Qᵀ
          dpt.topLeftCorner(kc, qr).noalias() = vb * dob.transpose();  // dPᵀ = V dOᵀ
          for (int64_t j = 0; j < kc; ++j) {
            // Causal: key c0 + j is seen by queries r0 + i ≥ c0 + j only.
            const int64_t f = causal ? std::clamp<int64_t>(c0 + j - r0, 0, qr) : 0, len = qr - f;
            T* prow = pt.data() + j * bq;
            T* dsrow = dpt.data() + j * bq;  // dSᵀ overwrites dPᵀ in place
            std::fill(prow, prow + f, T(0));
            std::fill(dsrow, dsrow + f, T(0));
            if (len > 0)
              softmax_grad(RowArr<T>(st.data() + j * bq + f, len), RowArr<T>(dsrow + f, len),
                           CRowArr<T>(lse_t.data() + f, len), CRowArr<T>(delta_t.data() + f, len),
                           RowArr<T>(prow + f, len), RowArr<T>(dsrow + f, len));
          }
          dvb.noalias() += pt.topLeftCorner(kc, qr) * dob;  // Σ_i p_ij dO_i
          dkb.noalias() += dpt.topLeftCorner(kc, qr) * qb;  // Σ_i dS_ij q_i
        }
        // dk_j += scale · Σ_i dS_ij q_i;  dv_j += Σ_i p_ij dO_i
        if (dk) Strided<T>(dk + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd)) += scale * dkb;
        if (dv) Strided<T>(dv + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd)) += dvb;
      }
    }
  }
}

#define LOCUS_INSTANTIATE(T)                                                                                 \
  template void dense_attention_forward<T>(const Dense&, const T*, const T*, const T*, int64_t, int64_t, T, T, \
                                           T*, T*);                                                          \
  template void dense_attention_backward<T>(const Dense&, const T*, const T*, const T*, const T*, const T*,   \
                                            const T*, int64_t, int64_t, T, T, T*, T*, T*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
