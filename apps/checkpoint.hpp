// Checkpoints of `locus train`: what it takes to continue an interrupted training bit for bit —
// the finished runs, and for the run in progress its parameters, optimiser moments, RNG state,
// model-selection state and metrics so far — in one binary file, written atomically (a
// temporary file renamed over the old one), so a kill at any moment leaves the last whole one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "apps/train.hpp"
#include "core/io.hpp"

namespace locus {

struct TrainCheckpoint {
  // The experiment: describe_config() lines of the keys that change results (resume_keys_differ).
  std::vector<std::string> config;
  int num_threads = 0;  // results match an uninterrupted run only with the same thread count
  int64_t num_nodes = 0, num_edges = 0, num_features = 0;  // the dataset, as loaded
  int64_t num_params = 0;  // the model's (reported even when no run is left to build it)

  std::vector<RunResult> done;   // finished runs, histories included
  std::vector<double> epoch_ms;  // timed training epochs so far (for the median)

  // The run in progress: run index (== done.size()) and epochs finished in it (0: none yet;
  // then the fields below are unused and the run starts afresh).
  int run = 0;
  int epoch = 0;
  RunResult current;  // history and the selected epoch so far
  double best_val = -1, best_val_loss = 0;
  int since_best = 0;
  uint64_t rng_state = 0;
  std::vector<float> params;  // ParamStore values
  int64_t optim_steps = 0;
  std::vector<float> optim_m, optim_v;
};

// The file inside out_dir.
std::string checkpoint_path(const std::string& out_dir);

void save_checkpoint(const std::string& path, const TrainCheckpoint& ck);
// Throws InputError naming the file when it is not a checkpoint, is truncated or corrupt
// (a checksum covers the whole content), or comes from another format version.
TrainCheckpoint load_checkpoint(const std::string& path);

// describe_config() lines that must match for a resume: every key but out_dir, num_threads and
// the checkpoint / resource keys, which do not change what is computed.
std::vector<std::string> resume_config(const ExperimentConfig& cfg);

}  // namespace locus
