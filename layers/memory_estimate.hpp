// Resource guard of `locus train`: an estimate of the peak memory of training a GnnClassifier
// (graph caches, features, parameters + Adam state, tape values + gradients of one training step,
// attention buffers, anchor-branch state, positional-encoding solvers), computed from sizes alone
// before anything is allocated, and a check that refuses with the estimate, the limit and options.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph.hpp"
#include "layers/gnn.hpp"

namespace locus {

struct MemoryItem {
  std::string what;  // readable, with the formula, e.g. "GIR anchor state (frontier: 3 × N·K·d = …)"
  double bytes = 0;
  std::string kind;  // graph | features | params | activations | dense_attention | sparse_attention |
                     // anchor_state | laplacian | positional | pairs | runtime (selects the alternatives offered)
};

struct MemoryEstimate {
  std::vector<MemoryItem> items;
  double total() const;
  // "total 1.2 GiB: item 0.8 GiB, …" (items ≥ 1 MiB, largest first), for logs.
  std::string summary() const;
};

// What the caller knows before it builds the model.
struct GraphShape {
  int64_t num_nodes = 0;
  int64_t num_edges = 0;         // directed edges as stored in the Csr (0 for sentences)
  bool weighted = false;         // the Csr has edge weights
  int64_t feature_nnz = 0;       // non-zeros of the (sparse) input features
  bool dense_input = false;      // features multiplied as a dense [N, in_dim] matrix
  std::vector<int64_t> sentence_blocks;  // lengths of the Dense blocks; empty for an edge-list graph
  int64_t num_pairs = 0;         // pair tasks: training + validation + test pairs (0: node task)
  // Largest BFS depth from a node (bounds GIR's hops with gnn.gir_hops=-1 on the `reached`
  // path); 0: unknown, then log(N)/log(mean degree) + 2 is assumed. See bfs_depth_hint.
  int64_t depth_hint = 0;
};

// Bytes of a Csr's arrays (indptr, indices, weights when weighted), and of a Csr with the
// reverse() cache that gspmm's backward keeps (another Csr plus an 8-byte perm per edge).
double csr_bytes(double rows, double edges, bool weighted);
double csr_with_reverse(double rows, double edges, bool weighted);
// A count for item descriptions: "12345" below 1e5, else "1.23e+06".
std::string count_text(double x);

// Depth of a BFS from node 0 over in- and out-edges as stored (rows: destinations), O(N + E):
// at least the radius and at most the diameter of node 0's component.
int64_t bfs_depth_hint(const Csr& g);

// Peak bytes of one training run with the model of `spec` on a graph of shape `g` (float).
MemoryEstimate estimate_training_memory(const GnnSpec& spec, const GraphShape& g);

// min(MemAvailable of /proc/meminfo, cgroup (v2, else v1) memory limit − current usage when a
// limit is set). Falls back to 1 TiB when nothing can be read.
double available_memory_bytes();

// Resident memory of this process now (VmRSS of /proc/self/status; 0 when unreadable). The
// estimate counts the graph and features the caller already holds: compare it with
// available_memory_bytes() + resident_memory_bytes().
double resident_memory_bytes();

// Throws InputError when e.total() > limit_bytes: the estimate and its largest items, the limit,
// and alternatives in config keys (chosen by the dominant items and `spec`).
void check_memory(const MemoryEstimate& e, double limit_bytes, const GnnSpec& spec);

}  // namespace locus
