// What a task computes from a model's output in one run: the training loss, per split the metric
// (node and graph classification: accuracy or class-weighted accuracy, train.metric; link
// prediction, pair classification: ROC AUC of ⟨z_u, z_v⟩,
// P-GNN's protocol) and the validation loss for model selection. Under partitioned training the
// loss is this rank's share of the global mean and the metrics are global.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "datasets/tasks.hpp"
#include "train/config.hpp"
#include "train/problem.hpp"

namespace locus {

struct SplitScores {
  double train = 0, val = 0, test = 0;  // the task's metric; NaN for an empty split
};

// A metric's name in reports: "ROC AUC" for "auc", "accuracy" for "acc", "class-weighted accuracy" for "wacc".
inline const char* metric_title(std::string_view metric) {
  return metric == "auc" ? "ROC AUC" : metric == "wacc" ? "class-weighted accuracy" : "accuracy";
}

// The metric a task scores: "auc" for pair tasks, else train.metric's "acc" or "wacc".
inline const char* metric_name(bool pair_task, Metric metric) {
  return pair_task ? "auc" : metric == Metric::WeightedAccuracy ? "wacc" : "acc";
}

class TaskObjective {
 public:
  // Pair tasks draw this run's split from `seed` (80/10/10 pairs with equal negatives); link
  // prediction then passes messages over the training edges only (graph()).
  // Classification scores train.metric (acc or wacc) and weighs its loss by train.class_weights.
  TaskObjective(const Problem& p, uint64_t seed, Metric metric = Metric::Accuracy,
                ClassWeights weights = ClassWeights::None);

  const char* metric() const { return metric_name(split_.has_value(), metric_); }
  // Pair tasks: this run's split of the pairs (null for node classification).
  const TaskSplit* split() const { return split_ ? &*split_ : nullptr; }
  // The graph the model runs on in this run: the problem's, or the pair split's.
  const Csr& graph() const { return split_ ? pair_graph_ : problem_.graph; }
  // Pair tasks: fresh training negatives for `epoch` (1-based).
  void before_epoch(int epoch);
  // The training loss of the model output `out` (log-probabilities or embeddings) of the whole
  // graph (datasets of many graphs: the trainer computes each mini-batch's loss itself).
  Var loss(Tape<float>& t, Var out) const;
  // The classification loss of the rows `rows` of log-probabilities `logp` (labels: one per row of
  // logp): mean NLL, or its class-weighted form (ClassWeights::Complement; weights from these rows).
  Var class_loss(Tape<float>& t, Var logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& rows) const;
  // `out`: the output for every node, or for every graph in a graph task ([G, classes]).
  SplitScores scores(const Mat& out) const;
  // Mean NLL of the validation rows (node classification; global under partitioned training).
  double val_loss(const Mat& out) const;

 private:
  const Problem& problem_;
  uint64_t seed_;
  Metric metric_;
  ClassWeights weights_;
  std::optional<TaskSplit> split_;
  Csr pair_graph_;
};

}  // namespace locus
