// Differentiable dense ops on a Tape: products, sums, activations, dropout.
// Shapes are in the comments; each op checks them and throws ShapeError naming the op.
#pragma once
#include <cstdint>

#include "core/rng.hpp"
#include "core/tape.hpp"

namespace locus::ops {

// a [n, k] · b [k, m] → [n, m]
template <class T> Var matmul(Tape<T>& t, Var a, Var b);
// a + b, same shape
template <class T> Var add(Tape<T>& t, Var a, Var b);
// x [n, m] + bias [1, m] broadcast over rows
template <class T> Var add_bias(Tape<T>& t, Var x, Var bias);
// s · x
template <class T> Var scale(Tape<T>& t, Var x, T s);

enum class Act { Identity, Relu, Elu };
Act parse_act(const char* name);  // "identity" | "relu" | "elu"

template <class T> Var relu(Tape<T>& t, Var x);
// x > 0 ? x : alpha (e^x − 1)
template <class T> Var elu(Tape<T>& t, Var x, T alpha = T(1));
template <class T> Var activation(Tape<T>& t, Var x, Act act);

// Inverted dropout: keeps each entry with probability 1 − p and scales it by 1 / (1 − p).
// The mask is counter-based from `key` (see Rng::uniform_at), independent of thread count.
// Identity when !training or p == 0.
template <class T> Var dropout(Tape<T>& t, Var x, double p, uint64_t key, bool training);

// Σ_ij x_ij · w_ij → [1, 1]  (w a constant of x's shape; used to reduce outputs in tests)
template <class T> Var weighted_sum(Tape<T>& t, Var x, const MatT<T>& w);

}  // namespace locus::ops
