// The in-memory form of a dataset, as produced by the YAML loader and the built-in datasets.
// Plain data: no YAML, no graph kernels. The edge list is directed and already expanded
// (an undirected input line "a b" appears here as a->b and b->a; a self loop once).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace locus {

enum class Task { NodeClassification, LinkPrediction, PairClassification };

const char* task_name(Task t);

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

  // With `ids: name`: the token for each node index; empty with `ids: index`.
  std::vector<std::string> node_names;

  int64_t num_edges() const { return static_cast<int64_t>(src.size()); }
  int64_t num_features() const { return features.cols(); }
  bool is_sentences() const { return !blocks.empty(); }
};

}  // namespace locus
