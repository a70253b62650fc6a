#include "train/task.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "core/dist/comm.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/ops/basic.hpp"
#include "core/ops/loss.hpp"
#include "core/ops/pair.hpp"
#include "core/rng.hpp"
#include "core/text.hpp"

namespace locus {
namespace {

// Per class: correctly predicted (argmax) and labelled rows among idx.
void class_counts(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx,
                  std::vector<int64_t>& correct, std::vector<int64_t>& total) {
  correct.assign(static_cast<size_t>(logp.cols()), 0);
  total.assign(static_cast<size_t>(logp.cols()), 0);
  for (int32_t i : idx) {
    Eigen::Index arg;
    logp.row(i).maxCoeff(&arg);
    ++total[static_cast<size_t>(labels[i])];
    correct[static_cast<size_t>(labels[i])] += arg == labels[i];
  }
}

// Correct argmax predictions among the rows idx (every class).
int64_t count_correct(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx) {
  std::vector<int64_t> correct, total;
  class_counts(logp, labels, idx, correct, total);
  return std::accumulate(correct.begin(), correct.end(), int64_t{0});
}

// Σ −log p(label) over the rows idx.
double nll_sum(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx) {
  double sum = 0;
  for (int32_t i : idx) sum -= logp(i, labels[i]);
  return sum;
}

// The mean absolute error (1/(|graphs|·k)) Σ_g Σ_j |out[g, j] − y[g, j]| over the listed graphs
// (out [G, k]; targets row-major [G, k]); NaN for no graphs.
double mean_abs_error(const Mat& out, const std::vector<float>& targets, const std::vector<int32_t>& graphs) {
  const int64_t k = out.cols();
  if (graphs.empty() || k == 0) return std::nan("");
  double sum = 0;
  for (const int32_t g : graphs)
    for (int64_t j = 0; j < k; ++j)
      sum += std::abs(static_cast<double>(out(g, j)) - static_cast<double>(targets[static_cast<size_t>(g * k + j)]));
  return sum / (static_cast<double>(graphs.size()) * static_cast<double>(k));
}

// Scores ⟨z_u, z_v⟩ of a part's pairs and their ROC AUC (NaN for an empty part).
double pair_auc(const Mat& z, const PairPart& part) {
  if (part.size() == 0) return std::nan("");
  std::vector<double> scores(static_cast<size_t>(part.size()));
  for (size_t p = 0; p < scores.size(); ++p) scores[p] = z.row(part.u[p]).dot(z.row(part.v[p]));
  return roc_auc(scores, part.target);
}

}  // namespace

std::string MetricInfo::show(double v, const std::string& if_nan) const {
  if (fraction) return percent(v, if_nan);
  return std::isnan(v) ? if_nan : fmt::format("{:.4f}", v);
}

const MetricInfo& metric_info(std::string_view name) {
  static const MetricInfo metrics[] = {
      {"acc", "accuracy", "acc", true, true},
      {"wacc", "class-weighted accuracy", "wacc", true, true},
      {"auc", "ROC AUC", "AUC", true, true},
      {"mae", "MAE", "MAE", false, false},
  };
  for (const MetricInfo& m : metrics)
    if (name == m.name) return m;
  throw InputError("unknown metric '" + std::string(name) + "': the metrics are acc, wacc, auc and mae");
}

const char* metric_name(Task task, Metric metric) {
  if (is_pair_task(task)) return "auc";
  if (task == Task::GraphRegression) return "mae";
  return metric == Metric::WeightedAccuracy ? "wacc" : "acc";
}

std::optional<ConfigProblem> task_options_problem(Task task, bool partitioned, Metric metric, ClassWeights weights) {
  const bool pair = is_pair_task(task);
  if (pair || task == Task::GraphRegression) {
    // What the task scores and trains with instead; the keys are for classification.
    const std::string what = fmt::format("{} score{} {} with {}", pair ? "pair tasks" : task_name(task), pair ? "" : "s",
                                         locus::metric_info(metric_name(task, metric)).title,
                                         pair ? "an unweighted loss" : "the L1 loss");
    if (metric != Metric::Accuracy)
      return ConfigProblem{"train.metric", what + "; train.metric is for classification, got",
                           "drop train.metric (or set train.metric=acc, the default)", ""};
    if (weights != ClassWeights::None)
      return ConfigProblem{"train.class_weights", what + "; train.class_weights is for classification, got",
                           "drop train.class_weights (or set train.class_weights=none)", ""};
  }
  if (partitioned && weights != ClassWeights::None)
    return ConfigProblem{"train.class_weights",
                         "train.class_weights=complement needs every rank's labels; it is not available with "
                         "dataset.partitions, got",
                         "set train.class_weights=none, or train on one process", ""};
  return std::nullopt;
}

TaskObjective::TaskObjective(const Problem& p, uint64_t seed, Metric metric, ClassWeights weights)
    : problem_(p), seed_(seed), metric_(metric), weights_(weights) {
  if (auto problem = task_options_problem(p.data.task, p.share != nullptr, metric, weights))
    throw ConfigError(std::move(*problem));
  if (!p.pair_task()) return;
  split_ = make_task_split(p.data, p.data.task, seed);
  pair_graph_ = Csr::from_edges(p.data.num_nodes, split_->src, split_->dst);
}

void TaskObjective::before_epoch(int epoch) {
  if (split_) resample_train_negatives(*split_, splitmix64(seed_) + static_cast<uint64_t>(epoch));
}

Var TaskObjective::loss(Tape<float>& t, Var out) const {
  const Dataset& ds = problem_.data;
  if (split_)
    return ops::bce_with_logits(t, ops::pair_dot(t, out, split_->train.u, split_->train.v), split_->train.target);
  if (!problem_.share) return class_loss(t, out, ds.labels, ds.train);
  // No training rows here: a zero loss that still runs the backward pass (and its exchanges).
  if (ds.train.empty()) return ops::weighted_sum(t, out, Mat(Mat::Zero(t.rows(out), t.cols(out))));
  // This rank's share of the global mean: the ranks' gradients then simply add up.
  return ops::scale(t, ops::nll_loss(t, out, ds.labels, ds.train),
                    static_cast<float>(static_cast<double>(ds.train.size()) / static_cast<double>(problem_.num_train)));
}

Var TaskObjective::class_loss(Tape<float>& t, Var logp, const std::vector<int32_t>& labels,
                              const std::vector<int32_t>& rows) const {
  if (weights_ == ClassWeights::None || rows.empty()) return ops::nll_loss(t, logp, labels, rows);
  // Σ_i w_{y_i} (−log p_{i,y_i}) / Σ_i w_{y_i} as Σ logp ⊙ W, W[i, y_i] = −w_{y_i} / Σ_j w_{y_j}.
  std::vector<double> count(static_cast<size_t>(t.cols(logp)), 0.0);
  for (int32_t i : rows) ++count[static_cast<size_t>(labels[i])];
  const double n = static_cast<double>(rows.size());
  double norm = 0;
  for (int32_t i : rows) norm += (n - count[static_cast<size_t>(labels[i])]) / n;
  Mat w = Mat::Zero(t.rows(logp), t.cols(logp));
  // One class alone among the rows weighs 0 everywhere: the plain mean then (nothing to balance).
  if (norm <= 0) return ops::nll_loss(t, logp, labels, rows);
  for (int32_t i : rows) {
    const size_t c = static_cast<size_t>(labels[i]);
    w(i, labels[i]) = static_cast<float>(-(n - count[c]) / n / norm);
  }
  return ops::weighted_sum(t, logp, w);
}

Var TaskObjective::regression_loss(Tape<float>& t, Var pred, std::span<const int32_t> graphs) const {
  const Dataset& ds = problem_.data;
  const int64_t k = ds.num_targets;
  check(t.rows(pred) == static_cast<int64_t>(graphs.size()) && t.cols(pred) == k,
        "regression_loss: one row of num_targets predictions per graph");
  Mat y(static_cast<Eigen::Index>(graphs.size()), k);  // [b, targets]: row r holds graph graphs[r]'s targets
  for (size_t r = 0; r < graphs.size(); ++r)
    for (int64_t j = 0; j < k; ++j)
      y(static_cast<Eigen::Index>(r), j) = ds.graph_targets[static_cast<size_t>(graphs[r] * k + j)];
  std::vector<int32_t> rows(graphs.size());
  std::iota(rows.begin(), rows.end(), 0);
  return ops::l1_loss(t, pred, y, rows);
}

SplitScores TaskObjective::scores(const Mat& out) const {
  if (split_) return {pair_auc(out, split_->train), pair_auc(out, split_->val), pair_auc(out, split_->test)};
  const Dataset& ds = problem_.data;
  if (ds.task == Task::GraphRegression)  // out [G, targets]: MAE over each split's graphs
    return {mean_abs_error(out, ds.graph_targets, ds.train_graphs), mean_abs_error(out, ds.graph_targets, ds.val_graphs),
            mean_abs_error(out, ds.graph_targets, ds.test_graphs)};
  dist::Comm* comm = problem_.share ? problem_.share->comm : nullptr;
  if (metric_ == Metric::WeightedAccuracy) {  // the per-class counts of all ranks, then the mean recall
    const std::vector<int32_t>& labels = problem_.graph_task() ? ds.graph_labels : ds.labels;
    auto weighted = [&](const std::vector<int32_t>& rows) {
      std::vector<int64_t> correct, total;
      class_counts(out, labels, rows, correct, total);
      if (comm) {
        comm->sum(correct.data(), static_cast<int64_t>(correct.size()));
        comm->sum(total.data(), static_cast<int64_t>(total.size()));
      }
      return class_weighted_accuracy(correct, total);
    };
    if (problem_.graph_task()) return {weighted(ds.train_graphs), weighted(ds.val_graphs), weighted(ds.test_graphs)};
    return {weighted(ds.train), weighted(ds.val), weighted(ds.test)};
  }
  if (problem_.graph_task()) {  // out [G, classes]: accuracy over each split's graphs
    auto accuracy = [&](const std::vector<int32_t>& graphs) {
      return graphs.empty() ? std::nan("")
                            : static_cast<double>(count_correct(out, ds.graph_labels, graphs)) / static_cast<double>(graphs.size());
    };
    return {accuracy(ds.train_graphs), accuracy(ds.val_graphs), accuracy(ds.test_graphs)};
  }
  // Accuracy over a split: all ranks' rows (a rank's data holds its owned rows only).
  auto accuracy = [&](const std::vector<int32_t>& rows, int64_t global_rows) {
    const int64_t correct = comm ? comm->sum(count_correct(out, ds.labels, rows)) : count_correct(out, ds.labels, rows);
    return global_rows ? static_cast<double>(correct) / static_cast<double>(global_rows) : std::nan("");
  };
  return {accuracy(ds.train, problem_.num_train), accuracy(ds.val, problem_.num_val), accuracy(ds.test, problem_.num_test)};
}

double TaskObjective::val_loss(const Mat& out) const {
  const Dataset& ds = problem_.data;
  if (ds.task == Task::GraphRegression) return ds.val_graphs.empty() ? 0 : mean_abs_error(out, ds.graph_targets, ds.val_graphs);
  if (problem_.graph_task())
    return ds.val_graphs.empty() ? 0 : nll_sum(out, ds.graph_labels, ds.val_graphs) / static_cast<double>(ds.val_graphs.size());
  dist::Comm* comm = problem_.share ? problem_.share->comm : nullptr;
  const double mean = ds.val.empty() ? 0 : nll_sum(out, ds.labels, ds.val) / static_cast<double>(ds.val.size());
  if (!comm) return mean;
  const double sum = comm->sum(mean * static_cast<double>(ds.val.size()));  // this rank's sum
  return problem_.num_val == 0 ? 0.0 : sum / static_cast<double>(problem_.num_val);
}

}  // namespace locus
