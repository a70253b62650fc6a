#include "core/kernels/fft_attention.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <numbers>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/row_ops.hpp"
#include "core/rng.hpp"

namespace locus::kernels {

namespace {

template <class T>
using CStrided = Eigen::Map<const MatT<T>, 0, Eigen::OuterStride<>>;
template <class T>
using Strided = Eigen::Map<MatT<T>, 0, Eigen::OuterStride<>>;

// FFTW's float (fftwf_*) and double (fftw_*) interfaces under one name. Complex arrays are
// interleaved (re, im) T arrays of L/2 + 1 pairs.
template <class T>
struct Fftw;
template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  static Plan plan_r2c(int n, float* in, float* out) {
    return fftwf_plan_dft_r2c_1d(n, in, reinterpret_cast<fftwf_complex*>(out), FFTW_ESTIMATE);
  }
  static Plan plan_c2r(int n, float* in, float* out) {
    return fftwf_plan_dft_c2r_1d(n, reinterpret_cast<fftwf_complex*>(in), out, FFTW_ESTIMATE);
  }
  static void r2c(Plan p, float* in, float* out) { fftwf_execute_dft_r2c(p, in, reinterpret_cast<fftwf_complex*>(out)); }
  static void c2r(Plan p, float* in, float* out) { fftwf_execute_dft_c2r(p, reinterpret_cast<fftwf_complex*>(in), out); }
  static Plan plan_c2c(int n, float* in, float* out, int sign) {
    return fftwf_plan_dft_1d(n, reinterpret_cast<fftwf_complex*>(in), reinterpret_cast<fftwf_complex*>(out), sign,
                             FFTW_ESTIMATE);
  }
  static void c2c(Plan p, float* in, float* out) {
    fftwf_execute_dft(p, reinterpret_cast<fftwf_complex*>(in), reinterpret_cast<fftwf_complex*>(out));
  }
};
template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  static Plan plan_r2c(int n, double* in, double* out) {
    return fftw_plan_dft_r2c_1d(n, in, reinterpret_cast<fftw_complex*>(out), FFTW_ESTIMATE);
  }
  static Plan plan_c2r(int n, double* in, double* out) {
    return fftw_plan_dft_c2r_1d(n, reinterpret_cast<fftw_complex*>(in), out, FFTW_ESTIMATE);
  }
  static void r2c(Plan p, double* in, double* out) { fftw_execute_dft_r2c(p, in, reinterpret_cast<fftw_complex*>(out)); }
  static void c2r(Plan p, double* in, double* out) { fftw_execute_dft_c2r(p, reinterpret_cast<fftw_complex*>(in), out); }
  static Plan plan_c2c(int n, double* in, double* out, int sign) {
    return fftw_plan_dft_1d(n, reinterpret_cast<fftw_complex*>(in), reinterpret_cast<fftw_complex*>(out), sign,
                            FFTW_ESTIMATE);
  }
  static void c2c(Plan p, double* in, double* out) {
    fftw_execute_dft(p, reinterpret_cast<fftw_complex*>(in), reinterpret_cast<fftw_complex*>(out));
  }
};

// A 64-byte aligned array. Every array handed to FFTW (at planning and at execution) is one of
// these, so a plan always runs on buffers of the alignment it was made for (FFTW's requirement
// for the new-array execute functions) and picks the same SIMD code path: determinism.
template <class T>
class Buffer {
 public:
  explicit Buffer(int64_t n) {
    const size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T) + 63) / 64 * 64;
    p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p_) throw std::bad_alloc();
  }
  ~Buffer() { std::free(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const { return p_; }

 private:
  T* p_;
};

// The transform of one block length. Packed: two real columns a, b travel as a + i·b through one
// complex FFT of length L (spectrum: L complex numbers); the product with the real kernel's
// spectrum keeps them apart (IFFT(ĉ·FFT(a + i·b)) = c⊛a + i·c⊛b), so column g of the result is
// the real (g = 0) or imaginary (g = 1) part. Real: one column per real-to-complex FFT (spectrum
// L/2 + 1 complex numbers). In both, a column's time samples sit `stride` T values apart.
template <class T>
struct Fft {
  int64_t L = 0, nspec = 0, stride = 1;
  typename Fftw<T>::Plan fwd{}, inv{};

  bool packed() const { return stride == 2; }
  int64_t group() const { return stride; }  // columns per transform
  void forward(T* time, T* spec) const {
    if (packed()) Fftw<T>::c2c(fwd, time, spec);
    else Fftw<T>::r2c(fwd, time, spec);
  }
  // Unnormalised (L × the inverse); overwrites spec in the real case (FFTW's c2r).
  void inverse(T* spec, T* time) const {
    if (packed()) Fftw<T>::c2c(inv, spec, time);
    else Fftw<T>::c2r(inv, spec, time);
  }
};

// FFTW planning is not thread-safe (only execution is): plans are made under one mutex, once per
// (length, packing, scalar type), with FFTW_ESTIMATE (no timing, so the same plan every run), and
// kept for the life of the process (a few per distinct block length).
std::mutex& plan_mutex() {
  static std::mutex m;
  return m;
}

template <class T>
Fft<T> fft_for(int64_t L, bool packed) {
  // Never destroyed (a static map would free its nodes at exit and leave the plans unreachable,
  // which LeakSanitizer reports); plans live for the process.
  static auto* cache = new std::map<std::pair<int64_t, bool>, Fft<T>>();
  std::lock_guard<std::mutex> lock(plan_mutex());
  if (auto it = cache->find({L, packed}); it != cache->end()) return it->second;
  Fft<T> f;
  f.L = L;
  f.stride = packed ? 2 : 1;
  f.nspec = packed ? L : L / 2 + 1;
  Buffer<T> time(2 * L), spec(2 * L);
  const int n = static_cast<int>(L);
  if (packed) {
    f.fwd = Fftw<T>::plan_c2c(n, time.get(), spec.get(), FFTW_FORWARD);
    f.inv = Fftw<T>::plan_c2c(n, spec.get(), time.get(), FFTW_BACKWARD);
  } else {
    f.fwd = Fftw<T>::plan_r2c(n, time.get(), spec.get());
    f.inv = Fftw<T>::plan_c2r(n, spec.get(), time.get());
  }
  check(f.fwd && f.inv, "fft_attention: FFTW could not plan a transform of length " + std::to_string(L));
  cache->emplace(std::make_pair(L, packed), f);
  return f;
}

// x[k] *= y[k] (conj_y: *= conj(y[k])) over nc interleaved complex numbers.
template <class T, bool conj_y>
inline void cmul(T* __restrict x, const T* __restrict y, int64_t nc) {
#pragma omp simd
  for (int64_t k = 0; k < nc; ++k) {
    const T a = x[2 * k], b = x[2 * k + 1], c = y[2 * k], d = conj_y ? -y[2 * k + 1] : y[2 * k + 1];
    x[2 * k] = a * c - b * d;
    x[2 * k + 1] = a * d + b * c;
  }
}

// z[k] = x[k] · y[k] (conj_y: x[k] · conj(y[k])).
template <class T, bool conj_y>
inline void cmul_to(const T* __restrict x, const T* __restrict y, T* __restrict z, int64_t nc) {
#pragma omp simd
  for (int64_t k = 0; k < nc; ++k) {
    const T a = x[2 * k], b = x[2 * k + 1], c = y[2 * k], d = conj_y ? -y[2 * k + 1] : y[2 * k + 1];
    z[2 * k] = a * c - b * d;
    z[2 * k + 1] = a * d + b * c;
  }
}

// s[k] += x[k] · conj(y[k]).
template <class T>
inline void cmul_conj_add(const T* __restrict x, const T* __restrict y, T* __restrict s, int64_t nc) {
#pragma omp simd
  for (int64_t k = 0; k < nc; ++k) {
    const T a = x[2 * k], b = x[2 * k + 1], c = y[2 * k], d = y[2 * k + 1];
    s[2 * k] += a * c + b * d;
    s[2 * k + 1] += b * c - a * d;
  }
}

// One zero-padded transform input: column 0 = x0 ∘ y and (packed) column 1 = x1 ∘ y (x1 null:
// zeros); y null means ones. time holds S·L values (S = stride); samples ≥ len are zero.
template <int S, class T>
inline void load_cols(const T* __restrict x0, const T* __restrict x1, const T* __restrict y, T* __restrict time,
                      int64_t len, int64_t L) {
  if (S == 2 && x1) {  // one loop writing both lanes: vectorises into interleaving stores
    if (y) {
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) {
        time[2 * i] = x0[i] * y[i];
        time[2 * i + 1] = x1[i] * y[i];
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) {
        time[2 * i] = x0[i];
        time[2 * i + 1] = x1[i];
      }
    }
  } else if (S == 2) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) {
      time[2 * i] = y ? x0[i] * y[i] : x0[i];
      time[2 * i + 1] = T(0);
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) time[i] = y ? x0[i] * y[i] : x0[i];
  }
  std::fill(time + S * len, time + S * L, T(0));
}

// acc[i] += a0[i]·col0[i] + a1[i]·col1[i] (a1 null: no second column) over a transform output.
template <int S, class T>
inline void gather_add(const T* __restrict a0, const T* __restrict a1, const T* __restrict time, T* __restrict acc,
                       int64_t len) {
  if (S == 2 && a1) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) acc[i] += a0[i] * time[2 * i] + a1[i] * time[2 * i + 1];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) acc[i] += a0[i] * time[S * i];
  }
}

// out0[i] += y[i]·col0[i], out1[i] += y[i]·col1[i] (out1 null: skipped; y null: ones).
template <int S, class T>
inline void scatter_add(const T* __restrict y, const T* __restrict time, T* __restrict out0, T* __restrict out1,
                        int64_t len) {
  if (S == 2 && out1) {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) {
      const T yi = y ? y[i] : T(1);
      out0[i] += yi * time[2 * i];
      out1[i] += yi * time[2 * i + 1];
    }
  } else {
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) out0[i] += (y ? y[i] : T(1)) * time[S * i];
  }
}

// One non-empty block: its nodes [start, start + len), its transform, and the offset of its
// spectrum among the per-head spectra (in complex numbers).
template <class T>
struct Block {
  int64_t start, len;
  Fft<T> fft;
  int64_t spec;
};

// Calls f(std::integral_constant<int, S>{}) with S = the block transform's stride (1 or 2).
template <class T, class F>
inline void with_stride(const Fft<T>& fft, F&& f) {
  if (fft.packed()) f(std::integral_constant<int, 2>{});
  else f(std::integral_constant<int, 1>{});
}

// Rows of the feature map per Eigen product (bounds the temporaries to kRowChunk × m).
constexpr int64_t kRowChunk = 256;
// Rows per tile when converting between [N, H·d] rows and the transposed [H][·][N] columns.
constexpr int64_t kRowTile = 64;
// Query rows per task of the quadratic path.
constexpr int64_t kQuadTile = 128;

// Everything forward and backward share: the block list, plans, features and FFT(c).
template <class T>
struct Setup {
  int64_t n = 0, heads = 0, dim = 0, m = 0, radius = 0, spec = 0;
  int64_t max_time = 1, max_spec = 1;  // per-thread buffer sizes (T values): time samples, spectrum
  T scale = 1;  // d^(−1/4), applied to q and k
  FftFeatureMap fmap{};
  const T* w = nullptr;
  std::vector<Block<T>> blocks;
  std::vector<T> qf, kf;        // features, transposed: [H][m][N] (node i of feature mm of head h at (h·m + mm)·N + i)
  bool parallel = false;

  Setup(const Dense& g, int64_t heads_, int64_t dim_, int64_t radius_, const FftAttentionOptions& opt, const T* w_)
      : n(g.num_nodes()), heads(heads_), dim(dim_), m(fft_attention_num_features(opt, dim_)), radius(radius_),
        scale(static_cast<T>(std::pow(static_cast<double>(dim_), -0.25))), fmap(opt.feature_map), w(w_) {
    double work = 0;
    for (int64_t b = 0; b < g.num_blocks(); ++b) {
      const int64_t len = g.block_len(b);
      if (len == 0) continue;
      const int64_t L = fft_fast_length(2 * len - 1);
      blocks.push_back({g.offsets[b], len, fft_for<T>(L, L <= opt.pack_max_length), spec});
      const Fft<T>& f = blocks.back().fft;
      spec += f.nspec;
      max_time = std::max(max_time, f.stride * L);
      max_spec = std::max(max_spec, 2 * f.nspec);
      work += static_cast<double>(L) * std::log2(static_cast<double>(L) + 1) * static_cast<double>(m * (dim + 1));
    }
    parallel = work * static_cast<double>(heads) >= static_cast<double>(kParallelWork);
  }

  int64_t nb() const { return static_cast<int64_t>(blocks.size()); }

  // Stabilised c'_r = exp(b_h(r) − max) for r ∈ [−(len−1), len−1] of one block and head, at
  // c[(len − 1) + r]. The max runs over the table columns the block uses.
  void relative_weights(const T* bias, int64_t h, int64_t len, T* c) const {
    const T* row = bias + h * (2 * radius + 1);
    const int64_t reach = std::min(len - 1, radius);
    T mx = -std::numeric_limits<T>::infinity();
    for (int64_t col = radius - reach; col <= radius + reach; ++col) mx = std::max(mx, row[col]);
    for (int64_t r = -(len - 1); r <= len - 1; ++r)
      c[len - 1 + r] = std::exp(row[radius + std::clamp(r, -radius, radius)] - mx);
  }

  // Features of the rows of q and k for every head and block into qf, kf ([H][m][N], see the
  // member). PositiveRandom, with exponents lq_if, lk_jf (w_fᵀx̃ − |x̃|²/2) and the block's key column
  // maxima cm_f:  Kf_jf = exp(lk_jf − cm_f)/√m,  Qf_if = exp(lq_if + cm_f − M_i)/√m,
  // M_i = max_f (lq_if + cm_f). Then Qf_if·Kf_jf = exp(lq_if + lk_jf − M_i)/m: the per-query constant
  // cancels in out, nothing exceeds 1/√m, and every key column peaks at exactly 1/√m, so no
  // column is tiny next to the one it shares a packed FFT with (rounding is relative to the larger).
  void features(const T* q, const T* k, std::vector<T>& qf, std::vector<T>& kf) const {
    qf.resize(heads * m * n);
    kf.resize(heads * m * n);
    const int64_t hd = heads * dim, ntasks = nb() * heads;
    const T inv_sqrt_m = T(1) / std::sqrt(static_cast<T>(m));
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t task = 0; task < ntasks; ++task) {
      const Block<T>& bl = blocks[task / heads];
      const int64_t h = task % heads;
      T* qh = qf.data() + h * m * n;
      T* kh = kf.data() + h * m * n;
      if (fmap == FftFeatureMap::EluPlusOne) {
        for (int64_t i = 0; i < bl.len; ++i) {
          const int64_t off = (bl.start + i) * hd + h * dim;
          for (int64_t c = 0; c < dim; ++c) {
            const T sq = scale * q[off + c], sk = scale * k[off + c];
            qh[c * n + bl.start + i] = sq > T(0) ? sq + T(1) : std::exp(sq);
            kh[c * n + bl.start + i] = sk > T(0) ? sk + T(1) : std::exp(sk);
          }
        }
        continue;
      }
      const Eigen::Map<const MatT<T>> W(w, m, dim);
      MatT<T> lg;
      // Exponents of the rows r0.. of x, [rc, m].
      auto exponents = [&](const T* x, int64_t r0, int64_t rc) {
        const MatT<T> xs = scale * CStrided<T>(x + (bl.start + r0) * hd + h * dim, rc, dim, Eigen::OuterStride<>(hd));
        lg.noalias() = xs * W.transpose();
        lg.colwise() -= T(0.5) * xs.rowwise().squaredNorm();
      };
      Eigen::Array<T, 1, Eigen::Dynamic> cm = Eigen::Array<T, 1, Eigen::Dynamic>::Constant(
          m, -std::numeric_limits<T>::infinity());
      for (int64_t r0 = 0; r0 < bl.len; r0 += kRowChunk) {  // keys: raw exponents, column maxima
        const int64_t rc = std::min(kRowChunk, bl.len - r0);
        exponents(k, r0, rc);
        cm = cm.max(lg.colwise().maxCoeff().array());
        for (int64_t c = 0; c < m; ++c)  // contiguous stores along each feature column
          for (int64_t i = 0; i < rc; ++i) kh[c * n + bl.start + r0 + i] = lg(i, c);
      }
      for (int64_t c = 0; c < m; ++c) {  // then exp(· − cm_f)/√m in place
        T* col = kh + c * n + bl.start;
        for (int64_t i = 0; i < bl.len; ++i) col[i] = std::exp(col[i] - cm[c]) * inv_sqrt_m;
      }
      for (int64_t r0 = 0; r0 < bl.len; r0 += kRowChunk) {  // queries
        const int64_t rc = std::min(kRowChunk, bl.len - r0);
        exponents(q, r0, rc);
        lg.array().rowwise() += cm;
        lg.colwise() -= lg.rowwise().maxCoeff();
        lg = lg.array().exp() * inv_sqrt_m;
        for (int64_t c = 0; c < m; ++c)
          for (int64_t i = 0; i < rc; ++i) qh[c * n + bl.start + r0 + i] = lg(i, c);
      }
    }
  }

  // dx += scale · ∂φ(scale·x)/∂x ᵀ · df for x's rows, from df and f ([H][m][N]). PositiveRandom:
  // ∂φ_m/∂x̃ = φ_m (w_m − x̃), so dx̃ = (df ∘ φ) W − x̃ · Σ_m (df ∘ φ)_m; EluPlusOne: dx̃ = df ∘ φ' with
  // φ' = 1 for x̃ > 0, else e^x̃ = φ. The stabilisers are constants (the output does not depend on them).
  void features_backward(const T* x, const std::vector<T>& f, const std::vector<T>& df, T* dx) const {
    const int64_t hd = heads * dim, ntasks = nb() * heads;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int64_t task = 0; task < ntasks; ++task) {
      const Block<T>& bl = blocks[task / heads];
      const int64_t h = task % heads;
      const T* fh = f.data() + h * m * n;
      const T* dfh = df.data() + h * m * n;
      if (fmap == FftFeatureMap::EluPlusOne) {
        for (int64_t i = 0; i < bl.len; ++i) {
          const int64_t node = bl.start + i;
          const T* xi = x + node * hd + h * dim;
          T* dxi = dx + node * hd + h * dim;
          for (int64_t c = 0; c < dim; ++c) {
            const T s = scale * xi[c];
            dxi[c] += scale * dfh[c * n + node] * (s > T(0) ? T(1) : fh[c * n + node]);
          }
        }
        continue;
      }
      const Eigen::Map<const MatT<T>> W(w, m, dim);
      MatT<T> gm, dxs;
      for (int64_t r0 = 0; r0 < bl.len; r0 += kRowChunk) {
        const int64_t rc = std::min(kRowChunk, bl.len - r0), row0 = bl.start + r0;
        gm.resize(rc, m);  // G = df ∘ φ
        for (int64_t c = 0; c < m; ++c)
          for (int64_t i = 0; i < rc; ++i) gm(i, c) = dfh[c * n + row0 + i] * fh[c * n + row0 + i];
        const CStrided<T> xr(x + row0 * hd + h * dim, rc, dim, Eigen::OuterStride<>(hd));
        dxs.noalias() = gm * W;
        dxs -= (scale * xr.array()).matrix().cwiseProduct(gm.rowwise().sum().replicate(1, dim));
        Strided<T>(dx + row0 * hd + h * dim, rc, dim, Eigen::OuterStride<>(hd)) += scale * dxs;
      }
    }
  }

  // FFT(c') / L per head and block: [H][spec] complex numbers (the 1/L of the unnormalised
  // inverse FFT folded in). c'_r sits at index r mod L of the circular kernel (column 0 of a
  // transform input; column 1, when packed, is zero).
  std::vector<T> c_spectra(const T* bias) const {
    std::vector<T> chat(2 * heads * spec);
    const int64_t ntasks = nb() * heads;
#pragma omp parallel if (parallel)
    {
      Buffer<T> time(max_time), cx(max_spec);
      std::vector<T> c;
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < ntasks; ++task) {
        const int64_t b = task / heads, h = task % heads;
        const Block<T>& bl = blocks[b];
        const int64_t L = bl.fft.L, S = bl.fft.stride;
        c.resize(2 * bl.len - 1);
        relative_weights(bias, h, bl.len, c.data());
        T* r = time.get();
        std::fill(r, r + S * L, T(0));
        for (int64_t i = 0; i < bl.len; ++i) r[S * i] = c[bl.len - 1 + i];            // r = i ≥ 0
        for (int64_t i = 1; i < bl.len; ++i) r[S * (L - i)] = c[bl.len - 1 - i];      // r = −i
        bl.fft.forward(r, cx.get());
        const T inv_L = T(1) / static_cast<T>(L);
        T* dst = chat.data() + 2 * (h * spec + bl.spec);
        for (int64_t k = 0; k < 2 * bl.fft.nspec; ++k) dst[k] = cx.get()[k] * inv_L;
      }
    }
    return chat;
  }

  // Columns of a [N, H·d] array, transposed: [H][d][N].
  std::vector<T> transpose_heads(const T* x) const {
    std::vector<T> xt(heads * dim * n);
    const int64_t hd = heads * dim;
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t i0 = 0; i0 < n; i0 += kRowTile)
      for (int64_t col = 0; col < hd; ++col)
        for (int64_t i = i0; i < std::min(n, i0 + kRowTile); ++i) xt[col * n + i] = x[i * hd + col];
    return xt;
  }
};

}  // namespace

int64_t fft_attention_num_features(const FftAttentionOptions& opt, int64_t dim) {
  return opt.feature_map == FftFeatureMap::EluPlusOne ? dim : opt.num_features;
}

template <class T>
MatT<T> fft_attention_projection(const FftAttentionOptions& opt, int64_t dim) {
  if (opt.feature_map == FftFeatureMap::EluPlusOne) return MatT<T>();
  check(opt.num_features > 0, "fft_attention: num_features must be positive, got " + std::to_string(opt.num_features));
  // N(0, 1) by Box–Muller in double (the same W for float and double up to rounding).
  Rng rng(opt.seed);
  MatT<T> w(opt.num_features, dim);
  for (int64_t i = 0; i < w.size(); ++i) {
    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();  // u1 ∈ (0, 1]
    w.data()[i] = static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
  }
  return w;
}

int64_t fft_fast_length(int64_t n) {
  int64_t best = std::numeric_limits<int64_t>::max();
  for (int64_t p5 = 1; p5 < best; p5 *= 5)
    for (int64_t p35 = p5; p35 < best; p35 *= 3) {
      int64_t x = p35;
      while (x < n) x *= 2;
      best = std::min(best, x);
    }
  return best;
}

template <class T>
void fft_attention_forward(const Dense& g, const T* q, const T* k, const T* v, const T* bias, int64_t radius,
                           int64_t heads, int64_t dim, const FftAttentionOptions& opt, const T* w, T* out, T* den) {
  const Setup<T> s(g, heads, dim, radius, opt, w);
  const int64_t n = s.n, m = s.m, hd = heads * dim, e1 = dim + 1;
  if (n == 0 || s.nb() == 0) return;
  std::vector<T> qf, kf;
  s.features(q, k, qf, kf);
  const std::vector<T> vt = s.transpose_heads(v);
  const std::vector<T> chat = s.c_spectra(bias);
  // num'ᵀ [H][d+1][N]: column e < d the numerators, column d the denominators.
  std::vector<T> num(heads * e1 * n, T(0));

  // Task (block, head, e): num'_{:e} = Σ_f Qf_{:f} ∘ IFFT(FFT(c')/L · FFT(Kf_{:f} ∘ V'_{:e})), the
  // features f taken one (real) or two (packed) per transform.
  const int64_t ntasks = s.nb() * heads * e1;
#pragma omp parallel if (s.parallel)
  {
    Buffer<T> time(s.max_time), cx(s.max_spec);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      const int64_t b = task / (heads * e1), h = (task / e1) % heads, e = task % e1;
      const Block<T>& bl = s.blocks[b];
      const Fft<T>& fft = bl.fft;
      const T* ch = chat.data() + 2 * (h * s.spec + bl.spec);
      const T* vcol = e < dim ? vt.data() + (h * dim + e) * n + bl.start : nullptr;  // null: V' column of ones
      T* acc = num.data() + (h * e1 + e) * n + bl.start;
      with_stride(fft, [&](auto stride) {
        constexpr int S = decltype(stride)::value;
        for (int64_t f = 0; f < m; f += S) {
          const bool two = S == 2 && f + 1 < m;
          const T* k0 = kf.data() + (h * m + f) * n + bl.start;
          const T* q0 = qf.data() + (h * m + f) * n + bl.start;
          load_cols<S>(k0, two ? k0 + n : nullptr, vcol, time.get(), bl.len, fft.L);
          fft.forward(time.get(), cx.get());
          cmul<T, false>(cx.get(), ch, fft.nspec);
          fft.inverse(cx.get(), time.get());
          gather_add<S>(q0, two ? q0 + n : nullptr, time.get(), acc, bl.len);
        }
      });
    }
  }

  // out = numerators / denominator, back to [N, H·d], in tiles of kRowTile rows (the transposed
  // reads stay within a few cache lines per column).
#pragma omp parallel for schedule(static) if (s.parallel)
  for (int64_t i0 = 0; i0 < n; i0 += kRowTile) {
    const int64_t i1 = std::min(n, i0 + kRowTile);
    T inv[kRowTile];
    for (int64_t h = 0; h < heads; ++h) {
      const T* dcol = num.data() + (h * e1 + dim) * n;
      for (int64_t i = i0; i < i1; ++i) {
        inv[i - i0] = T(1) / dcol[i];
        if (den) den[i * heads + h] = dcol[i];
      }
      for (int64_t e = 0; e < dim; ++e) {
        const T* ncol = num.data() + (h * e1 + e) * n;
        for (int64_t i = i0; i < i1; ++i) out[i * hd + h * dim + e] = ncol[i] * inv[i - i0];
      }
    }
  }
}

template <class T>
void fft_attention_quadratic_forward(const Dense& g, const T* q, const T* k, const T* v, const T* bias,
                                     int64_t radius, int64_t heads, int64_t dim, const FftAttentionOptions& opt,
                                     const T* w, T* out) {
  Setup<T> s(g, heads, dim, radius, opt, w);
  const int64_t n = s.n, m = s.m, hd = heads * dim;
  if (n == 0 || s.nb() == 0) return;
  double work = 0;
  for (const Block<T>& bl : s.blocks) work += static_cast<double>(bl.len) * static_cast<double>(bl.len);
  s.parallel = work * static_cast<double>(heads * (m + dim)) >= static_cast<double>(kParallelWork);
  std::vector<T> qf, kf;
  s.features(q, k, qf, kf);
  // c' per head and block: [H][Σ_b (2·len_b − 1)], block b from offset cofs[b].
  std::vector<int64_t> cofs(s.nb() + 1, 0);
  for (int64_t b = 0; b < s.nb(); ++b) cofs[b + 1] = cofs[b] + 2 * s.blocks[b].len - 1;
  std::vector<T> cw(heads * cofs.back());
  for (int64_t b = 0; b < s.nb(); ++b)
    for (int64_t h = 0; h < heads; ++h)
      s.relative_weights(bias, h, s.blocks[b].len, cw.data() + h * cofs.back() + cofs[b]);

  // Tasks (block, head, tile of query rows).
  struct Tile {
    int64_t b, r0;
  };
  std::vector<Tile> tiles;
  for (int64_t b = 0; b < s.nb(); ++b)
    for (int64_t r0 = 0; r0 < s.blocks[b].len; r0 += kQuadTile) tiles.push_back({b, r0});
  const int64_t ntasks = static_cast<int64_t>(tiles.size()) * heads;
#pragma omp parallel if (s.parallel)
  {
    MatT<T> a, numt;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      const Tile& tl = tiles[task / heads];
      const int64_t h = task % heads;
      const Block<T>& bl = s.blocks[tl.b];
      const int64_t len = bl.len, qr = std::min(kQuadTile, len - tl.r0), row0 = bl.start + tl.r0;
      // Qfᵀ tile [m, qr] and Kfᵀ [m, len] read in place from the transposed feature arrays.
      const CStrided<T> qft(qf.data() + h * m * n + row0, m, qr, Eigen::OuterStride<>(n));
      const CStrided<T> kft(kf.data() + h * m * n + bl.start, m, len, Eigen::OuterStride<>(n));
      a.noalias() = qft.transpose() * kft;  // [qr, len]: φ(q̃_i)ᵀφ(k̃_j)
      const T* c = cw.data() + h * cofs.back() + cofs[tl.b];
      for (int64_t i = 0; i < qr; ++i) {  // a_ij *= c'_{i−j} = c[(len − 1) + i − j]
        const int64_t qi = tl.r0 + i;
        T* row = a.data() + i * len;
        const T* ci = c + (len - 1) + qi;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) row[j] *= ci[-j];
      }
      const CStrided<T> vb(v + bl.start * hd + h * dim, len, dim, Eigen::OuterStride<>(hd));
      numt.noalias() = a * vb;  // [qr, d]
      Strided<T> ob(out + row0 * hd + h * dim, qr, dim, Eigen::OuterStride<>(hd));
      for (int64_t i = 0; i < qr; ++i) ob.row(i) = numt.row(i) / a.row(i).sum();
    }
  }
}

template <class T>
void fft_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* bias, int64_t radius,
                            int64_t heads, int64_t dim, const FftAttentionOptions& opt, const T* w, const T* out,
                            const T* den, const T* dout, T* dq, T* dk, T* dv, T* dbias) {
  const Setup<T> s(g, heads, dim, radius, opt, w);
  const int64_t n = s.n, m = s.m, hd = heads * dim, e1 = dim + 1;
  if (n == 0 || s.nb() == 0 || (!dq && !dk && !dv && !dbias)) return;
  const bool need_y = dq != nullptr, need_z = dk || dv, need_s = dbias != nullptr;
  std::vector<T> qf, kf;
  s.features(q, k, qf, kf);
  const std::vector<T> vt = s.transpose_heads(v);
  const std::vector<T> chat = s.c_spectra(bias);

  // dN'ᵀ [H][d+1][N]: dnum_ie = dO_ie / den_i, dden_i = −<dO_i, out_i> / den_i.
  std::vector<T> dn(heads * e1 * n);
#pragma omp parallel for schedule(static) if (s.parallel)
  for (int64_t i0 = 0; i0 < n; i0 += kRowTile) {
    const int64_t i1 = std::min(n, i0 + kRowTile);
    T inv[kRowTile];
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = i0; i < i1; ++i) {
        inv[i - i0] = T(1) / den[i * heads + h];
        T dot = 0;
        for (int64_t e = 0; e < dim; ++e) dot += dout[i * hd + h * dim + e] * out[i * hd + h * dim + e];
        dn[(h * e1 + dim) * n + i] = -dot * inv[i - i0];
      }
      for (int64_t e = 0; e < dim; ++e)
        for (int64_t i = i0; i < i1; ++i) dn[(h * e1 + e) * n + i] = dout[i * hd + h * dim + e] * inv[i - i0];
    }
  }

  // Task (block, head, chunk of features): owns dQf, dKf of its features, its partial dv sum
  // (dvp [chunks][H][d][N]) and its partial frequency-domain bias sum (sacc [chunks][H][spec]).
  const int64_t nchunks = (m + kFftFeatureChunk - 1) / kFftFeatureChunk;
  std::vector<T> dqf(need_y ? heads * m * n : 0, T(0)), dkf(dk ? heads * m * n : 0, T(0));
  std::vector<T> dvp(dv ? nchunks * heads * dim * n : 0, T(0));
  std::vector<T> sacc(need_s ? 2 * nchunks * heads * s.spec : 0, T(0));
  const int64_t ntasks = s.nb() * heads * nchunks;
#pragma omp parallel if (s.parallel)
  {
    Buffer<T> time(s.max_time), rh(s.max_spec), ph(s.max_spec), tmp(s.max_spec);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < ntasks; ++task) {
      const int64_t b = task / (heads * nchunks), h = (task / nchunks) % heads, chunk = task % nchunks;
      const Block<T>& bl = s.blocks[b];
      const Fft<T>& fft = bl.fft;
      const int64_t len = bl.len, nc = fft.nspec, st = bl.start;
      const T* ch = chat.data() + 2 * (h * s.spec + bl.spec);
      T* sp = need_s ? sacc.data() + 2 * ((chunk * heads + h) * s.spec + bl.spec) : nullptr;
      const int64_t f0 = chunk * kFftFeatureChunk, f1 = std::min(m, f0 + kFftFeatureChunk);
      with_stride(fft, [&](auto stride) {
        constexpr int S = decltype(stride)::value;
        for (int64_t f = f0; f < f1; f += S) {
          // Features f and (packed) f + 1: column g of a transform is feature f + g.
          const bool two = S == 2 && f + 1 < f1;
          const int64_t off = (h * m + f) * n + st;
          const T* k0 = kf.data() + off;
          const T* q0 = qf.data() + off;
          const T* k1 = two ? k0 + n : nullptr;
          const T* q1 = two ? q0 + n : nullptr;
          for (int64_t e = 0; e < e1; ++e) {
            const T* vcol = e < dim ? vt.data() + (h * dim + e) * n + st : nullptr;  // null: ones
            const T* dncol = dn.data() + (h * e1 + e) * n + st;
            if (need_y || need_s) {  // R̂ = FFT(Kf_f ∘ V'_e)
              load_cols<S>(k0, k1, vcol, time.get(), len, fft.L);
              fft.forward(time.get(), rh.get());
            }
            if (need_z || need_s) {  // P̂ = FFT(Qf_f ∘ dN'_e)
              load_cols<S>(q0, q1, dncol, time.get(), len, fft.L);
              fft.forward(time.get(), ph.get());
            }
            // S += P̂ · conj(R̂). Packed, the cross terms P̂_a·conj(R̂_b) of the two columns enter
            // multiplied by i and come back purely imaginary: the real part of the inverse is exact.
            if (need_s) cmul_conj_add(ph.get(), rh.get(), sp, nc);
            if (need_y) {  // dQf_f += dN'_e ∘ C R
              cmul_to<T, false>(rh.get(), ch, tmp.get(), nc);
              fft.inverse(tmp.get(), time.get());
              T* dq0 = dqf.data() + off;
              scatter_add<S>(dncol, time.get(), dq0, two ? dq0 + n : nullptr, len);
            }
            if (need_z) {  // Z = Cᵀ P (conj of FFT(c'): the correlation); dKf_f += V'_e ∘ Z, dV_e += Kf_f ∘ Z
              cmul_to<T, true>(ph.get(), ch, tmp.get(), nc);
              fft.inverse(tmp.get(), time.get());
              if (dk) {
                T* dk0 = dkf.data() + off;
                scatter_add<S>(vcol, time.get(), dk0, two ? dk0 + n : nullptr, len);
              }
              if (dv && vcol) gather_add<S>(k0, k1, time.get(), dvp.data() + ((chunk * heads + h) * dim + e) * n + st, len);
            }
          }
        }
      });
    }
  }

  if (dv) {  // dv = Σ over feature chunks, in chunk order
#pragma omp parallel for schedule(static) if (s.parallel)
    for (int64_t i0 = 0; i0 < n; i0 += kRowTile)
      for (int64_t col = 0; col < hd; ++col)
        for (int64_t i = i0; i < std::min(n, i0 + kRowTile); ++i) {
          T acc = 0;
          for (int64_t c = 0; c < nchunks; ++c) acc += dvp[(c * hd + col) * n + i];
          dv[i * hd + col] += acc;
        }
  }

  if (dbias) {
    // Per (block, head): dc = IFFT(Σ_chunks S) / L at index r mod L, then db_r = dc_r · c'_r, stored
    // at gb[h][Σ_b (2·len_b − 1)] and added into the table in block order below.
    std::vector<int64_t> gofs(s.nb() + 1, 0);
    for (int64_t b = 0; b < s.nb(); ++b) gofs[b + 1] = gofs[b] + 2 * s.blocks[b].len - 1;
    std::vector<T> gb(heads * gofs.back());
    const int64_t ntb = s.nb() * heads;
#pragma omp parallel if (s.parallel)
    {
      Buffer<T> time(s.max_time), cx(s.max_spec);
#pragma omp for schedule(dynamic, 1)
      for (int64_t task = 0; task < ntb; ++task) {
        const int64_t b = task / heads, h = task % heads;
        const Block<T>& bl = s.blocks[b];
        const int64_t len = bl.len, L = bl.fft.L, S = bl.fft.stride, nc = bl.fft.nspec;
        T* sum = cx.get();
        std::fill(sum, sum + 2 * nc, T(0));
        for (int64_t c = 0; c < nchunks; ++c) {
          const T* sp = sacc.data() + 2 * ((c * heads + h) * s.spec + bl.spec);
          for (int64_t x = 0; x < 2 * nc; ++x) sum[x] += sp[x];
        }
        bl.fft.inverse(sum, time.get());  // column 0 (the real part when packed): L · dc
        T* gh = gb.data() + h * gofs.back() + gofs[b];
        s.relative_weights(bias, h, len, gh);  // c'_r at (len − 1) + r
        const T inv_L = T(1) / static_cast<T>(L);
        for (int64_t r = -(len - 1); r <= len - 1; ++r) gh[len - 1 + r] *= time.get()[S * ((r + L) % L)] * inv_L;
      }
    }
    const int64_t width = 2 * radius + 1;
#pragma omp parallel for schedule(static) if (s.parallel)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t b = 0; b < s.nb(); ++b) {
        const int64_t len = s.blocks[b].len;
        const T* gh = gb.data() + h * gofs.back() + gofs[b];
        for (int64_t r = -(len - 1); r <= len - 1; ++r)
          dbias[h * width + radius + std::clamp(r, -radius, radius)] += gh[len - 1 + r];
      }
  }

  if (dq) s.features_backward(q, qf, dqf, dq);
  if (dk) s.features_backward(k, kf, dkf, dk);
}

#define LOCUS_INSTANTIATE(T)                                                                                      \
  template MatT<T> fft_attention_projection<T>(const FftAttentionOptions&, int64_t);                              \
  template void fft_attention_forward<T>(const Dense&, const T*, const T*, const T*, const T*, int64_t, int64_t,   \
                                         int64_t, const FftAttentionOptions&, const T*, T*, T*);                  \
  template void fft_attention_quadratic_forward<T>(const Dense&, const T*, const T*, const T*, const T*, int64_t, \
                                                   int64_t, int64_t, const FftAttentionOptions&, const T*, T*);    \
  template void fft_attention_backward<T>(const Dense&, const T*, const T*, const T*, const T*, int64_t, int64_t,  \
                                          int64_t, const FftAttentionOptions&, const T*, const T*, const T*,       \
                                          const T*, T*, T*, T*, T*);
LOCUS_INSTANTIATE(float)
LOCUS_INSTANTIATE(double)
#undef LOCUS_INSTANTIATE

}  // namespace locus::kernels
