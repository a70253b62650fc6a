// Differentiable row-layout ops behind the anchor models (GIR, P-GNN; layers/gir.hpp, layers/pgnn.hpp):
// a free reshape ([N, K·d] ↔ [N·K, d], the same row-major data), a per-row broadcast (each node row
// repeated for its K anchor entries), a gather and a scatter of d-wide blocks (read / overwrite some
// (v, k) entries of an [N, K·d] state in place of a reshape: the masked update of a frontier) and a
// row gather whose negative indices read a zero row; and GIR's whole frontier propagation fused
// into one op (gir_frontier).
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

// The fixed structure of one GIR frontier propagation (layers/gir.hpp), built once per anchor
// sampling: level 0 holds the anchors' own entries, level l the entries first reached at hop l.
template <class T>
struct GirLevels {
  int64_t num_nodes = 0;  // V: nodes of the graph (rows of y and of a node_sum output)
  // hop[l−1] = A_l [|level l|, |level l−1|], weights a_ij (1 when it has none), l = 1..L.
  std::vector<std::shared_ptr<const Csr>> hop;
  // node[l]: the node of each row of level l, l = 0..L, non-decreasing (GIR's entries e = v·K + k
  // are increasing within a level, so their nodes are).
  std::vector<std::shared_ptr<const std::vector<int64_t>>> node;
  // weight[l−1]: the block b of w_top and y that hop l reads (hops past the last weight reuse it).
  std::vector<int> weight;
  // s [V] (Mean aggregation: 1 / in-degree) or null (1).
  std::shared_ptr<const std::vector<T>> scale;
  // For the entry_dot readout only: K, and entry[l] = the entry e = v·K + k of each row of level l
  // (node[l][i] = entry[l][i] / K), distinct across levels.
  int64_t num_sets = 0;
  std::vector<std::shared_ptr<const std::vector<int64_t>>> entry;
};
// What gir_frontier returns: the rows of every level stacked [E, d], their sum per node [V, d], or
// each row's dot product with a vector at its entry [V, K].
enum class GirReadout { rows, node_sum, entry_dot };

// GIR's frontier propagation as one op (layers/gir.hpp), with u = node_l[i] and b = weight[l−1]:
//   H_0 = start,   H_l[i] = ReLU(s[u] · (Σ_j a_ij H_{l−1}[j]) · W_top[b] + y[u, b])
// start [|level 0|, d], w_top [B·d, d] (block b = rows [b·d, (b+1)·d)), y [V, B·d] (block b =
// columns [b·d, (b+1)·d)); w_top and y may be invalid Vars when there is no hop.
//   rows:     out [E, d] = H_0, H_1, ..., H_L stacked (E = Σ_l |level l|)
//   node_sum: out [V, d], out[v] = out_scale · Σ of v's rows, in level order and increasing row
//             within a level (zero for a node without rows): the same bits as rows, index_add_rows
//             and scale.
//   entry_dot: out [V, K], out[v, k] = H[row of entry (v, k)] · w_out (w_out [1, d]), zero at
//             entries without a row: GIR's Z_pos.
// Only the stacked H is kept for backward (node_sum and entry_dot keep it off the tape: no [E, d]
// gradient);
// backward walks the levels from the deepest, recomputes each level's aggregate, and needs two
// level-sized scratch buffers. Each output row, and each fixed block of rows' share of the d×d
// weight gradient (the blocks then added in order), is summed by one thread in a fixed order: the same
// bits for any thread count. The tape co-owns `levels` until its backward pass.
template <class T>
Var gir_frontier(Tape<T>& t, GirLevels<T> levels, Var start, Var w_top, Var y, GirReadout readout,
                 double out_scale = 1.0, Var w_out = Var{});

}  // namespace locus::ops
