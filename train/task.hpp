// What a task computes from a model's output in one run: the training loss, per split the metric
// (node and graph classification: accuracy or class-weighted accuracy, train.metric; link
// prediction, pair classification: ROC AUC of ⟨z_u, z_v⟩, P-GNN's protocol; graph regression: the
// mean absolute error of the predicted targets, with the L1 loss) and the validation loss for model
// selection. Under partitioned training the loss is this rank's share of the global mean and the
// metrics are global.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "datasets/tasks.hpp"
#include "train/config.hpp"
#include "train/problem.hpp"

namespace locus {

struct SplitScores {
  double train = 0, val = 0, test = 0;  // the task's metric; NaN for an empty split
};

// A metric as reports and model selection see it, declared once per metric in metric_info().
struct MetricInfo {
  const char* name;       // "acc": the reports' keys (test_<name>_mean, val_<name>, CSV columns)
  const char* title;      // "accuracy": in sentences ("test accuracy 81.39% ± 1.11")
  const char* abbrev;     // "acc", "AUC", "MAE": in table headers and before scores
  bool higher_is_better;  // model selection keeps the maximum (else the minimum)
  bool fraction;          // a fraction in [0, 1], shown as a percentage; else the value itself
  // a is a better score than b (strictly; NaN is never better).
  bool better(double a, double b) const { return higher_is_better ? a > b : a < b; }
  // "81.39" (a percentage) or "0.4127" (the value); if_nan for NaN.
  std::string show(double v, const std::string& if_nan = "n/a") const;
  const char* unit() const { return fraction ? " %" : ""; }  // after a header or a shown value
};

// acc (accuracy), wacc (class-weighted accuracy), auc (ROC AUC), mae (mean absolute error, lower
// is better). InputError naming the known names otherwise.
const MetricInfo& metric_info(std::string_view name);

// The metric a task scores: "auc" for pair tasks, "mae" for graph regression, else train.metric's
// "acc" or "wacc".
const char* metric_name(Task task, Metric metric);

// Options a task cannot take: train.metric and train.class_weights on pair tasks (ROC AUC with an
// unweighted loss) and on graph regression (MAE with the L1 loss); class weights under partitioned
// training (they need every rank's labels). The first such key, with its fix; nullopt when none.
std::optional<ConfigProblem> task_options_problem(Task task, bool partitioned, Metric metric, ClassWeights weights);

class TaskObjective {
 public:
  // Pair tasks draw this run's split from `seed` (80/10/10 pairs with equal negatives); link
  // prediction then passes messages over the training edges only (graph()).
  // Classification scores train.metric (acc or wacc) and weighs its loss by train.class_weights.
  // ConfigError (task_options_problem) for options the task cannot take.
  TaskObjective(const Problem& p, uint64_t seed, Metric metric = Metric::Accuracy,
                ClassWeights weights = ClassWeights::None);

  const char* metric() const { return metric_name(problem_.data.task, metric_); }
  const MetricInfo& metric_info() const { return locus::metric_info(metric()); }
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
  // Graph regression: the L1 loss (ops::l1_loss) of `pred` [b, targets], row k predicting graph
  // graphs[k], against those graphs' targets: mean over the b graphs and the targets of |ŷ − y|.
  Var regression_loss(Tape<float>& t, Var pred, std::span<const int32_t> graphs) const;
  // `out`: the output for every node, or for every graph in a graph task ([G, classes] or
  // [G, targets]).
  SplitScores scores(const Mat& out) const;
  // Mean NLL of the validation rows (node classification; global under partitioned training); the
  // validation MAE for graph regression.
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
