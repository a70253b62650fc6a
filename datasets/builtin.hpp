// Datasets compiled into Locus, so examples and tests run with no files at all: karate equals
// its shared-data counterpart loaded from YAML (same node order, edges, labels, split); the others
// are seeded synthetic graphs (datasets/generators.hpp) with their default parameters, seed 0.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace locus {

// d with one dense feature column of ones (replacing any features): the plain Grid / Communities,
// where only the structure can tell nodes apart.
Dataset with_constant_feature(Dataset d);

// Unknown names are an InputError listing the available names (and the nearest one).
// karate: Zachary's karate club, 34 nodes, 78 undirected edges (156 directed), 2 factions,
// train = {0, 33}, val empty, test = the other 32; no features (num_nodes x 0).
// grid: GIR.md's Grid, a 20 x 20 4-neighbour grid (400 nodes, 760 edges), labels = the four
//   10 x 10 quadrants; one constant feature column (all ones, dense): GIR.md's "Grid", where
//   only the structure can tell nodes apart.
// grid-T: the same graph, labels and split with no features (num_nodes x 0), so `locus train`
//   gives it one-hot identity features: GIR.md's "Grid-T".
// communities: GIR.md's Communities, a connected caveman graph of 20 cliques of 20 nodes with
//   edges rewired with probability 0.01 (400 nodes, 3800 edges, kept connected), labels = clique;
//   one constant feature column (all ones, dense).
// communities-T: the same graph, labels and split with no features ("Communities-T").
// All four are node-classification datasets (task NodeClassification); the task of a run is
// chosen by the config. Their labels (quadrant / community) are what pair classification
// compares (datasets/tasks.hpp make_pair_split); link prediction uses only the edges.
// sbm: stochastic block model, 5 blocks of 200 nodes, p_in 0.05, p_out 0.005, labels = block;
//   no features.
// random: G(n, m) with 2000 nodes, 10000 edges, 5 uniform classes, 32 dense class-dependent
//   features.
// The generated ones carry a stratified 60/20/20 random split (seed 0).
// seq_probe, seq_order, seq_lengthgen: sentence tasks on complete graphs (datasets/sentence.hpp).
Dataset builtin_dataset(const std::string& name);

std::vector<std::string> builtin_dataset_names();

}  // namespace locus
