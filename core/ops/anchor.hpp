// Differentiable row-layout ops behind the anchor models (GIR, P-GNN; layers/gir.hpp, layers/pgnn.hpp):
// a free reshape ([N, K·d] ↔ [N·K, d], the same row-major data), a per-row broadcast (each node row
// repeated for its K anchor entries), a gather and a scatter of d-wide blocks (read / overwrite some
// (v, k) entries of an [N, K·d] state in place of a reshape: the masked update of a frontier) and a
// row gather whose negative indices read a zero row.
// Shapes are in the comments; each op checks them and throws ShapeError naming the op.
// Parallel over rows when rows × cols ≥ 2^18 (see basic.hpp); every forward and backward loop has
// each output row written by one thread in a fixed order, so results are bit-identical for any
// thread count.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/graph.hpp"
#include "core/tape.hpp"

namespace locus::ops {

// x [n, m] → [rows, cols] with rows · cols = n · m, the same entries in row-major order (so
// [N, K·d] → [N·K, d] makes row v·K + k hold block k of row v). Backward: the gradient reshaped back.
template <class T> Var reshape(Tape<T>& t, Var x, int64_t rows, int64_t cols);

// x [n, d] → [n·k, d]: out[v·k + j, :] = x[v, :] for j < k (k ≥ 0). dx[v] = Σ_j G[v·k + j], summed in
// increasing j. Reshaped to [n, k·d] this is x tiled k times along the columns.
template <class T> Var repeat_rows(Tape<T>& t, Var x, int64_t k);

// Blocks: x [r, c] seen as r·c/d rows of d entries in row-major order, i.e. the [r·c/d, d] reshape
// (for the [N, K·d] anchor state, block e = v·K + k is entry (v, k)). d ≥ 1 divides c.
//
// x [r, c] → [|idx|, d]: out[i, :] = block idx[i] of x (0 ≤ idx[i] < r·c/d; repeats allowed).
// Backward scatter-adds, each block summed in increasing i (a stable counting sort, as
// ops::gather_rows), bit-identical for any thread count. idx is copied.
template <class T> Var gather_blocks(Tape<T>& t, Var x, std::span<const int64_t> idx, int64_t d);

// out = base with block idx[i] replaced by src[i, :]   base [rows, cols] (or zeros when base is an
// invalid Var), src [|idx|, d] → [rows, cols]. idx: distinct blocks in [0, rows·cols/d) (checked),
// any order; copied. Backward: dbase = G with the written blocks zeroed (they were overwritten),
// dsrc[i] = block idx[i] of G. With d = cols this replaces whole rows.
template <class T>
Var scatter_blocks(Tape<T>& t, Var base, std::span<const int64_t> idx, Var src, int64_t rows, int64_t cols);

// table [V, m], idx [n] with −1 ≤ idx[i] < V → [n, m]: out[i] = table[idx[i]], or a zero row when
// idx[i] < 0 (no gradient from it). Backward scatter-adds, each table row summed in increasing i
// (a stable counting sort, as ops::gather_rows), bit-identical for any thread count. idx is copied.
template <class T> Var gather_rows_or_zero(Tape<T>& t, Var table, std::span<const int32_t> idx);

// x [m, c], idx [m] with 0 ≤ idx[i] < n → [n, c]: out[u] = Σ_{i : idx[i] = u} x[i], summed in
// increasing i (a stable counting sort: bit-identical for any thread count); rows no index names
// are zero. The transpose of gather_rows: backward dx[i] = G[idx[i]]. idx is copied.
template <class T> Var index_add_rows(Tape<T>& t, Var x, std::span<const int64_t> idx, int64_t n);

// One GIR frontier hop, fused (layers/gir.hpp): the per-entry part of
//   H_l = ReLU([A_l H_{l−1} ‖ x U + b_U] W + b) = ReLU(s ⊙ A_l (H_{l−1} W_top) + (x U + b_U) W_bot + b)
// once the products with W_top and W_bot are taken outside (d×d each, instead of one 2d×d product
// per entry and a [|F|, 2d] concatenation):
//   out[i] = ReLU(s[node[i]] · Σ_j a_ij hw[j] + y[node[i]])
// a [F, P] (weights w_ij, 1 when it has none), hw [P, d], y [V, d], node [F] non-decreasing in [0, V)
// (GIR's frontier entries e = v·K + k are increasing, so their nodes are), s [V] or null (1).
// Backward, with g = G ⊙ [out > 0]: dy[u] += Σ_{node[i] = u} g[i] (in increasing i) and
// dhw += aᵀ (s[node] ⊙ g) over a's cached reverse; each output row is written by one thread: the same
// bits for any thread count. The tape co-owns a, node and s until its backward pass.
template <class T>
Var gir_hop(Tape<T>& t, std::shared_ptr<const Csr> a, Var hw, Var y, std::shared_ptr<const std::vector<int64_t>> node,
            std::shared_ptr<const std::vector<T>> s = nullptr);

}  // namespace locus::ops
