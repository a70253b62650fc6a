// Datasets compiled into Locus, so examples and tests run with no files at all.
// Each equals its shared-data counterpart loaded from YAML (same node order, edges, labels, split).
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.hpp"

namespace locus {

// Unknown names are an InputError listing the available names (and the nearest one).
// karate: Zachary's karate club, 34 nodes, 78 undirected edges (156 directed), 2 factions,
// train = {0, 33}, val empty, test = the other 32; no features (num_nodes x 0).
Dataset builtin_dataset(const std::string& name);

std::vector<std::string> builtin_dataset_names();

}  // namespace locus
