// Seeded synthetic graphs: uniform random G(n, m), stochastic block model, 2-D grid and connected
// caveman (the Grid and Communities graphs of GIR.md), each returned as a node-classification
// Dataset with labels and a split. The same parameters and seed give the same Dataset on every
// platform and for every OpenMP thread count (counter-based hashing, no std distributions).
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/dataset.hpp"

namespace locus {

// What every generator returns:
// - undirected, each edge {a, b} stored as a->b then b->a (dataset.hpp), pairs in increasing
//   (min, max) order; no self loops, no duplicates; num_input_edges = the undirected count;
// - labels 0..C-1 on every node;
// - a stratified random split 60/20/20 with the generator's seed: the same nodes as the
//   YAML form `split: {random: {train: 0.6, val: 0.2, test: 0.2, seed: SEED, stratify: true}}`
//   would give (datasets/splits.hpp);
// - features, when asked for (`features` > 0): dense, class-dependent (see below), else none
//   (num_nodes x 0; `locus train` then uses one-hot identity features); random and rmat with
//   `feature_nnz` > 0: sparse binary bag-of-words rows instead, like Planetoid's (see below).
//
// Features: x[v][j] = s[c][j] + eps, c = label of v, s[c][j] in {-1, +1} a random sign per class
// and column, eps ~ N(0, 1) approximated by Irwin-Hall (the sum of 12 uniforms minus 6: mean 0,
// variance 1, |eps| <= 6), rounded to 3 decimals. Everything up to the rounding is integer
// arithmetic, so the values are bit-identical everywhere, and their text form is short and reads
// back exactly. Class means are 2*sqrt(#differing signs) standard deviations apart, so a linear
// model separates the classes well (about 2*sqrt(d/2) sigma for d columns).
//
// Bag-of-words features (feature_nnz = k > 0): each node has k distinct columns set to 1 out of
// `features`; each is drawn, by a fair coin, among its class's columns (j ≡ label mod classes) or
// among all columns (a drawn column already set is drawn again). So about half of a row marks the
// class, as the words of a paper mark its topic. Needs features ≥ classes and k ≤ features / 2.
//
// Bad parameters are InputErrors naming the parameter (as the `locus generate` option) and the fix.

// Uniform random graph G(n, m): exactly m distinct undirected edges, every m-subset of the
// n(n-1)/2 pairs equally likely: sequential rejection sampling of uniform pairs (keep the first
// m distinct), done as one parallel batch of m hashed candidates, sorted and deduplicated as
// 64-bit keys, plus a short sequential top-up for the duplicates. Above half of all pairs the
// pairs left out are sampled instead. Labels uniform over the classes, independent of the edges,
// so here the features carry all of the class signal.
// Cost: O(m log m) time, about 8 bytes per edge of temporary memory plus the Dataset
// (2 x 2m int32 edge ends + 8 bytes per feature value).
struct RandomGraphParams {
  int64_t nodes = 2000;
  int64_t edges = 10000;  // undirected; at most nodes*(nodes-1)/2
  int32_t classes = 5;
  int32_t features = 32;  // dense columns; 0: none
  int32_t feature_nnz = 0;  // > 0: sparse bag-of-words rows of this many ones instead
  uint64_t seed = 0;
};
Dataset generate_random(const RandomGraphParams& p);
// A power-law graph (R-MAT, Chakrabarti et al. 2004, Graph500's quadrant probabilities 0.57, 0.19,
// 0.19, 0.05): exactly p.edges distinct undirected edges, each drawn by recursive quadrant choice
// in the 2^s × 2^s adjacency matrix (2^s ≥ nodes; draws off the graph or on the diagonal redrawn),
// node ids relabelled by a seeded permutation (so the ids carry no locality). A heavy-tailed degree
// distribution: a few hubs and many low-degree nodes, as real web and social graphs. Labels,
// features and split as generate_random. edges ≤ nodes(nodes−1)/8.
Dataset generate_rmat(const RandomGraphParams& p);

// Stochastic block model: block b holds block_sizes[b] consecutive nodes, labelled b; each pair
// inside a block is an edge with probability p_in, each pair across blocks with probability p_out,
// independently. Pairs are visited by geometric skipping (Batagelj & Brandes 2005): the gap to the
// next edge is floor(log(u) / log(1 - p)), u uniform in (0, 1], so the cost is O(n + edges), not
// O(n^2). The log is computed from + - * / and fma only, so the skips match on every IEEE-754
// platform (libm logs may differ in the last bit).
struct SbmParams {
  std::vector<int64_t> block_sizes = std::vector<int64_t>(5, 200);
  double p_in = 0.05, p_out = 0.005;
  int32_t features = 0;  // dense class-dependent columns as above; 0: none
  uint64_t seed = 0;
};
Dataset generate_sbm(const SbmParams& p);

// rows x cols 2-D grid, node r*cols + c, edges to the right and lower neighbours (4-neighbour
// lattice): rows*(cols-1) + cols*(rows-1) edges (760 for GIR.md's 20 x 20). The graph has no
// randomness; the seed only draws the split. Label: the coarse region of a regions x regions
// partition, label = floor(r*regions/rows) * regions + floor(c*regions/cols) (the four 10 x 10
// quadrants of a 20 x 20 grid by default). No features.
struct GridParams {
  int64_t rows = 20, cols = 20;
  int32_t regions = 2;  // per side; classes = regions^2
  uint64_t seed = 0;
};
Dataset generate_grid(const GridParams& p);

// Connected caveman graph (networkx connected_caveman_graph): `communities` cliques of `size`
// nodes (community i holds nodes i*size .. i*size+size-1, labelled i); in each clique starting at
// s the edge (s, s+1) is replaced by (s, s-1 mod n), which links the cliques into a ring. That is
// communities * size*(size-1)/2 edges. Then each edge, in (min, max) order, is rewired with
// probability p as in P-GNN's Communities data set: keep one end u (a fair coin picks which),
// draw x uniformly among all nodes, and replace the edge by (u, x) unless x == u or (u, x) is
// already an edge (then the edge stays). The edge count never changes.
// Kept connected: the edges of a fixed connected skeleton are never rewired, namely the ring
// links and, in each clique, the star around its last node (s+size-1). Every other edge may
// move, whatever p is. No features. Needs communities >= 2 and size >= 3.
struct CavemanParams {
  int64_t communities = 20, size = 20;
  double p = 0.01;
  uint64_t seed = 0;
};
Dataset generate_caveman(const CavemanParams& p);

}  // namespace locus
