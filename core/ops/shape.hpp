// Differentiable column and head reshaping ops on a Tape: concatenation and slicing of
// feature columns, reductions over the heads of multi-head data ([rows, heads·dim] layout,
// head h occupying columns [h·dim, (h+1)·dim)), and per-row scaling.
// Shapes are in the comments; each op checks them and throws ShapeError naming the op.
// Parallel over rows when rows × cols ≥ 2^18 (see basic.hpp); every op here is row-local, so
// results do not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tape.hpp"

namespace locus::ops {

// xs[0] [n, a] ‖ xs[1] [n, b] ‖ … → [n, a + b + …], in the order given. Needs at least one
// input; all inputs have the same row count. A single input is copied (a new node).
// Inputs may repeat (their gradients add up).
template <class T> Var concat_cols(Tape<T>& t, const std::vector<Var>& xs);

// xs[0] [a, m] over xs[1] [b, m] over … → [a + b + …, m], in the order given (at least one input,
// all with m columns). Inputs may repeat.
template <class T> Var concat_rows(Tape<T>& t, const std::vector<Var>& xs);

// x [n, m] → x[:, start : start + count]  [n, count]; 0 ≤ start, 0 ≤ count, start + count ≤ m.
template <class T> Var slice_cols(Tape<T>& t, Var x, int64_t start, int64_t count);

// x [m, c] → x[start : start + count, :]  [count, c] (e.g. the rows of a weight that multiply
// some input columns); 0 ≤ start, 0 ≤ count, start + count ≤ m.
template <class T> Var slice_rows(Tape<T>& t, Var x, int64_t start, int64_t count);

// x [n, heads·d] → [n, d]: out[r, j] = (1/heads) Σ_h x[r, h·d + j]. heads ≥ 1 divides the columns.
template <class T> Var head_mean(Tape<T>& t, Var x, int64_t heads);
// x [n, heads·d] → [n, d]: out[r, j] = Σ_h x[r, h·d + j].
template <class T> Var head_sum(Tape<T>& t, Var x, int64_t heads);

// x [n, m], s [n, 1] → [n, m]: out[r, :] = s[r] · x[r, :]. Gradients flow to x and s.
template <class T> Var row_scale(Tape<T>& t, Var x, Var s);

}  // namespace locus::ops
