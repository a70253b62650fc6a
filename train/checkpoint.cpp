#include "train/checkpoint.hpp"

#include <filesystem>
#include <type_traits>

#include "core/binary_file.hpp"
#include "core/error.hpp"
#include "core/io.hpp"

namespace locus {
namespace {

// A checkpoint resumes on the machine type that wrote it (bit-identical results need the same
// arithmetic anyway), so the machine's byte order is fine (core/binary_file.hpp).
const BinaryFormat& checkpoint_format() {
  // Version 2: the config lines follow the schema's order (train/config.hpp). Version 3: each run
  // holds its selected epoch's parameters (RunResult::params, for model files). Version 4: and
  // whether that epoch used the anchor branch (gnn.fusion_select). Version 5: the learning-rate
  // schedule's state (rate, best loss, epochs since).
  static const BinaryFormat f{{'L', 'O', 'C', 'U', 'S', 'C', 'K', 'P'},
                              5,
                              "checkpoint",
                              "out_dir holds another program's checkpoint.bin; choose another out_dir",
                              "finish it with the Locus that wrote it, or delete out_dir to start over",
                              "delete it (and its out_dir) to start the training over"};
  return f;
}
void put_run(BinaryWriter& w, const RunResult& r) {
  w.pod(r.seed);
  w.pod(r.best_epoch);
  w.pod(r.epochs_run);
  w.pod(r.train_acc);
  w.pod(r.val_acc);
  w.pod(r.test_acc);
  w.pod(r.params_checksum);
  w.pod(static_cast<uint8_t>(r.position_used));
  w.vec(r.history);  // EpochMetrics is plain numbers
  w.vec(r.params);
}

RunResult get_run(BinaryReader& r) {
  RunResult x;
  x.seed = r.pod<uint64_t>();
  x.best_epoch = r.pod<int>();
  x.epochs_run = r.pod<int>();
  x.train_acc = r.pod<double>();
  x.val_acc = r.pod<double>();
  x.test_acc = r.pod<double>();
  x.params_checksum = r.pod<uint64_t>();
  x.position_used = r.pod<uint8_t>() != 0;
  x.history = r.vec<EpochMetrics>();
  x.params = r.vec<float>();
  return x;
}

}  // namespace

std::string checkpoint_path(const std::string& out_dir) {
  return (std::filesystem::path(out_dir) / "checkpoint.bin").string();
}

void save_checkpoint(const std::string& path, const TrainCheckpoint& ck) {
  static_assert(std::is_trivially_copyable_v<EpochMetrics>);
  BinaryWriter w;
  w.pod<uint64_t>(ck.config.size());
  for (const auto& line : ck.config) w.str(line);
  w.pod(ck.num_threads);
  w.pod(ck.num_nodes);
  w.pod(ck.num_edges);
  w.pod(ck.num_features);
  w.pod(ck.num_params);
  w.pod<uint64_t>(ck.done.size());
  for (const auto& r : ck.done) put_run(w, r);
  w.vec(ck.epoch_ms);
  const TrainerState& c = ck.current;
  w.pod(ck.run);
  w.pod(c.epoch);
  put_run(w, c.run);
  w.pod(c.best_val);
  w.pod(c.best_val_loss);
  w.pod(c.since_best);
  w.pod(c.lr);
  w.pod(c.lr_best_loss);
  w.pod(c.lr_bad_epochs);
  w.pod(c.rng_state);
  w.vec(c.params);
  w.pod(c.optim.steps);
  w.vec(c.optim.m);
  w.vec(c.optim.v);

  write_binary_file(path, checkpoint_format(), w.bytes());
}

TrainCheckpoint load_checkpoint(const std::string& path) {
  const std::string bytes = read_binary_file(path, checkpoint_format());
  const size_t size = bytes.size();
  BinaryReader r(path, checkpoint_format(), bytes.data(), size);
  TrainCheckpoint ck;
  const auto lines = r.pod<uint64_t>();
  if (lines > size) r.corrupt();
  for (uint64_t i = 0; i < lines; ++i) ck.config.push_back(r.str());
  ck.num_threads = r.pod<int>();
  ck.num_nodes = r.pod<int64_t>();
  ck.num_edges = r.pod<int64_t>();
  ck.num_features = r.pod<int64_t>();
  ck.num_params = r.pod<int64_t>();
  const auto done = r.pod<uint64_t>();
  if (done > size) r.corrupt();
  for (uint64_t i = 0; i < done; ++i) ck.done.push_back(get_run(r));
  ck.epoch_ms = r.vec<double>();
  TrainerState& c = ck.current;
  ck.run = r.pod<int>();
  c.epoch = r.pod<int>();
  c.run = get_run(r);
  c.best_val = r.pod<double>();
  c.best_val_loss = r.pod<double>();
  c.since_best = r.pod<int>();
  c.lr = r.pod<double>();
  c.lr_best_loss = r.pod<double>();
  c.lr_bad_epochs = r.pod<int>();
  c.rng_state = r.pod<uint64_t>();
  c.params = r.vec<float>();
  c.optim.steps = r.pod<int64_t>();
  c.optim.m = r.vec<float>();
  c.optim.v = r.vec<float>();
  if (!r.at_end() || ck.run != static_cast<int>(ck.done.size()) || c.epoch < 0) r.corrupt();
  return ck;
}

}  // namespace locus
