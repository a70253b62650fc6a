// `locus train`: trains the configured model for num_runs seeds on a node-classification dataset
// (test accuracy at the selected validation epoch) or, with P-GNN's protocol, on a link-prediction
// or pair-classification task (test ROC AUC at the best validation AUC), and reports a summary
// (terminal table, optional JSON, optional per-epoch CSVs in out_dir).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "apps/config.hpp"

namespace locus {

struct EpochMetrics {
  int epoch = 0;
  double loss = 0, train_acc = 0, val_acc = 0, test_acc = 0, epoch_ms = 0;
};

struct RunResult {
  uint64_t seed = 0;
  int best_epoch = 0;  // 1-based
  int epochs_run = 0;
  double train_acc = 0, val_acc = 0, test_acc = 0;  // at best_epoch
  uint64_t params_checksum = 0;  // FNV-1a of the final parameters: equal runs have equal checksums
  std::vector<EpochMetrics> history;
};

struct TrainSummary {
  std::string dataset, model;
  // "acc" (node classification) or "auc" (link prediction, pair classification: ROC AUC). The
  // *_acc fields of the summary, runs and epochs hold this metric.
  std::string metric = "acc";
  int64_t num_nodes = 0, num_edges = 0, num_features = 0, num_params = 0;
  int32_t num_classes = 0;
  int num_threads = 0;
  std::vector<RunResult> runs;
  double test_acc_mean = 0, test_acc_std = 0, val_acc_mean = 0;
  double epoch_ms_median = 0;  // training epochs only (forward, loss, backward, step), after warm-up
  double peak_rss_mib = 0;
  // Stopped by SIGINT / SIGTERM (stop_signal): `runs` holds the runs finished before it.
  bool interrupted = false;
  int stop_signal = 0;
  // Partitioned training (dataset.partitions): this process's rank (only rank 0 prints and writes),
  // the cut, and per timed training epoch (medians) the bytes all ranks sent (halo rows forward and
  // back, gradient reduction) and the slowest rank's milliseconds blocked on communication.
  int rank = 0, num_ranks = 1;
  std::string partitions;
  int64_t cut_edges = 0, halo_rows = 0;
  double comm_bytes_per_epoch = 0, comm_wait_ms = 0;
};

// Runs every seed. `log` receives the header and progress; `progress` selects one updating
// line (a terminal) instead of one line per run. The summary is printed by print_summary.
// With out_dir set: per-run metric CSVs and out_dir/checkpoint.bin (apps/checkpoint.hpp); an
// existing, non-empty out_dir is an error unless train.auto_resume continues its checkpoint.
// SIGINT / SIGTERM stop training at the end of the current epoch (summary.interrupted).
TrainSummary run_training(const ExperimentConfig& cfg, std::ostream& log, bool progress);

// out_dir must be new, empty, or (with train.auto_resume) hold a checkpoint to continue: a
// finished experiment's files are never replaced silently. Throws InputError otherwise (also when
// out_dir could not be created); returns whether run_training will resume. Creates nothing.
bool check_out_dir(const ExperimentConfig& cfg);

// The table of runs and the one-line result (test accuracy mean ± std, ms per epoch, peak RSS).
void print_summary(const TrainSummary& s, std::ostream& out);

// The JSON report (see README for the keys), written atomically to `path`.
void write_summary_json(const TrainSummary& s, const ExperimentConfig& cfg, const std::string& path);

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();

}  // namespace locus
