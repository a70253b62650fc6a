// The in-memory form of a dataset, as produced by the YAML loader and the built-in datasets.
// Plain data: no YAML, no graph kernels. The edge list is directed and already expanded
// (an undirected input line "a b" appears here as a->b and b->a; a self loop once). A dataset of
// many graphs (the YAML's `graphs:`, or a TU folder) is their disjoint union with a graph id per
// node, graph labels or targets, and splits by graph.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace locus {

enum class Task { NodeClassification, LinkPrediction, PairClassification, GraphClassification, GraphRegression };

const char* task_name(Task t);
// Pair tasks: the model scores node pairs (its output: node embeddings).
inline bool is_pair_task(Task t) { return t == Task::LinkPrediction || t == Task::PairClassification; }
// Graph tasks: one output per graph, through a readout over each graph's nodes.
inline bool is_graph_task(Task t) { return t == Task::GraphClassification || t == Task::GraphRegression; }

struct Dataset {
  std::string name;
  std::string source;  // the dataset.yaml path, or "built-in:NAME"
  Task task = Task::NodeClassification;
  bool directed = false;
  int64_t num_nodes = 0;

  // Directed edges after expansion, duplicate merging and self-loop policy.
  std::vector<int32_t> src, dst;
  std::vector<float> weight;  // empty when unweighted, else one per edge
  int64_t num_input_edges = 0;      // edge lines read
  int64_t num_duplicates_merged = 0;
  int64_t num_self_loops_dropped = 0;

  // num_nodes × dim; zero columns when the dataset has no features.
  MovableSpMat features;  // moves with the Dataset in O(1)
  bool features_dense = false;  // declared `format: dense` in the YAML

  // One label per node, -1 for unlabeled nodes; empty when the dataset has no labels.
  std::vector<int32_t> labels;
  int32_t num_classes = 0;
  std::vector<std::string> label_names;  // for token labels (sorted order); empty for integers

  // Sentence datasets: the topology is a batch of complete graphs (core/graph.hpp Dense) whose
  // blocks are consecutive nodes of these lengths; src/dst are then empty. Empty for edge lists.
  std::vector<int64_t> blocks;

  // Node ids of the splits (node classification).
  std::vector<int32_t> train, val, test;

  // Many graphs: node v is in graph graph_of[v] ∈ [0, num_graphs); every graph has a node and no
  // edge joins two graphs (the loader checks both). Empty, num_graphs 0, for one graph.
  std::vector<int32_t> graph_of;
  int64_t num_graphs = 0;
  // graph_classification: one class per graph (−1 unlabeled), classes as for node labels.
  std::vector<int32_t> graph_labels;
  int32_t num_graph_classes = 0;
  std::vector<std::string> graph_label_names;  // token labels in sorted order; empty for integers
  // graph_regression: num_graphs × num_targets floats, row-major.
  std::vector<float> graph_targets;
  int64_t num_targets = 0;
  // Splits by graph (graph ids). A node task on many graphs also lists the labelled nodes of
  // these graphs in train / val / test (the inductive protocol: whole graphs are held out).
  std::vector<int32_t> train_graphs, val_graphs, test_graphs;
  // Edge labels (a TU folder's DS_edge_labels.txt): one per directed edge, aligned with src / dst,
  // in [0, num_edge_labels); empty when the dataset has none.
  std::vector<int32_t> edge_labels;
  int32_t num_edge_labels = 0;

  // With `ids: name`: the token for each node index; empty with `ids: index`.
  std::vector<std::string> node_names;

  int64_t num_edges() const { return static_cast<int64_t>(src.size()); }
  int64_t num_features() const { return features.cols(); }
  bool is_sentences() const { return !blocks.empty(); }
  bool has_graphs() const { return num_graphs > 0; }
  bool is_graph_task() const { return locus::is_graph_task(task); }
};

}  // namespace locus
