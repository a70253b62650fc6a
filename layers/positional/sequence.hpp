// Sequence positional encodings for Dense blocks (a batch of sentences, each a complete graph):
// sinusoidal, learned absolute, learnable Fourier features, CAPE position augmentation, and the
// SeqPE choice the model reads from its config. RoPE is an op (core/ops/position.hpp) applied to
// queries and keys; the T5 relative bias belongs to the attention layer.
// Positions are a `Mat` pos [N, P]: one row per token, P position dimensions (P = 1: the index
// inside its block, see block_positions; P = 2: grid coordinates such as image patches).
#pragma once
#include <cstdint>
#include <string>

#include "core/graph.hpp"
#include "core/params.hpp"
#include "core/tape.hpp"
#include "layers/linear.hpp"

namespace locus::pe {

// [N, 1]: the index of each token inside its block (0, 1, …, len_b − 1 for block b).
Mat block_positions(const Dense& g);

// Sinusoidal encoding (Vaswani et al. 2017), pos [N, P] → [N, dim], computed in double.
// P = 1: PE[i, 2k] = sin(p_i / base^(2k/dim)), PE[i, 2k+1] = cos(p_i / base^(2k/dim)).
// P > 1: the columns are split into P contiguous blocks of dim/P; block c holds the P = 1
// encoding of pos[:, c] with dim/P in place of dim (so each coordinate has its own full ladder).
// Needs dim divisible by 2P (InputError otherwise). Positions may be non-integer (CAPE).
template <class T> MatT<T> sinusoidal_pe(const Mat& pos, int64_t dim, double base = 10000.0);

// What LearnedPE does with a position ≥ max_len.
enum class OutOfRange {
  Error,  // InputError naming the position, max_len and the fix (no length generalisation)
  Clip,   // use row max_len − 1 (every longer position shares the last learned row)
};

// Learned absolute positions: out[i, :] = table[pos_i, :], table [max_len, dim] a parameter
// initialised N(0, init_std²) (BERT's 0.02 by default). Positions must be integers ≥ 0 (pos [N, 1]);
// it cannot encode a position it never had a row for, which is why it fails on sequences longer
// than max_len: that is the expected behaviour of this encoding, not a bug (or use Clip).
template <class T>
class LearnedPE {
 public:
  LearnedPE(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t max_len, int64_t dim,
            OutOfRange mode = OutOfRange::Error, double init_std = 0.02);
  // pos [N, 1] → [N, dim]
  Var forward(Tape<T>& t, const Mat& pos) const;
  int64_t max_len() const { return max_len_; }
  int64_t dim() const { return dim_; }
  ParamId table() const { return table_; }

 private:
  ParamStore<T>* store_;
  std::string name_;
  int64_t max_len_, dim_;
  OutOfRange mode_;
  ParamId table_;
};

// Learnable Fourier features (Li et al., NeurIPS 2021), pos [N, P] → [N, dim]:
//   r = pos · W_r            W_r [P, F/2] a parameter, init N(0, γ⁻²)
//   f = [cos r ‖ sin r] / √F [N, F]
//   out = Linear(H → dim)(GELU(Linear(F → H)(f)))
// One group (the paper's G = 1): every position dimension feeds all features. F must be even.
// γ sets the initial frequency scale: a small γ gives high frequencies (fine position detail).
template <class T>
class FourierPE {
 public:
  FourierPE(ParamStore<T>& store, Rng& rng, const std::string& name, int64_t pos_dims, int64_t features,
            int64_t hidden, int64_t dim, double gamma);
  // pos [N, P] → [N, dim]
  Var forward(Tape<T>& t, const Mat& pos) const;
  ParamId wr() const { return wr_; }
  int64_t dim() const { return dim_; }

 private:
  ParamStore<T>* store_;
  int64_t pos_dims_, features_, dim_;
  ParamId wr_;
  Mlp<T> mlp_;
};

// CAPE (Likhomanenko et al. 2021) training-time augmentation of positions. Defaults are the
// paper's text (machine translation) setting as given in the "CAPE for text" recipe of the
// reference implementation (github.com/gcambara/cape: max_global_shift 5, max_local_shift 1.0
// over a width of 1, i.e. ε ∈ [−0.5, 0.5], max_global_scaling 1.03). A local shift below 0.5
// keeps the token order of integer positions.
struct CapeOptions {
  double max_global_shift = 5.0;     // Δ ~ U(−this, this), one per block and position dimension
  double max_local_shift = 0.5;      // ε ~ U(−this, this), one per token and position dimension
  double max_global_scaling = 1.03;  // log λ ~ U(−log this, log this), one per block; ≥ 1
};

// p' = λ_b · (p + Δ_b + ε_i) for token i of block b (pos [N, P], N = g.num_nodes()); λ_b is shared
// by the P dimensions (2-D grids keep their aspect ratio), Δ and ε are drawn per dimension.
// Random numbers are counter-based from `key` (Rng::uniform_at): the result depends only on
// (pos, g, opt, key). Apply in training only, before sinusoidal_pe. At evaluation there is no
// mapping: the raw positions go to sinusoidal_pe. All maxima 0 and scaling 1 give pos exactly.
// Bad options (negative shifts, scaling < 1) throw InputError.
Mat cape_augment(const Mat& pos, const Dense& g, const CapeOptions& opt, uint64_t key);

// The sequence positional encoding a model uses (config value, see parse_seq_pe).
// FftKernel: kernelized attention with a relative bias through FFT (core/ops/fft_attention.hpp).
enum class SeqPE { None, Sinusoidal, Learned, Rope, Fourier, Cape, T5Bias, FftKernel };

// "none" | "sinusoidal" | "learned" | "rope" | "fourier" | "cape" | "t5_bias" | "fft_kernel"; anything else throws
// InputError listing those names (with a "did you mean" hint when one is close).
SeqPE parse_seq_pe(const std::string& name);
// The config name of a SeqPE (inverse of parse_seq_pe).
const char* seq_pe_name(SeqPE pe);
// Every name parse_seq_pe takes, in enum order ("none" first).
std::vector<std::string> seq_pe_names();

}  // namespace locus::pe
