#include "core/kernels/attention.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/kernels/row_ops.hpp"
#include "core/rng.hpp"
#include "core/tensor.hpp"

namespace locus {

int relative_bucket(int64_t rel, bool bidirectional, int num_buckets, int max_distance) {
  int base = 0;
  int64_t r = rel;
  if (bidirectional) {
    num_buckets /= 2;
    if (rel > 0) base = num_buckets;
    r = rel < 0 ? -rel : rel;
  } else {
    r = rel < 0 ? -rel : 0;
  }
  // r ≥ 0 now; the first max_exact offsets are exact, the rest logarithmic up to max_distance.
  const int max_exact = num_buckets / 2;
  if (r < max_exact) return base + static_cast<int>(r);
  const double f = std::log(static_cast<double>(r) / max_exact) /
                   std::log(static_cast<double>(max_distance) / max_exact) * (num_buckets - max_exact);
  // Clamp before the conversion (huge offsets; NaN or negative only for arguments that the op
  // rejects), then cap at the side's last bucket.
  const double cap = num_buckets - max_exact;
  const int large = max_exact + static_cast<int>(f >= 0 ? std::min(f, cap) : 0.0);
  return base + std::min(large, num_buckets - 1);
}

namespace kernels {

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

// Bias of every in-block offset j − i of every head, for blocks of up to len nodes: width
// w = 2·len − 1, entry [h·w + (j − i) + len − 1] = bias[h][bucket(j − i)]. A query row's bias
// over consecutive keys is then a contiguous slice. `rev` holds the same rows reversed (entry
// [h·w + (i − j) + len − 1]), for the transposed tiles of the dk/dv pass. O(H · len).
template <class T>
struct BiasTable {
  int64_t len = 0, w = 0;
  std::vector<T> fwd, rev;
  std::vector<int> bucket;  // [w]: bucket of offset x − (len − 1)

  BiasTable(const Dense& g, const AttentionOptions<T>& opt, int64_t heads, int64_t maxlen) {
    if (!opt.rel_bias || maxlen == 0) return;
    len = maxlen;
    w = 2 * len - 1;
    bucket.resize(w);
    for (int64_t x = 0; x < w; ++x)
      bucket[x] = relative_bucket(x - (len - 1), !g.causal, opt.num_buckets, opt.max_distance);
    fwd.resize(heads * w);
    rev.resize(heads * w);
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t x = 0; x < w; ++x) {
        fwd[h * w + x] = opt.rel_bias[h * opt.num_buckets + bucket[x]];
        rev[h * w + (w - 1 - x)] = fwd[h * w + x];
      }
  }
  bool active() const { return w > 0; }
  // Bias of (query pos qi, keys from pos c0) of head h; of (key pos kj, queries from pos r0).
  const T* row(int64_t h, int64_t qi, int64_t c0) const { return fwd.data() + h * w + (c0 - qi + len - 1); }
  const T* col(int64_t h, int64_t kj, int64_t r0) const { return rev.data() + h * w + (r0 - kj + len - 1); }
};

// Dropout of a row of weights: the counter of entry t is c0 + t · stride (see dropout_counter);
// keeps an entry when Rng::uniform_at(key, counter) ≥ pf (the test of ops::dropout).
template <class T>
inline void dropout_row(T* row, int64_t len, uint64_t key, uint64_t c0, uint64_t stride, float pf, T keep) {
  for (int64_t t = 0; t < len; ++t)
    row[t] = Rng::uniform_at(key, c0 + static_cast<uint64_t>(t) * stride) >= pf ? row[t] * keep : T(0);
}
// The multipliers z of a row (keep or 0) into z.
template <class T>
inline void dropout_mult(T* z, int64_t len, uint64_t key, uint64_t c0, uint64_t stride, float pf, T keep) {
  for (int64_t t = 0; t < len; ++t)
    z[t] = Rng::uniform_at(key, c0 + static_cast<uint64_t>(t) * stride) >= pf ? keep : T(0);
}

}  // namespace


template <class T>
void dense_attention_forward(const Dense& g, const T* q, const T* k, const T* v, int64_t heads, int64_t dim,
                             const AttentionOptions<T>& opt, T* out, T* lse) {
  constexpr int64_t BQ = kAttnQueryTile, BK = kAttnKeyTile;
  const int64_t n = g.num_nodes(), hd = heads * dim, maxlen = max_block_len(g);
  // Tile buffer sizes: the tile sizes, or the longest block when shorter (short sentences).
  const int64_t bq = std::min(BQ, maxlen), bk = std::min(BK, maxlen);
  const T scale = opt.scale, clamp = opt.clamp;
  const bool causal = g.causal, use_clamp = clamp > T(0), l2 = opt.norm == AttnNorm::L2;
  const BiasTable<T> bias(g, opt, heads, maxlen);
  const bool drop = opt.dropout > 0;
  const float pf = static_cast<float>(opt.dropout);
  const T keep = static_cast<T>(1.0 / (1.0 - opt.dropout));
  const std::vector<Tile> tiles = make_tiles(g, BQ);
  const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
  const bool parallel = work(g, heads, dim) >= kParallelWork;
#pragma omp parallel if (parallel)
  {
    // Per-thread tiles: scaled queries, scores/weights, output accumulator, running max m and
    // running sum l (Σ exp(s − m), or Σ exp(2(s − m)) for l2) of each query row.
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
          std::fill(row + nv, row + kc, T(0));  // masked (causal) keys get weight 0
          if (nv == 0) continue;
          RowArr<T> r(row, nv);
          if (use_clamp) r = r.max(-clamp).min(clamp);
          if (bias.active()) r += CRowArr<T>(bias.row(h, tl.r0 + i, c0), nv);
          // Online normaliser: new max, rescale the old sum and accumulator by e^(m_old − m_new)
          // (the l2 sum of squares by its square).
          const T mx = std::max(m[i], r.maxCoeff());
          const T alpha = std::exp(m[i] - mx);  // 0 on the first tile (m = −∞)
          r = (r - mx).exp();
          l[i] = l2 ? l[i] * (alpha * alpha) + r.square().sum() : l[i] * alpha + r.sum();
          // Dropout after the normaliser's sum: it drops normalised weights.
          if (drop)
            dropout_row(row, nv, opt.key, dropout_counter(row0 + i, tl.start + c0, h, n, heads), heads, pf, keep);
          if (alpha != T(1)) acc.row(i) *= alpha;
          m[i] = mx;
        }
        accb.noalias() += sb * vb;  // acc_i += Σ_j z_ij e^(s_ij − m_i) v_j
      }
      Strided<T> ob(out + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
      for (int64_t i = 0; i < qr; ++i) {
        if (l2) {
          ob.row(i) = acc.row(i) * (T(1) / std::sqrt(l[i]));
          lse[(row0 + i) * heads + h] = m[i] + T(0.5) * std::log(l[i]);
        } else {
          ob.row(i) = acc.row(i) * (T(1) / l[i]);
          lse[(row0 + i) * heads + h] = m[i] + std::log(l[i]);
        }
      }
    }
  }
}

template <class T>
void dense_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* out, const T* dout,
                              const T* lse, int64_t heads, int64_t dim, const AttentionOptions<T>& opt, T* dq,
                              T* dk, T* dv, T* dbias) {
  constexpr int64_t BQ = kAttnQueryTile, BK = kAttnKeyTile;
  const int64_t n = g.num_nodes(), hd = heads * dim, maxlen = max_block_len(g);
  const int64_t bq = std::min(BQ, maxlen), bk = std::min(BK, maxlen);
  const T scale = opt.scale, clamp = opt.clamp;
  const bool causal = g.causal, use_clamp = clamp > T(0), l2 = opt.norm == AttnNorm::L2;
  const bool parallel = work(g, heads, dim) >= kParallelWork;
  if (!opt.rel_bias) dbias = nullptr;
  if (n == 0 || (!dq && !dk && !dv && !dbias)) return;
  const BiasTable<T> bias(g, opt, heads, maxlen);
  const bool drop = opt.dropout > 0;
  const float pf = static_cast<float>(opt.dropout);
  const T keep = static_cast<T>(1.0 / (1.0 - opt.dropout));

  // D_i = Σ_j a_ij dA_ij = <dO_i, O_i> per row and head: [N, H] (O includes the dropout).
  std::vector<T> delta(n * heads);
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t off = i * hd + h * dim;
      delta[i * heads + h] = CRowArr<T>(dout + off, dim).matrix().dot(CRowArr<T>(out + off, dim).matrix());
    }
  // One row segment of len entries. In: s = scale·<q, k> (raw), gds = G = <dO_i, v_j>, the bias
  // segment (or null), the dropout multipliers z (or null), lse and D (scalars or arrays). Out:
  // p = z ∘ a (for dv), gds = dS ∘ C (for dq, dk), and racc += dS (the bias gradient, or null):
  //   a = exp(clamp(s) + bias − lse), dA = z ∘ G, dS = a ∘ (dA − D) (l2: a ∘ (dA − a ∘ D)).
  auto grad_seg = [&](int64_t len, const T* s, T* gds, T* p, const T* bseg, const T* z, auto lse_seg, auto delta_seg,
                      T* racc) {
    CRowArr<T> sa(s, len);
    RowArr<T> ga(gds, len), pa(p, len);
    if (!use_clamp && !bseg) {
      pa = (sa - lse_seg).exp();
    } else {
      // Two exp expressions in all (few instantiations of Eigen's packet exp: more trip a GCC 12
      // -Wuninitialized false positive in its AVX-512 intrinsics).
      if (use_clamp)
        pa = sa.max(-clamp).min(clamp);
      else
        pa = sa;
      if (bseg) pa += CRowArr<T>(bseg, len);
      pa = (pa - lse_seg).exp();
    }
    if (z) ga *= CRowArr<T>(z, len);
    if (l2)
      ga = pa * (ga - pa * delta_seg);
    else
      ga = pa * (ga - delta_seg);
    if (racc) RowArr<T>(racc, len) += ga;
    if (use_clamp) ga *= (sa.abs() < clamp).template cast<T>();  // the clamp passes no gradient outside ±c
    if (z) pa *= CRowArr<T>(z, len);
  };

  // Pass 1: dq and the bias gradient, one task per (query tile, head); it owns its dq rows and
  // its partial sums of the bias gradient, added in task order at the end (deterministic).
  if (dq || dbias) {
    const std::vector<Tile> tiles = make_tiles(g, BQ);
    const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads, nb = opt.num_buckets;
    std::vector<T> part(dbias ? ntasks * nb : 0);
#pragma omp parallel if (parallel)
    {
      MatT<T> qs(bq, dim), s(bq, bk), p(bq, bk), dp(bq, bk), acc(bq, dim);
      std::vector<T> z(drop ? bk : 0), racc(dbias ? bias.w : 0);  // dS summed by offset j − i (+ len − 1)
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
          dp.topLeftCorner(qr, kc).noalias() = dob * vb.transpose();  // G = dO Vᵀ
          for (int64_t i = 0; i < qr; ++i) {
            const int64_t nv = valid_keys(causal, tl.r0 + i, c0, kc), qi = tl.r0 + i;
            T* dsrow = dp.data() + i * bk;  // dS overwrites G in place
            if (nv > 0) {
              const T li = lse[(row0 + i) * heads + h], di = delta[(row0 + i) * heads + h];
              if (drop)
                dropout_mult(z.data(), nv, opt.key, dropout_counter(row0 + i, tl.start + c0, h, n, heads), heads, pf,
                             keep);
              grad_seg(nv, s.data() + i * bk, dsrow, p.data() + i * bk, bias.active() ? bias.row(h, qi, c0) : nullptr,
                       drop ? z.data() : nullptr, li, di, dbias ? racc.data() + (c0 - qi + bias.len - 1) : nullptr);
            }
            std::fill(dsrow + nv, dsrow + kc, T(0));
          }
          if (dq) accb.noalias() += dp.topLeftCorner(qr, kc) * kb;  // Σ_j dS_ij k_j
        }
        // dq_i += scale · Σ_j dS_ij k_j
        if (dq) Strided<T>(dq + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd)) += scale * accb;
        if (dbias) {
          // Offsets seen by this task: j − i from −(r0 + qr − 1) to kend − 1 − r0. Fold them into
          // the task's buckets in offset order and clear them for the next task.
          T* pt = part.data() + task * nb;
          for (int64_t x = bias.len - 1 - (tl.r0 + qr - 1); x <= bias.len - 1 + kend - 1 - tl.r0; ++x) {
            pt[bias.bucket[x]] += racc[x];
            racc[x] = T(0);
          }
        }
      }
    }
    if (dbias)
      for (int64_t task = 0; task < ntasks; ++task)
        for (int64_t b = 0; b < nb; ++b) dbias[(task % heads) * nb + b] += part[task * nb + b];
  }

  // Pass 2: dk and dv, one task per (key tile, head); it owns its dk and dv rows. Scores are
  // recomputed transposed (rows are keys), so every product is on row-major tiles.
  if (dk || dv) {
    const std::vector<Tile> tiles = make_tiles(g, BK);
    const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
#pragma omp parallel if (parallel)
    {
      MatT<T> ks(bk, dim), st(bk, bq), pt(bk, bq), dpt(bk, bq), dk_acc(bk, dim), dv_acc(bk, dim);
      std::vector<T> lse_t(bq), delta_t(bq), z(drop ? bq : 0);
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
          dpt.topLeftCorner(kc, qr).noalias() = vb * dob.transpose();  // Gᵀ = V dOᵀ
          for (int64_t j = 0; j < kc; ++j) {
            // Causal: key c0 + j is seen by queries r0 + i ≥ c0 + j only.
            const int64_t f = causal ? std::clamp<int64_t>(c0 + j - r0, 0, qr) : 0, len = qr - f;
            T* prow = pt.data() + j * bq;
            T* dsrow = dpt.data() + j * bq;  // dSᵀ overwrites Gᵀ in place
            std::fill(prow, prow + f, T(0));
            std::fill(dsrow, dsrow + f, T(0));
            if (len > 0) {
              if (drop)
                dropout_mult(z.data(), len, opt.key, dropout_counter(row0 + f, krow0 + j, h, n, heads),
                             static_cast<uint64_t>(n * heads), pf, keep);
              grad_seg(len, st.data() + j * bq + f, dsrow + f, prow + f,
                       bias.active() ? bias.col(h, c0 + j, r0 + f) : nullptr, drop ? z.data() : nullptr,
                       CRowArr<T>(lse_t.data() + f, len), CRowArr<T>(delta_t.data() + f, len), nullptr);
            }
          }
          dvb.noalias() += pt.topLeftCorner(kc, qr) * dob;  // Σ_i z_ij a_ij dO_i
          dkb.noalias() += dpt.topLeftCorner(kc, qr) * qb;  // Σ_i dS_ij q_i
        }
        // dk_j += scale · Σ_i dS_ij q_i;  dv_j += Σ_i z_ij a_ij dO_i
        if (dk) Strided<T>(dk + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd)) += scale * dkb;
        if (dv) Strided<T>(dv + krow0 * hd + h * dim, kc, dim, Eigen::OuterStride<>(hd)) += dvb;
      }
    }
  }
}

#define LOCUS_INSTANTIATE(T)                                                                                   \
  template void dense_attention_forward<T>(const Dense&, const T*, const T*, const T*, int64_t, int64_t,         \
                                           const AttentionOptions<T>&, T*, T*);                                \
  template void dense_attention_backward<T>(const Dense&, const T*, const T*, const T*, const T*, const T*,     \
                                            const T*, int64_t, int64_t, const AttentionOptions<T>&, T*, T*, T*, \
                                            T*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace kernels
}  // namespace locus
