// Differentiable ops behind the sequence positional encodings (layers/positional/sequence.hpp):
// rotary position embedding (RoPE), a row gather from a table (learned absolute positions) and
// elementwise cosine / sine (learnable Fourier features).
// Positions are a constant `Mat` pos [N, P]: one row per token, P position dimensions (P = 1 for
// the index inside a sentence, P = 2 for grid coordinates); they receive no gradient.
#pragma once
#include <cstdint>
#include <span>

#include "core/tape.hpp"

namespace locus::ops {

// RoPE (Su et al., RoFormer). x [N, heads·d], pos [N, P] → [N, heads·d].
// Each head's d columns are cut into P equal parts of d_rot = d / P columns; part c is rotated by
// pos[:, c] (P = 1: the whole head; P = 2: first half by pos[:,0], second half by pos[:,1]).
// Within a part, the pair (2k, 2k+1), k < d_rot/2, is rotated by θ = p · base^(−2k/d_rot):
//   out[2k]   = x[2k] cos θ − x[2k+1] sin θ
//   out[2k+1] = x[2k] sin θ + x[2k+1] cos θ
// (interleaved pairs as in RoFormer, not the half-split layout of GPT-NeoX). Every part has its
// own frequency ladder. Needs d divisible by 2P. The same rotation for every head, so
// <rope(q, i), rope(k, j)> per head depends only on i − j. Angles are computed in double.
// Backward: the incoming gradient rotated by −θ. No gradient to pos.
// Parallel over rows (see basic.hpp); row-local, so independent of the thread count.
template <class T> Var rope(Tape<T>& t, Var x, const Mat& pos, int64_t heads, double base = 10000.0);

// table [V, m], indices [N] with 0 ≤ indices[i] < V → [N, m]: out[i, :] = table[indices[i], :].
// Backward scatter-adds: dtable[v, :] += Σ_{i : indices[i] = v} G[i, :], summed in increasing i
// for each v (rows of the table in parallel), so the result is bit-identical for any thread count.
// An index out of range throws ShapeError naming it (callers with user input check first).
template <class T> Var gather_rows(Tape<T>& t, Var table, std::span<const int64_t> indices);

// Elementwise cos x and sin x, x [n, m] → [n, m].  d/dx cos = −sin x, d/dx sin = cos x.
// (Named cosine / sine, not cos / sin, so they never hide the scalar functions from unqualified
// calls inside locus::ops.)
template <class T> Var cosine(Tape<T>& t, Var x);
template <class T> Var sine(Tape<T>& t, Var x);

}  // namespace locus::ops
