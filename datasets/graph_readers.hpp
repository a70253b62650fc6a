// Datasets of many graphs described by a dataset YAML (`graphs:`): readers for the graph of each
// node, graph labels and targets, and lists of graph ids (split files), and the rules that tie
// them to the nodes and edges (every node in a graph, graph ids without gaps, no edge across two
// graphs). Errors are InputErrors naming the file, line, token and fix, as in readers.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "datasets/readers.hpp"

namespace locus {

// "node graph" per line (graph ids are whole numbers ≥ 0); a node listed twice is an error.
// Returned as (node, graph token, line) entries, the form the node table's graph_column gives too.
LabelEntries read_node_graphs(const std::string& path, const TextFormat& fmt, NodeIdMap& ids, bool define);

// Sets ds.graph_of and ds.num_graphs (= 1 + the largest id) from the entries. A token that is not a
// whole number ≥ 0, a node without a graph (named by its id: `names` in ids: name mode) and a graph
// id no node uses (a gap) are errors; `yaml_at` ("file:line" of graphs:) is named in their fixes.
void assign_graphs(Dataset& ds, const LabelEntries& e, const std::vector<std::string>& names, const std::string& yaml_at);

// The first edge whose ends lie in two graphs, as an error at its line of the edges file (found
// by reading the file again); nothing when every edge lies in one graph.
void check_edges_within_graphs(const Dataset& ds, const std::string& edges_path, const TextFormat& fmt, NodeIdMap& ids);

// "graph label" per line, graph ids in [0, num_graphs), each at most once: (graph, token, line)
// entries for resolve_labels (readers.hpp), which numbers the classes as for node labels.
LabelEntries read_graph_labels(const std::string& path, const TextFormat& fmt, int64_t num_graphs);

// "graph v1 ... vt" per line: every graph exactly once, t ≥ 1 finite floats, the same t on every
// line. Sets ds.graph_targets (row-major, graph order) and ds.num_targets.
void read_graph_targets(Dataset& ds, const std::string& path, const TextFormat& fmt);

// One graph id per line, in [base, num_graphs + base) (base 1 for a TU dataset's 1-based ids), each
// at most once; returned 0-based.
IdList read_graph_id_list(const std::string& path, const TextFormat& fmt, int64_t num_graphs, int64_t base);

// The labelled nodes of the given graphs, in increasing node order (a node task's inductive
// split: whole graphs held out).
std::vector<int32_t> labelled_nodes_of(const Dataset& ds, const std::vector<int32_t>& graphs);

}  // namespace locus
