// An experiment as `locus train` runs it: the config's model trained for num_runs seeds on one
// process or one MPI rank, with checkpoints in out_dir (resumable bit for bit), a memory guard,
// stop requests honoured at an epoch's end, and a summary (mean ± std of the selected epochs'
// scores, median epoch time, peak memory). Callbacks report progress; nothing here prints.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/config.hpp"
#include "train/model.hpp"
#include "train/trainer.hpp"

namespace locus {

struct TrainSummary {
  std::string dataset;
  std::string model;  // model_name(): "gcn", "gcn+gir:sum", "transformer+LapPE", ...
  // metric_name(): "acc" or "wacc" (node and graph classification), "auc" (link prediction, pair
  // classification: ROC AUC), "mae" (graph regression; lower is better, metric_info()). The *_acc
  // fields of the summary, runs and epochs hold this metric.
  std::string metric = "acc";
  int64_t num_nodes = 0, num_edges = 0, num_features = 0, num_params = 0;
  int32_t num_classes = 0;  // node classes, or graph classes in graph classification
  int64_t num_targets = 0;  // graph regression: targets per graph
  int num_threads = 0;
  std::vector<RunResult> runs;
  bool selects_position = false;  // gnn.fusion_select / posenc_select in force: each run's position_used says what it kept
  double test_acc_mean = 0, test_acc_std = 0, val_acc_mean = 0;  // over runs (population std)
  double epoch_ms_median = 0;  // training epochs only (forward, loss, backward, step), after warm-up
  double peak_rss_mib = 0;
  // The model file written (train/model.hpp; with save_model_runs=all, run 1's), or "".
  std::string model_file;
  // Stopped by a stop request (stop_signal, its number): `runs` holds the runs finished before,
  // stopped_at says where ("run 2 epoch 17") and work_left whether a resume has work to do.
  bool interrupted = false;
  int stop_signal = 0;
  std::string stopped_at;
  bool work_left = false;
  // Partitioned training: this process's rank (callbacks run on rank 0 only), the cut, and per
  // timed training epoch (medians) the bytes all ranks sent and the slowest rank's wait.
  int rank = 0, num_ranks = 1;
  std::string partitions;
  int64_t cut_edges = 0, halo_rows = 0;
  double comm_bytes_per_epoch = 0, comm_wait_ms = 0;
};

// What an experiment trains, known once the data is loaded (before the first run).
struct ExperimentInfo {
  const Problem* problem = nullptr;  // the dataset as prepared (sizes, names, task)
  GnnSpec spec;                      // the model, sizes filled in
  int num_threads = 0;
  // Resuming out_dir/checkpoint.bin: runs already finished, the run in progress and its epochs
  // done (0: it starts afresh), and the thread count it was written with.
  bool resumed = false;
  size_t runs_done = 0;
  int resume_run = 0, resume_epoch = 0, checkpoint_threads = 0;
};

// Progress reports (rank 0 only) and the stop request (polled on every rank, agreed by all).
struct ExperimentCallbacks {
  std::function<void(const ExperimentInfo&)> on_start;
  std::function<void(int run, const EpochMetrics&)> on_epoch;  // run: 0-based
  // After each run; finished = false for the partial run a stop request ended.
  std::function<void(int run, const RunResult&, bool finished)> on_run_end;
  // Non-zero (e.g. a signal number) stops training at the end of the current epoch, with a
  // checkpoint when out_dir is set.
  std::function<int()> stop_requested;
};

// out_dir must be new, empty, or (with train.auto_resume) hold a checkpoint to continue: a
// finished experiment's files are never replaced silently. Throws InputError otherwise (also when
// out_dir or save_model could not be created); returns whether run_experiment will resume.
// Creates nothing.
bool check_out_dir(const ExperimentConfig& cfg);

// Trains every run. InputError for bad data; ConfigError for a key that does not fit the
// dataset (apps place it where the key was set).
TrainSummary run_experiment(const ExperimentConfig& cfg, const ExperimentCallbacks& callbacks = {});

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();

}  // namespace locus
