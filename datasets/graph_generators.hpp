// Seeded generators for the many-graph datasets of "Benchmarking Graph Neural Networks" (Dwivedi et
// al., JMLR 2023, arXiv 2003.00982): PATTERN and CLUSTER (node classification on SBM graphs) and CSL
// (graph classification of circular skip-link graphs). Each returns ONE Dataset, the disjoint union
// of its graphs, with the split by graph; same output on every platform and OpenMP thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/dataset.hpp"

namespace locus {

// What every generator here returns (see dataset.hpp for the fields):
// - graph g holds consecutive nodes, graph_of[v] = g, num_graphs set; no edge joins two graphs;
// - undirected, each edge {a, b} stored as a->b then b->a, pairs in increasing (min, max) order
//   (so graph by graph); no self loops, no duplicates; num_input_edges = the undirected count;
// - graphs 0 .. train-1 are train_graphs, then val_graphs, then test_graphs (for CSL: the fold);
// - features dense one-hot (features_dense = true), one non-zero 1.0 per row (see each generator).
// Randomness is counter-based (splitmix64 of key and index, core/rng.hpp): every value of graph g
// depends only on (seed, g), so graphs are built in parallel with identical results.
// Bad parameters are InputErrors naming the parameter (as a `locus generate` option) and the fix.
//
// Reference checked: github.com/graphdeeplearning/benchmarking-gnns, data/SBMs/generate_SBM_PATTERN.ipynb,
// data/SBMs/generate_SBM_CLUSTER.ipynb, data/SBMs.py, data/CSL.py; the paper's Section on PATTERN /
// CLUSTER (as quoted by dgl.data.PATTERNDataset / CLUSTERDataset docs); CSL graphs come from
// github.com/PurdueMINDS/RelationalPooling (Run_Gin_Experiment.py, Synthetic_Data/*.pkl); their
// recipe (lexicographic relabellings) is spelled out in a later re-implementation, data/Create_CSL.py.

// PATTERN: each graph is an SBM G of `communities` blocks, block sizes uniform in
// [min_size, max_size], pair inside a block an edge with probability p, across blocks q; plus a
// planted pattern P of pattern_size nodes. P is one of `patterns` instances, each drawn once:
// its edges G(pattern_size, p_pattern) and its node features; every pattern node is joined to every
// G node with probability q_pattern. The node order of each graph is then a uniform permutation.
// Label 1 for pattern nodes, 0 for G nodes. Feature: a value uniform in {0 .. vocabulary-1} per G
// node (the pattern's own values for P), stored one-hot (vocabulary columns) — the reference feeds
// the integer to an nn.Embedding(vocabulary, d), which is a linear map of this one-hot.
// Graph i of a split of m graphs uses instance floor(i * patterns / m), so with the defaults each
// instance makes 100 train, 20 val and 20 test graphs, as in the reference.
// Differences from the reference notebook:
// - q = 0.35, as the paper; the stored notebook has q = 0.2. Per graph the released data has
//   ~119 nodes / ~6100 directed edges, q = 0.2 would give ~117 / ~4750, this gives ~117 / ~5880
//   (the small node gap to the released data is unexplained by the notebook);
// - block sizes: the notebook's np.random.randint(5, 35) excludes 35, so max_size = 34 here (the
//   paper says "[5, 35]");
// - the notebook draws the pattern's edges with the SBM's p; here p_pattern (both 0.5);
// - a graph's random numbers are hashed per (seed, graph, pair) instead of one numpy stream.
struct PatternParams {
  int64_t train_graphs = 10000, val_graphs = 2000, test_graphs = 2000;
  uint64_t seed = 0;
  int32_t communities = 5;
  int32_t min_size = 5, max_size = 34;  // inclusive
  double p = 0.5, q = 0.35;
  int32_t pattern_size = 20;
  double p_pattern = 0.5, q_pattern = 0.5;
  int32_t patterns = 100;
  int32_t vocabulary = 3;
};
Dataset generate_pattern(const PatternParams& p);

// CLUSTER: each graph is an SBM of `communities` blocks, sizes uniform in [min_size, max_size],
// edge probability p inside a block and q across; the node order is a uniform permutation. Label =
// block. In each block one node, chosen uniformly, has feature value block+1; all others 0. Stored
// one-hot with communities+1 columns (the reference's nn.Embedding(7, d) for 6 blocks).
// Differences from the reference notebook: max_size = 34 (np.random.randint(5, 35) excludes 35);
// hashed random numbers per (seed, graph, pair) instead of one numpy stream.
struct ClusterParams {
  int64_t train_graphs = 10000, val_graphs = 1000, test_graphs = 1000;
  uint64_t seed = 0;
  int32_t communities = 6;
  int32_t min_size = 5, max_size = 34;  // inclusive
  double p = 0.55, q = 0.25;
};
Dataset generate_cluster(const ClusterParams& p);

// CSL: circular skip-link graphs G_skip(nodes, s): node i is joined to i+1 and i+s (mod nodes), so
// every node has degree 4 (2*nodes undirected edges). Class c = index of skips[c]; graphs_per_class
// graphs per class, class-major (graph g is class g / graphs_per_class). Graph k of a class is the
// base labelling relabelled by u -> pi_k(u), pi_0 the identity and pi_k the next permutation in
// lexicographic order whose adjacency differs from all earlier ones (as the Relational Pooling data
// was made: Create_CSL.py make_skip_graphs with sample_permutations=False, "In the RP paper, this
// value was set to False"); random_relabel draws pi_k (k >= 1) uniformly instead. The node
// feature is constant: one column of 1.0 (the reference's zero feature into nn.Embedding(1, d)).
// No node labels (labels empty); graph_labels / num_graph_classes hold the classes.
// Split: stratified 5-fold cross-validation, as data/CSL.py, dealt by fold_split (datasets/splits.hpp,
// the YAML's split.folds with stratify and the generator's seed): test_graphs = fold `fold`,
// val_graphs = fold (fold+1) mod 5, train_graphs = the other three (3:1:1, 9/3/3 per class).
// Differences from the reference:
// - the reference's val is a random stratified quarter of the 4 remaining folds (sklearn
//   train_test_split), drawn independently per fold; here the next fold (the same distribution for
//   one fold, and the 5 val sets partition the data);
// - folds are seeded; the reference fixed one unseeded draw in data/CSL/CSL_{train,val,test}.index;
// - self loops: the RP files add the identity to each adjacency; benchmarking-gnns removes them,
//   and they are never made here.
struct CslParams {
  int32_t nodes = 41;
  std::vector<int32_t> skips = {2, 3, 4, 5, 6, 9, 11, 12, 13, 16};
  int32_t graphs_per_class = 15;
  int32_t fold = 0;  // 0 .. 4
  bool random_relabel = false;
  uint64_t seed = 0;
};
Dataset generate_csl(const CslParams& p);

}  // namespace locus
