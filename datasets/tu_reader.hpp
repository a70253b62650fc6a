// Reads a dataset of many graphs in the TU format (Morris et al. 2020, the TUDataset collection):
// a folder of DS_A.txt, DS_graph_indicator.txt, DS_graph_labels.txt (or DS_graph_attributes.txt)
// and the optional node and edge files, all with 1-based ids. The loader uses it for `format: tu`
// and for a TU folder given without a dataset.yaml (datasets/loader.hpp).
#pragma once
#include <string>

#include "datasets/dataset.hpp"

namespace locus {

// The DS of the one DS_A.txt in `folder`; an InputError when there is none or more than one.
std::string find_tu_prefix(const std::string& folder);

// folder/DS_*.txt as one Dataset (the disjoint union of its graphs, dataset.hpp), read as PyTorch
// Geometric's TUDataset reads them, so results compare:
// - DS_graph_indicator.txt: line i is the graph (1..G) of node i; graph g is Dataset graph g − 1.
//   Every graph id 1..G must have a node (no gaps).
// - DS_A.txt: "i, j" per line, a directed edge between nodes of one graph; self loops are dropped
//   and repeated lines merged (both counted); `directed` is false when every edge has its reverse.
// - Features: DS_node_attributes.txt (floats, comma-separated) followed by DS_node_labels.txt one-hot,
//   each label column shifted by its minimum (width max − min + 1); none without these files.
// - task graph_classification: DS_graph_labels.txt, one integer per graph; classes are the distinct
//   values in increasing order, and label names keep the values (MUTAG's −1 / 1 become classes 0 / 1).
//   task graph_regression: DS_graph_attributes.txt, one or more floats per graph.
// - DS_edge_labels.txt: the first column, one per line of DS_A.txt, shifted by its minimum; kept with
//   its edge (the first line of a merged edge wins). DS_edge_attributes.txt is not read.
// - No split: the caller decides (a dataset.yaml's split:, or the loader's default folds for a bare folder).
// A node without a graph, graph ids with gaps, an edge across two graphs, an id out of range or a
// file whose line count does not match is an InputError naming the file, line, token and fix.
Dataset read_tu(const std::string& folder, const std::string& prefix, Task task);

}  // namespace locus
