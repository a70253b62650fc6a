// A trained model as a file (`locus train save_model=m.locus`, `locus predict`): what the model
// computes (every results key of its config and the run's seed), its parameters at the selected
// epoch, its input contract (feature width, one-hot inputs, feature_norm), class names, task, the
// anchor branch's evaluation sets and a fingerprint of the training data.
// Model::load(path).predict(dataset) labels a dataset's nodes, or its graphs for a model trained
// on graph classification or regression.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "datasets/dataset.hpp"
#include "train/config.hpp"
#include "train/task.hpp"
#include "train/trainer.hpp"

namespace locus {

struct Problem;
struct BinaryFormat;

// FNV-1a over what training reads of a dataset: nodes, edges and weights, features, labels,
// splits and sentence blocks. Equal datasets give equal fingerprints.
uint64_t dataset_fingerprint(const Dataset& ds);

// What Model::predict returns for a dataset.
struct Prediction {
  // Node classification: class probabilities [N, classes] (rows sum to 1). Graph classification:
  // [graphs, classes]; graph regression: the predicted targets [graphs, targets]. Pair tasks: the
  // L2-normalised node embeddings [N, width] (the score of a pair is their dot product).
  Mat output;
  // The dataset's labels in the model's class order (per node, or per graph for graph
  // classification): -1 for unlabelled ones and for labels the model does not know (counted in
  // unknown_labels). Empty for pair tasks and graph regression.
  std::vector<int32_t> labels;
  int64_t unknown_labels = 0;
  // The task's metric on the dataset's splits (NaN for an empty split): node classification
  // accuracy, or for pair tasks the ROC AUC on the pairs drawn from the run's seed.
  SplitScores scores;
  bool same_data = false;  // the dataset's fingerprint equals the training data's
  // With predict(ds, true): each node's last hidden representation [N, width] — the input of the
  // last layer for node classification (graph models: the readout's input), the L2-normalised
  // output embedding for pair models.
  Mat embeddings;
  // Pair models: the held-out test pairs of the run's split (positives and negatives), for
  // Hits at K and MRR (train/pair_ranking.hpp). Empty for node classification.
  PairPart test_pairs;
};

class Model {
 public:
  // The selected epoch of `run` (RunResult::params) of an experiment on `problem`, whose dataset
  // as loaded had `fingerprint` (dataset_fingerprint; 0 when unknown, e.g. a rank's part).
  static Model from_run(const ExperimentConfig& cfg, const Problem& problem, uint64_t fingerprint, const RunResult& run,
                        int run_index);
  // Writes atomically (core/binary_file.hpp): a kill leaves the old file or none.
  void save(const std::string& path) const;
  // InputError naming the file when it is not a model file, is truncated or corrupt, or comes
  // from a newer format version.
  static Model load(const std::string& path);
  // The file's container (core/binary_file.hpp): magic "LOCUSMDL", format version, error fixes.
  static const BinaryFormat& file_format();

  // Runs the model on `ds` (the training dataset, or another with the same feature columns).
  // Labels are matched to the model's classes by name. InputError when the feature width or
  // kind does not fit the model (naming `ds.source` and the fix).
  Prediction predict(Dataset ds, bool embeddings = false) const;

  // Class names (node or graph classification), the target columns y1..yt (graph regression);
  // empty for pair models.
  const std::vector<std::string>& classes() const { return classes_; }
  Task task() const { return task_; }
  // The metric training scored and predict() reports: train.metric's for node classification
  // (acc or wacc), auc for pair tasks.
  const char* metric() const;
  const std::vector<std::string>& config_lines() const { return config_; }
  ExperimentConfig config() const;  // rebuilt from config_lines()
  std::string model_name() const;   // "gcn", "gcn+gir:sum", ...
  uint64_t seed() const { return seed_; }
  int run_index() const { return run_index_; }  // 0-based run of the experiment
  int best_epoch() const { return best_epoch_; }
  // The scores training reported for this run's selected epoch.
  double train_score() const { return train_score_; }
  double val_score() const { return val_score_; }
  double test_score() const { return test_score_; }
  int64_t in_dim() const { return in_dim_; }
  bool one_hot() const { return one_hot_; }
  const std::string& dataset_name() const { return dataset_name_; }
  int64_t dataset_nodes() const { return dataset_nodes_; }
  uint64_t dataset_fingerprint() const { return fingerprint_; }
  const std::vector<float>& parameters() const { return params_; }
  // GIR / P-GNN: the anchor sets the run evaluated with (node ids of the training graph), used
  // again on a dataset of as many nodes; another graph gets sets drawn from the seed. Null
  // without an anchor branch.
  const std::shared_ptr<const pe::AnchorSets>& anchor_sets() const { return anchor_sets_; }

 private:
  std::vector<std::string> config_;  // resume_config() lines: every key that changes results
  uint64_t seed_ = 0;
  int run_index_ = 0, best_epoch_ = 0;
  double train_score_ = 0, val_score_ = 0, test_score_ = 0;
  Task task_ = Task::NodeClassification;
  int64_t in_dim_ = 0;
  bool one_hot_ = false;
  std::vector<std::string> classes_;
  std::string dataset_name_;
  int64_t dataset_nodes_ = 0;
  uint64_t fingerprint_ = 0;
  std::vector<float> params_;
  std::shared_ptr<const pe::AnchorSets> anchor_sets_;
};

// Where run_experiment writes model files: save_model, else out_dir/model.locus when out_dir is
// set, else "" (none). With save_model_runs=all, run r (0-based) goes to NAME.run<r+1>.EXT.
std::string model_path(const ExperimentConfig& cfg, int run_index = -1);

}  // namespace locus
