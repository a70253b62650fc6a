// Kernelized attention with a relative-position bias, computed with FFTs in O(n log n) per
// block (Luo et al., NeurIPS 2021, "Stable, Fast and Accurate: Kernelized Attention with Relative
// Positional Encoding"). Raw kernels, no autograd; the differentiable op is ops::fft_attention.
//
// Layout: q, k, v, out, dq, dk, dv are [N, H·d] row-major (head h of node i is the d entries
// from i·H·d + h·d), N = g.num_nodes(). bias is [H, 2R+1]: b_h(r) = bias[h, R + clip(r, −R, R)]
// (relative positions beyond ±R share the end columns). For each block (positions 0..n−1 inside
// it) and head, with x̃ = d^(−1/4)·x and a positive feature map φ: R^d → R^m_+,
//   out_i = Σ_j a_ij v_j / Σ_j a_ij,   a_ij = φ(q̃_i)ᵀφ(k̃_j) · c_{i−j},   c_r = exp(b_h(r)).
// C_ij = c_{i−j} is Toeplitz, so with Qf = φ(Q̃), Kf = φ(K̃) [n, m] and V' = [V, 1] [n, d+1]
//   num'_{ie} = Σ_m Qf_im · [C (Kf_{:m} ∘ V'_{:e})]_i,   out_i = num'_{i,<d} / num'_{i,d}:
// m·(d+1) Toeplitz products, each a linear convolution done as a circular one of a fast length
// L ≥ 2n−1 (2^a·3^b·5^c); FFT(c) is computed once per (block, head). Transforms: for
// L ≤ opt.pack_max_length two real columns (features f, f+1) travel as re + i·im through one
// complex FFT (c is real, so IFFT(ĉ·FFT(a + i·b)) = c⊛a + i·c⊛b keeps them apart), above it one
// column per real-to-complex FFT. Measured with FFTW_ESTIMATE plans (Debian FFTW 3.3.10, an AVX
// build, on the 2-core AMD EPYC dev machine), per column and forward + inverse: packed 1.4 / 3.5 /
// 11.8 / 43 µs vs real 3.0 / 6.2 / 14 / 31 µs at L = 2048 / 4096 / 8192 / 16384, about equal
// above: hence the default 8192.
//
// Feature maps (FftFeatureMap):
// - PositiveRandom (Performer, the paper's choice): φ(x) = exp(Wx − |x|²/2)/√m with a fixed
//   Gaussian W [m, d] (entries N(0, 1), drawn from opt.seed; one W shared by all heads), so that
//   E[φ(x)ᵀφ(y)] = exp(xᵀy): the softmax kernel.
// - EluPlusOne: φ(x) = elu(x) + 1, m = d (deterministic, cheaper; Katharopoulos et al. 2020).
// Stabilisers: out is unchanged when one query's features, or all c_r of a block, are scaled by
// one positive constant, or when a feature column of the keys is scaled by s and the same column
// of the queries by 1/s (a_ij keeps its value). So the PositiveRandom exponents subtract each key
// column's block max (adding it to the queries') and each query row's max, and c_r = exp(b_r −
// max_r b_r): nothing overflows, and every key feature column peaks at 1/√m, which keeps columns
// that share a packed FFT (above) on one scale. The constants pass no gradient: the output does
// not depend on them. Both paths (FFT and quadratic) use the same stabilised features.
//
// Precision: an FFT convolution's error is relative to the largest terms, so a denominator
// many orders of magnitude below its block's largest one (strongly negative biases far from
// the diagonal together with tiny features) loses relative accuracy, in float first.
//
// Memory (no n×n buffer anywhere): forward O(N·H·(m + d)) for transposed features, values and
// numerators plus O(N·H) spectra of c and per-thread FFT buffers of O(L) (L ≈ 2n). The backward adds
// O(N·H·(m + d)) gradients of features and O(⌈m / kFftFeatureChunk⌉·N·H·d) partial dv sums.
//
// Parallel strategy and determinism: OpenMP over tasks (dynamic schedule): forward (block,
// head, value column e ∈ [0, d]), backward (block, head, chunk of kFftFeatureChunk features).
// A task writes only what it owns; partial sums across tasks (dv over feature chunks, the bias
// gradient over blocks) are added in a fixed order afterwards, and FFTW plans are created once
// per length (under a mutex, FFTW_ESTIMATE) and executed on buffers of one alignment, so results
// are bit-identical for every thread count.
//
// Edge cases: zero-length blocks are skipped; a block of length 1 gives out_i = v_i. Causal
// blocks are not supported (the op rejects them).
#pragma once
#include <cstdint>

#include "core/graph.hpp"
#include "core/tensor.hpp"

namespace locus::kernels {

enum class FftFeatureMap { PositiveRandom, EluPlusOne };

struct FftAttentionOptions {
  FftFeatureMap feature_map = FftFeatureMap::PositiveRandom;
  int64_t num_features = 64;  // m for PositiveRandom (EluPlusOne always uses m = d)
  uint64_t seed = 0x5eed;     // draws the Gaussian projection W of PositiveRandom
  // Transform choice (speed only; results agree to rounding): blocks whose FFT length is at
  // most this pack two columns per complex FFT, longer ones use real-to-complex FFTs.
  int64_t pack_max_length = 8192;
};

// Features per head: opt.num_features, or dim for EluPlusOne.
int64_t fft_attention_num_features(const FftAttentionOptions& opt, int64_t dim);

// The projection W [m, dim] of PositiveRandom (entries N(0, 1) from opt.seed; same seed, same
// W); an empty matrix for EluPlusOne.
template <class T>
MatT<T> fft_attention_projection(const FftAttentionOptions& opt, int64_t dim);

// Features per backward task (the backward's partial dv sums number ⌈m / this⌉).
inline constexpr int64_t kFftFeatureChunk = 16;

// Smallest 2^a·3^b·5^c ≥ n (n ≥ 1): the FFT length used for a block of length (n + 1) / 2.
int64_t fft_fast_length(int64_t n);

// out [N, H·d] = the attention above (overwritten). den [N, H] (may be null) receives the
// stabilised denominators Σ_j a_ij, which the backward pass needs. w: fft_attention_projection.
template <class T>
void fft_attention_forward(const Dense& g, const T* q, const T* k, const T* v, const T* bias, int64_t radius,
                           int64_t heads, int64_t dim, const FftAttentionOptions& opt, const T* w, T* out, T* den);

// The same formula by the quadratic route: per (block, head, tile of query rows) the explicit
// tile of a_ij = φ(q̃_i)ᵀφ(k̃_j)·c_{i−j} against every key of the block (a GEMM, then the Toeplitz
// factor), then a GEMM with [V, 1]. O(n²·(m + d)) time; O(tile·n) memory per thread, the rows of
// the n×n matrix one tile at a time. The reference for tests and the benchmark's baseline.
template <class T>
void fft_attention_quadratic_forward(const Dense& g, const T* q, const T* k, const T* v, const T* bias,
                                     int64_t radius, int64_t heads, int64_t dim, const FftAttentionOptions& opt,
                                     const T* w, T* out);

// Accumulates (+=) the gradients of the loss given dout = dL/dout, the forward's out and den.
// Any of dq, dk, dv, dbias may be null (not wanted). With dnum_i = dO_i / den_i,
// dden_i = −<dO_i, out_i> / den_i, dN' = [dnum, dden] and P_{me} = Qf_{:m} ∘ dN'_{:e},
// R_{me} = Kf_{:m} ∘ V'_{:e}:
//   dQf_{im} = Σ_e dN'_ie [C R_me]_i                   (the forward's convolutions)
//   dKf_{jm} = Σ_e V'_je [Cᵀ P_me]_j,  dV_je = Σ_m Kf_jm [Cᵀ P_me]_j   (Cᵀ: a correlation)
//   dc_r = Σ_{m,e} Σ_j P_me(j + r) R_me(j) = IFFT(Σ_{m,e} FFT(P_me)·conj(FFT(R_me)))_r
// (summed in the frequency domain, one inverse FFT per block and head), db_r = dc_r · c_r,
// then the chain rule through φ and the d^(−1/4) scale.
template <class T>
void fft_attention_backward(const Dense& g, const T* q, const T* k, const T* v, const T* bias, int64_t radius,
                            int64_t heads, int64_t dim, const FftAttentionOptions& opt, const T* w, const T* out,
                            const T* den, const T* dout, T* dq, T* dk, T* dv, T* dbias);

}  // namespace locus::kernels
