// Checkpoints of an experiment (train/experiment.hpp): what it takes to continue an interrupted training bit for bit —
// the finished runs, and for the run in progress its parameters, optimiser moments, RNG state,
// model-selection state and metrics so far — in one binary file, written atomically (a
// temporary file renamed over the old one), so a kill at any moment leaves the last whole one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/trainer.hpp"
#include "core/io.hpp"

namespace locus {

struct TrainCheckpoint {
  // The experiment: resume_config() lines (train/config.hpp), the keys that change results.
  std::vector<std::string> config;
  int num_threads = 0;  // results match an uninterrupted run only with the same thread count
  int64_t num_nodes = 0, num_edges = 0, num_features = 0;  // the dataset, as loaded
  int64_t num_params = 0;  // the model's (reported even when no run is left to build it)

  std::vector<RunResult> done;   // finished runs, histories included
  std::vector<double> epoch_ms;  // timed training epochs so far (for the median)

  // The run in progress: its index (== done.size()) and its trainer's state; current.epoch = 0:
  // no epoch finished yet (the run starts afresh).
  int run = 0;
  TrainerState current;
};

// The file inside out_dir.
std::string checkpoint_path(const std::string& out_dir);

void save_checkpoint(const std::string& path, const TrainCheckpoint& ck);
// Throws InputError naming the file when it is not a checkpoint, is truncated or corrupt
// (a checksum covers the whole content), or comes from another format version.
TrainCheckpoint load_checkpoint(const std::string& path);


}  // namespace locus
