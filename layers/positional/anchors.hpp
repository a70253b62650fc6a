// Anchor sets and distances to them, as in P-GNN (You, Ying, Leskovec, ICML 2019): random node
// sets of geometrically shrinking sizes, and for every node the closeness s = 1/(d+1) to the
// nearest anchor of each set (d = shortest-path hop count on the unweighted undirected graph).
#pragma once
#include <cstdint>
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
// The same with explicit counts (num_sizes sizes, copies sets each; sizes as above, clamped to 1).
AnchorSets sample_anchor_sets(int64_t n, uint64_t seed, int num_sizes, int copies);

struct AnchorDistances {
  Mat value;                    // [n, num_sets]: 1/(d+1) to the nearest anchor of the set; 0 when
                                // d > cutoff or unreachable
  std::vector<int32_t> nearest; // [n * num_sets], row-major like value: the nearest anchor's node
                                // id (the smallest id among equally near ones), -1 when none
};

// One multi-source BFS per anchor set (Boost.Graph breadth_first_visit over a zero-copy view of the
// graph from undirected_simple), all anchors of the set in the queue at depth 0 in increasing id
// order. Nodes at depth == cutoff are discovered but never expanded, so a 2-hop BFS touches only
// the 2-hop ball around the set (cutoff < 0: no limit). The FIFO order makes each node's BFS parent
// lead back to the smallest-id anchor at its distance (by induction on depth: the queue of each
// depth is ordered by nearest anchor), which is `nearest`. Sets run in parallel (OpenMP, dynamic,
// blocks of consecutive sets), each thread with its own colour/depth/queue buffers reused across
// sets; every output entry is written by exactly one set, so results are identical for any thread
// count. Anchors outside [0, n) are a ShapeError.
// Cost: O(sum over sets of the edges inside the cutoff ball + n * num_sets) time; memory: the
// output (8 * n * num_sets bytes) plus, per thread, 13 n bytes of BFS state and column buffers for
// a block of up to 16 sets (128 n bytes), the block written out row by row (cache friendly).
AnchorDistances anchor_distances(const Csr& g, const AnchorSets& sets, int cutoff);

}  // namespace locus::pe
