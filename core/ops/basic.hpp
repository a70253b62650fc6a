// Differentiable dense ops on a Tape: products, sums, activations, dropout.
// Shapes are in the comments; each op checks them and throws ShapeError naming the op.
//
// Parallel strategy of the row-wise ops added here and in shape.hpp / norm.hpp: OpenMP over
// rows (static schedule) when rows × cols ≥ detail::kParallelEntries (2^18), serial below.
// Sums over rows (column statistics, bias-like gradients) go through detail::reduce_rows,
// which cuts the rows into fixed blocks independent of the thread count and adds the block
// partials in block order, so those results are bit-identical for any thread count.
// Hyper-parameters (slopes, eps, momentum) are `double` so that a literal works with either
// Tape<float> or Tape<double>; they are converted to T once.
#pragma once
#include <cstdint>

#include <vector>

#include "core/kernels/row_ops.hpp"
#include "core/rng.hpp"
#include "core/tape.hpp"

namespace locus::ops {

// a [n, k] · b [k, m] → [n, m]
template <class T> Var matmul(Tape<T>& t, Var a, Var b);
// a + b, same shape
template <class T> Var add(Tape<T>& t, Var a, Var b);
// x [n, m] + bias [1, m] broadcast over rows
template <class T> Var add_bias(Tape<T>& t, Var x, Var bias);
// x [n, k] · w [k, m] + bias [1, m]: matmul and add_bias as one op (one [n, m] buffer, not two;
// the same values and gradients). Backward: dx = G wᵀ, dw = xᵀ G, db = Σ_rows G.
template <class T> Var affine(Tape<T>& t, Var x, Var w, Var bias);
// s · x
template <class T> Var scale(Tape<T>& t, Var x, T s);
// a − b, same shape
template <class T> Var sub(Tape<T>& t, Var a, Var b);
// a ⊙ b (elementwise product), same shape
template <class T> Var mul(Tape<T>& t, Var a, Var b);

// New values are appended so existing numbering stays.
enum class Act { Identity, Relu, Elu, LeakyRelu, Gelu };
// "identity" | "relu" | "elu" | "leaky_relu" (slope 0.2) | "gelu" (exact erf form);
// anything else throws InputError listing the names.
Act parse_act(const char* name);
// The names parse_act takes, in listing order (relu first), and the name of an Act.
const std::vector<std::string>& act_names();
const char* act_name(Act a);

template <class T> Var relu(Tape<T>& t, Var x);
// x > 0 ? x : alpha (e^x − 1)
template <class T> Var elu(Tape<T>& t, Var x, T alpha = T(1));
// x [n, m] → [n, m]: x > 0 ? x : slope · x. The gradient at exactly 0 is slope.
template <class T> Var leaky_relu(Tape<T>& t, Var x, double slope = 0.2);
// x [n, m] → [n, m]: GELU in its exact form 0.5 · x · (1 + erf(x / √2)) = x · Φ(x), Φ the standard
// normal CDF (PyTorch's default approximate='none', not the tanh approximation).
// d/dx = Φ(x) + x · φ(x), φ(x) = e^(−x²/2) / √(2π).
template <class T> Var gelu(Tape<T>& t, Var x);
// Identity returns x itself; LeakyRelu uses slope 0.2.
template <class T> Var activation(Tape<T>& t, Var x, Act act);

// Inverted dropout: keeps each entry with probability 1 − p and scales it by 1 / (1 − p).
// The mask is counter-based from `key` (see Rng::uniform_at at the entry index r·cols + c),
// independent of thread count. Identity when !training or p == 0. global_rows (one per row of x):
// index entries as row global_rows[r] of a larger matrix, so a partitioned rank draws the mask
// one process would draw for those rows.
template <class T>
Var dropout(Tape<T>& t, Var x, double p, uint64_t key, bool training, const std::vector<int64_t>* global_rows = nullptr);

// min(max(x, −limit), limit); the identity when limit ≤ 0. Zero gradient where clamped.
template <class T> Var clamp(Tape<T>& t, Var x, double limit);

// Σ_ij x_ij · w_ij → [1, 1]  (w a constant of x's shape; used to reduce outputs in tests)
template <class T> Var weighted_sum(Tape<T>& t, Var x, const MatT<T>& w);

namespace detail {
// Entry count (rows × cols) from which the row loops of the dense ops run in parallel.
inline constexpr int64_t kParallelEntries = kernels::kParallelWork;
// Rows per block of reduce_rows; fixed, so the summation order never depends on threads.
inline constexpr int64_t kReduceBlock = 256;

// Calls f(r) for every r in [0, rows); in parallel over rows when rows × cols ≥ kParallelEntries.
// f must only write row r of its outputs.
template <class F>
void for_each_row(int64_t rows, int64_t cols, F&& f) {
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelEntries)
  for (int64_t r = 0; r < rows; ++r) f(r);
}

// Calls f(i) for every entry i in [0, size) of a flat buffer; in parallel when size ≥ kParallelEntries.
template <class F>
void for_each_block(int64_t size, F&& f) {
#pragma omp parallel for schedule(static) if (size >= kParallelEntries)
  for (int64_t i = 0; i < size; ++i) f(i);
}

// Sums row contributions into `parts` accumulator rows of width cols → [parts, cols].
// f(r, acc) adds row r's terms to acc[k * cols + j] (k < parts). Rows are cut into blocks of
// kReduceBlock; each block gets zeroed partials (blocks in parallel when rows × cols ≥
// kParallelEntries), then the partials are added in block order: bit-identical results for
// any thread count. rows == 0 gives zeros.
template <class T, class F>
MatT<T> reduce_rows(int64_t rows, int64_t cols, int parts, F&& f) {
  const int64_t width = parts * cols;
  const int64_t blocks = (rows + kReduceBlock - 1) / kReduceBlock;
  MatT<T> partial = MatT<T>::Zero(blocks, width);
  T* p = partial.data();
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelEntries)
  for (int64_t b = 0; b < blocks; ++b) {
    T* acc = p + b * width;
    const int64_t end = rows < (b + 1) * kReduceBlock ? rows : (b + 1) * kReduceBlock;
    for (int64_t r = b * kReduceBlock; r < end; ++r) f(r, acc);
  }
  MatT<T> out = MatT<T>::Zero(parts, cols);
  T* o = out.data();
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t k = 0; k < width; ++k) o[k] += p[b * width + k];
  return out;
}
}  // namespace detail

}  // namespace locus::ops
