// Anchor sets and distances to them, as in P-GNN (You, Ying, Leskovec, ICML 2019): random node
// sets of geometrically shrinking sizes, and for every node the closeness s = 1/(d+1) to the
// nearest anchor of each set (d = shortest-path hop count on the unweighted undirected graph).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/graph.hpp"
#include "core/tensor.hpp"

namespace locus::pe {

// Set i holds nodes[offsets[i] .. offsets[i+1]), sorted ascending, distinct.
struct AnchorSets {
  std::vector<int64_t> offsets{0};
  std::vector<int32_t> nodes;
  int64_t num_sets() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t set_size(int64_t i) const { return offsets[i + 1] - offsets[i]; }
};

// P-GNN's scheme: c = floor(log2 n) sizes (c = 1 when n = 1; no sets when n = 0),
// size_j = max(1, floor(n / 2^(j+1))) for j = 0..c-1 (n/2, n/4, ..., n/2^c), `copies` = c sets of
// each size. Set index = j * copies + r (size-major). Each set is uniform without replacement
// (partial Fisher-Yates) from its own generator Rng(splitmix64(seed ^ splitmix64(set index))), so
// the sets depend only on (n, seed), also when sampled in parallel.
AnchorSets sample_anchor_sets(int64_t n, uint64_t seed);
// That scheme's c = max(⌊log₂ n⌋, 1) (0 when n ≤ 0), and its c² sets: the K of P-GNN's sets for
// posenc_Anchor, anchor indication and the position branch (the memory estimate counts by it too).
int anchor_set_sizes(int64_t n);
int64_t anchor_set_count(int64_t n);
// The same with explicit counts (num_sizes sizes, copies sets each; sizes as above, clamped to 1).
AnchorSets sample_anchor_sets(int64_t n, uint64_t seed, int num_sizes, int copies);
// Many graphs (a batch is a disjoint union): graph g's sets come from the seed
// graph_anchor_seed(seed, g), so a graph draws the same sets in any batch and alone; `seed` is the
// model's evaluation seed or a training call's key.
uint64_t graph_anchor_seed(uint64_t seed, int64_t g);
// A batch's sets on its node ids: set k is the union over the batch's graphs b (nodes [offset[b],
// offset[b+1])) of set k of sample_anchor_sets(n_b, seeds[b], sizes, sizes), shifted by offset[b].
// No edge joins two graphs, so a multi-source BFS from the union gives every node its distance
// within its own graph. sizes² sets (sizes ≥ 1; an empty graph adds no nodes to them).
AnchorSets batch_anchor_sets(std::span<const int64_t> offset, std::span<const uint64_t> seeds, int sizes);
// Single-node anchors (GIR.md's alternative): min(k, n) distinct nodes drawn uniformly without
// replacement (partial Fisher-Yates from Rng(seed)), one set each, in the order drawn. k ≥ 0.
AnchorSets sample_anchor_nodes(int64_t n, uint64_t seed, int64_t k);
// How many single-node anchors a graph of n nodes gets: `requested` (clamped to n) when > 0; else
// K = min(n, max(⌊log₂ n⌋², ⌊kAnchorNodePairs / n⌋)). ⌊log₂ n⌋² is P-GNN's count; a small graph,
// whose whole N × K state fits kAnchorNodePairs node-anchor pairs, takes more, up to every node
// (on a 250-node, 5-block SBM with constant features GCN + GIR gave 90.8 % with 49 anchors and
// 93.6 % with all 250; bench/results/position_only.md). Graphs above ~700 nodes keep ⌊log₂ n⌋².
inline constexpr int64_t kAnchorNodePairs = int64_t(1) << 16;
int64_t anchor_node_count(int64_t n, int64_t requested = 0);

using IndexMat = Eigen::Matrix<int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct AnchorDistances {
  Mat value;         // [n, num_sets]: 1/(d+1) to the nearest anchor of the set; 0 when d > cutoff
                     // or unreachable
  IndexMat nearest;  // [n, num_sets]: node id of the nearest anchor (rule below), -1 when none
};

// One multi-source BFS per anchor set, all anchors at depth 0, level by level. Nodes at depth ==
// cutoff are reached but never expanded, so a 2-hop BFS touches only the 2-hop ball around the set
// (cutoff < 0: no limit).
//
// Direction-optimising (Beamer, Asanovic, Patterson, SC'12): each level is expanded either
// top-down, through Boost.Graph's breadth_first_visit over a zero-copy view of the graph from
// undirected_simple (FIFO queue, the level sorted by node id before it is expanded), or bottom-up:
// every unreached node scans its sorted neighbour list and stops at the first neighbour in the
// frontier. Bottom-up is an optimisation Boost.Graph does not offer; it wins on large frontiers:
// the depth-1 level of a set of n/2 anchors costs ~2 probes per node instead of a scan of every
// anchor's edges. The choice per level is a cost estimate (top-down: the frontier's total degree
// m_f; bottom-up: n/32 + U * min(dbar, n dbar / m_f) for U unreached nodes of mean degree dbar);
// `dir` forces one direction (tests, benchmarks). Frontier and reached sets are bitmaps (n bits).
//
// `nearest`: an anchor is its own; any other node takes the nearest anchor of its parent, the
// smallest-id neighbour one hop closer to the set. Both directions produce exactly this (sorted
// top-down levels discover each node from its smallest-id parent; bottom-up stops at the first
// frontier neighbour in sorted order), so results do not depend on the direction chosen. It is
// deterministic but, like any tie rule on ids, not equivariant under relabelling (the distance is).
//
// Sets run in parallel (OpenMP, dynamic, blocks of up to 16 consecutive sets), each thread with
// its own BFS state; every output entry is written by exactly one set, so results are identical
// for any thread count. Anchors outside [0, n) are a ShapeError.
// Cost: O(n * num_sets) plus, per set and level, min(top-down, bottom-up) as above; at 1M nodes,
// 10M edges, 361 sets, cutoff 2: ~7 CPU-seconds (forced top-down: ~12; a plain Boost BFS: ~28).
// Memory: the output (8 * n * num_sets bytes, each entry written once, no zero fill) plus, per
// thread, depth/nearest column buffers for a block of sets (5 n bytes per set for cutoffs up to 254,
// 8 n bytes otherwise) written out row by row (cache friendly), and 3 bitmaps of n bits.
enum class BfsDirection { hybrid, top_down, bottom_up };
AnchorDistances anchor_distances(const Csr& g, const AnchorSets& sets, int cutoff,
                                 BfsDirection dir = BfsDirection::hybrid);
// The values alone (value of anchor_distances, bit for bit), by a bit-parallel multi-source BFS:
// 64 sets share a word per node, and each level is one pull pass over the graph, node v taking
// the OR of its neighbours' frontier words (bits new at v are at this depth). Cost per 64 sets:
// levels × (n + m) word operations (levels ≤ cutoff), against 64 separate searches above; nodes
// whose 64 sets are all reached are skipped. Parallel over nodes within a level (each node's word
// and output row written by one thread: the same values for any thread count). Memory: the
// output plus 3 words per node. No `nearest`: P-GNN's branch needs anchor_distances.
Mat anchor_values(const Csr& g, const AnchorSets& sets, int cutoff);
// The same BFS, hop counts only: depth [n, num_sets] = d (0 for members), −1 beyond the cutoff or
// unreachable; value = 1/(depth + 1) where depth ≥ 0. 4 n·num_sets bytes instead of 8.
IndexMat anchor_depths(const Csr& g, const AnchorSets& sets, int cutoff, BfsDirection dir = BfsDirection::hybrid);

}  // namespace locus::pe
