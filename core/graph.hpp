// Graph topologies seen by the message-passing kernels.
// Csr: an explicit sparse graph stored destination-major (row d lists the sources of d's
// in-edges), so kernels parallelise over destinations with no atomics. Dense: an implicit
// complete graph per block (a batch of sentences), never materialised.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace locus {

namespace dist {
struct HaloLink;
}

struct Csr {
  int64_t num_dst = 0, num_src = 0;
  std::vector<int64_t> indptr{0};  // [num_dst + 1]
  std::vector<int32_t> indices;    // [E] source of each edge; sorted within a row
  std::vector<float> weights;      // [E] per-edge weight; empty means all ones
  std::vector<int64_t> perm;       // [E] set by reverse(): position of each edge in the original
                                   // (empty on a transpose given to set_reversed without one)
  // Set on one rank's part of a partitioned graph (dist::localise): rows are the owned nodes,
  // sources [0, num_dst) the same nodes and [num_dst, num_src) the halo; gspmm exchanges it.
  std::shared_ptr<const dist::HaloLink> halo;

  // Edges src[i] -> dst[i] (duplicates kept); rows are destinations.
  static Csr from_edges(int64_t num_nodes, std::span<const int32_t> src, std::span<const int32_t> dst,
                        std::span<const float> weights = {});
  static Csr from_edges(int64_t num_dst, int64_t num_src, std::span<const int32_t> src,
                        std::span<const int32_t> dst, std::span<const float> weights = {});

  int64_t num_edges() const { return static_cast<int64_t>(indices.size()); }
  bool has_weights() const { return !weights.empty(); }
  float weight(int64_t e) const { return weights.empty() ? 1.0f : weights[e]; }

  // Adds the reverse of every edge that lacks one (a reverse edge copies its weight); square only.
  Csr symmetrise() const;
  // The undirected simple pattern: symmetrise(), then no self loops, no repeated sources and no
  // weights; rows sorted (the input METIS and the node orderings read).
  Csr simple_pattern() const;
  // Adds a self loop of weight w to every node without one. Row d's loop is source d: a square
  // graph, or a rank's part (sources [0, num_dst) are the rows' own nodes, then the halo).
  Csr add_self_loops(float w = 1.0f) const;
  Csr remove_self_loops() const;
  // Number of in-edges per destination / out-edges per source (unweighted counts).
  std::vector<float> in_degrees() const;
  std::vector<float> out_degrees() const;
  // The transposed graph (rows are sources); perm maps each of its edges to this graph's position.
  Csr reverse() const;
  // reverse(), computed once and cached; call only on a graph that is no longer modified.
  const Csr& reversed() const;
  // Caches r as reversed(), for a caller that builds the transpose faster from what it knows of
  // the graph (GIR's hop graphs, layers/gir.cpp). r must equal reverse() except that its perm may
  // be empty, for a graph no kernel reads edge values through (they check); only the sizes are
  // checked here, the caller's tests compare the rest.
  void set_reversed(Csr r);

 private:
  mutable std::shared_ptr<const Csr> reversed_;
};

// Complete graphs over consecutive blocks of nodes: block b spans [offsets[b], offsets[b+1]) and
// every node attends to every node of its block (itself included), or to those at or before it
// when causal. Edge id of (src s -> dst d) in block b: edge_offset(b) + (d - o_b) * len_b + (s - o_b).
struct Dense {
  std::vector<int64_t> offsets{0};
  bool causal = false;

  static Dense complete(int64_t n, bool causal = false);
  static Dense blocks(std::span<const int64_t> lengths, bool causal = false);

  int64_t num_blocks() const { return static_cast<int64_t>(offsets.size()) - 1; }
  int64_t num_nodes() const { return offsets.back(); }
  int64_t block_len(int64_t b) const { return offsets[b + 1] - offsets[b]; }
  int64_t edge_offset(int64_t b) const;
  // Size of a per-edge value array: sum of len_b^2 (causal entries above the diagonal are unused).
  int64_t num_edge_slots() const;
  // The explicit Csr of the same graph, edges in the order of their dense edge ids (non-causal:
  // position == edge id). For tests and small graphs.
  Csr to_csr() const;
};

// What a layer receives: either topology. Layers never loop over edges themselves.
struct GraphRef {
  const Csr* csr = nullptr;
  const Dense* dense = nullptr;
  GraphRef(const Csr& g) : csr(&g) {}      // NOLINT(implicit)
  GraphRef(const Dense& g) : dense(&g) {}  // NOLINT(implicit)
  int64_t num_dst() const { return csr ? csr->num_dst : dense->num_nodes(); }
  int64_t num_src() const { return csr ? csr->num_src : dense->num_nodes(); }
};

}  // namespace locus
