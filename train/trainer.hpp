// Trainer: one model, one seed. It builds the model (GnnClassifier) for a Problem and runs epochs
// — a timed training step, then an evaluation with dropout off — keeping the scores of the epoch
// that model selection keeps. Between epochs: predictions, embeddings, the state for checkpoints
// and, under partitioned training, each epoch's communication.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "core/optim.hpp"
#include "core/params.hpp"
#include "core/tape.hpp"
#include "layers/gnn.hpp"
#include "layers/graph_readout.hpp"
#include "train/graph_posenc.hpp"
#include "train/problem.hpp"
#include "train/selection.hpp"
#include "train/task.hpp"

namespace locus {

// One epoch. *_acc hold the task's metric (accuracy, ROC AUC for pair tasks, MAE for graph
// regression: Trainer::metric()).
struct EpochMetrics {
  int epoch = 0;  // 1-based
  double loss = 0, train_acc = 0, val_acc = 0, test_acc = 0, epoch_ms = 0;
};

struct RunResult {
  uint64_t seed = 0;
  int best_epoch = 0;  // 1-based
  int epochs_run = 0;
  double train_acc = 0, val_acc = 0, test_acc = 0;  // at best_epoch
  bool position_used = true;  // gnn.fusion_select / posenc_select: best_epoch's path used the position path
  uint64_t params_checksum = 0;  // FNV-1a of the final parameters: equal runs have equal checksums
  std::vector<float> params;     // the parameters of best_epoch (what a model file saves)
  std::vector<EpochMetrics> history;
};

// Everything a run needs to continue bit for bit (train/checkpoint.hpp stores it).
struct TrainerState {
  int epoch = 0;  // epochs finished
  RunResult run;  // history and the selected epoch so far
  double best_val = -1, best_val_loss = 0;
  int since_best = 0;
  double lr = 0;  // the optimiser's rate now (optim.lr_schedule moves it); 0: the configured one
  double lr_best_loss = std::numeric_limits<double>::infinity();  // plateau: the lowest loss so far
  int lr_bad_epochs = 0;            // and epochs since it improved
  uint64_t rng_state = 0;
  std::vector<float> params;
  Optimizer<float>::State optim;
};

// The model's spec for a problem: `spec` with the fields the data decides (input width, output
// width, embeddings for pair tasks, the partition of a rank) filled in.
GnnSpec spec_for(const Problem& problem, GnnSpec spec);

//   Trainer t(problem, spec, options, seed);   // `problem` must outlive t
//   t.fit([](const EpochMetrics& m) { return true; });   // or: while (!t.finished()) t.epoch();
//   Mat logp = t.predict();   // [N, classes] log-probabilities (pair tasks: embeddings; graph
//                             // classification: [G, classes], one row per graph; graph
//                             // regression: [G, targets], the predicted values)
class Trainer {
 public:
  // Builds the model from `seed` (parameters, anchor sets, the pair split of pair tasks).
  // run_number (1-based) names the run in numeric-fault messages; -1: none.
  Trainer(const Problem& problem, const GnnSpec& spec, const TrainOptions& options, uint64_t seed, int run_number = -1);

  // One training step and one evaluation; returns this epoch's metrics (also in result().history).
  const EpochMetrics& epoch();
  // Epochs until finished(); after each, on_epoch (progress, custom metrics) may return false to
  // stop early. Returns the run's result.
  const RunResult& fit(const std::function<bool(const EpochMetrics&)>& on_epoch = {});
  // The last epoch ran: optim.max_epoch epochs, or patience ran out.
  bool finished() const { return finished_; }
  const RunResult& result() const { return run_; }
  int64_t num_params() const { return store_.num_trainable(); }  // buffers (BatchNorm statistics) not counted
  const GnnSpec& spec() const { return model_->spec(); }
  // The anchor branch's evaluation sets (GIR / P-GNN); null without a branch.
  std::shared_ptr<const pe::AnchorSets> branch_eval_sets() const { return model_->branch_eval_sets(); }
  const char* metric() const { return task_.metric(); }
  const TaskObjective& task() const { return task_; }

  // The evaluation output with the current parameters: log-probabilities [N, classes] for node
  // classification (a rank: its owned rows), L2-normalised embeddings for pair tasks, per graph
  // log-probabilities [G, classes] or predicted targets [G, targets] for graph tasks. `use` forces
  // a fused model's path (gnn.fusion_select); by default the model's gate decides. Rows in the
  // dataset's node order (also under dataset.reorder), as every output here.
  Mat predict(PositionUse use = PositionUse::Model) const;
  // The task's metric on every split for an output of predict().
  SplitScores scores(const Mat& predicted) const;
  // gnn.fusion_select: whether the model uses its anchor branch now (after an epoch: the path that
  // epoch's evaluation chose); true for every other model with a branch.
  bool position_used() const { return model_->position_used(); }
  // Class probabilities [N, classes] (node and graph classification; InputError for pair tasks and
  // graph regression).
  Mat probabilities() const;
  // Node representations the output is computed from (GnnClassifier::embed) [N, width].
  Mat embeddings() const;
  // The task's metric on every split with the current parameters (not the selected epoch's).
  SplitScores evaluate() const;

  // Replaces the parameters (e.g. RunResult::params, a model file's); InputError when the count
  // differs from the model's.
  void set_parameters(const std::vector<float>& params);

  TrainerState state() const;
  // Continues from a state of a Trainer built with the same problem, spec, options and seed.
  void restore(const TrainerState& s);

  // Partitioned training: bytes all ranks sent and the slowest rank's wait in the last training
  // step (0 on one process).
  double comm_bytes() const { return comm_bytes_; }
  double comm_wait_ms() const { return comm_wait_ms_; }

 private:
  // predict() in the problem's row order (Problem::order), and rows in that order put back in
  // the dataset's.
  Mat output(PositionUse use = PositionUse::Model) const;
  Mat dataset_rows(Mat rows) const;
  // Datasets of many graphs (problem.batched()): the graphs per step, and one mini-batch's output
  // (log-probabilities per node, or per graph through the readout in a graph task).
  int64_t batch_size() const;
  // Sets the batch's topology and encodings on the model; returns its input rows.
  Features<float> batch_input(const GraphBatch& b) const;
  Var batch_forward(const GraphBatch& b, bool training, uint64_t key) const;
  // run(b) for every batch of graphs in graph order, without gradients: its rows put back at their
  // nodes (or graphs, per_graph), [N or graphs, cols].
  Mat batched_rows(bool per_graph, const std::function<Var(const GraphBatch&)>& run) const;
  // Backward and the optimiser update for `loss` on the tape, with the numeric guards (and, under
  // partitioned training, the gradient sum over ranks); returns the loss value.
  double step(Var loss, int epoch, dist::Comm* comm);
  // The training step over this epoch's mini-batches; returns the mean batch loss.
  double train_batches(int epoch);
  // optim.lr_schedule=plateau has brought the rate below optim.lr_min: the run is over.
  bool lr_exhausted() const;

  const Problem& problem_;
  TrainOptions options_;
  int run_number_;
  TaskObjective task_;
  Rng rng_;
  ParamStore<float> store_;
  std::unique_ptr<GnnClassifier<float>> model_;
  std::unique_ptr<GraphReadout<float>> readout_;  // graph tasks
  std::vector<char> in_train_;                    // node tasks on many graphs: the training nodes
  GraphEncodings encodings_;                      // many graphs: each graph's LapPE / RWSE rows
  Optimizer<float> optimizer_;
  ModelSelector selector_;
  // optim.lr_schedule=plateau: the lowest loss so far and the epochs since (the rate lives in optimizer_).
  double lr_best_loss_ = std::numeric_limits<double>::infinity();
  int lr_bad_epochs_ = 0;
  mutable Tape<float> tape_;
  RunResult run_;
  int epoch_ = 0;
  bool finished_ = false;
  double comm_bytes_ = 0, comm_wait_ms_ = 0;
};

}  // namespace locus
