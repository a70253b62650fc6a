#include "apps/checkpoint.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/error.hpp"
#include "core/io.hpp"

namespace locus {
namespace {

// File layout: "LOCUSCKP" | u32 version | u64 payload bytes | payload | u64 FNV-1a(payload).
// Numbers are stored in the machine's byte order: a checkpoint resumes on the machine type
// that wrote it (bit-identical results need the same arithmetic anyway).
constexpr char kMagic[8] = {'L', 'O', 'C', 'U', 'S', 'C', 'K', 'P'};
constexpr uint32_t kVersion = 1;

class Writer {
 public:
  template <class T>
  void pod(T x) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&x), sizeof x);
  }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    out_ += s;
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    pod<uint64_t>(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::string& path, const char* data, size_t size) : path_(path), p_(data), end_(data + size) {}
  template <class T>
  T pod() {
    T x;
    need(sizeof x);
    std::memcpy(&x, p_, sizeof x);
    p_ += sizeof x;
    return x;
  }
  std::string str() {
    const uint64_t n = pod<uint64_t>();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  template <class T>
  std::vector<T> vec() {
    const uint64_t n = pod<uint64_t>();
    if (n > static_cast<uint64_t>(end_ - p_) / sizeof(T)) corrupt();
    std::vector<T> v(n);
    if (n > 0) std::memcpy(v.data(), p_, n * sizeof(T));  // an empty vector's data() may be null
    p_ += n * sizeof(T);
    return v;
  }
  bool at_end() const { return p_ == end_; }
  [[noreturn]] void corrupt() const {
    throw_input_error(path_, 0, "checkpoint is truncated or corrupt:", path_,
                      "delete it (and its out_dir) to start the training over");
  }

 private:
  void need(uint64_t n) const {
    if (n > static_cast<uint64_t>(end_ - p_)) corrupt();
  }
  std::string path_;
  const char* p_;
  const char* end_;
};

void put_run(Writer& w, const RunResult& r) {
  w.pod(r.seed);
  w.pod(r.best_epoch);
  w.pod(r.epochs_run);
  w.pod(r.train_acc);
  w.pod(r.val_acc);
  w.pod(r.test_acc);
  w.pod(r.params_checksum);
  w.vec(r.history);  // EpochMetrics is plain numbers
}

RunResult get_run(Reader& r) {
  RunResult x;
  x.seed = r.pod<uint64_t>();
  x.best_epoch = r.pod<int>();
  x.epochs_run = r.pod<int>();
  x.train_acc = r.pod<double>();
  x.val_acc = r.pod<double>();
  x.test_acc = r.pod<double>();
  x.params_checksum = r.pod<uint64_t>();
  x.history = r.vec<EpochMetrics>();
  return x;
}

}  // namespace

std::string checkpoint_path(const std::string& out_dir) {
  return (std::filesystem::path(out_dir) / "checkpoint.bin").string();
}

std::vector<std::string> resume_config(const ExperimentConfig& cfg) {
  std::vector<std::string> lines;
  for (const auto& line : describe_config(cfg)) {
    const std::string key = line.substr(0, line.find('='));
    if (key == "out_dir" || key == "num_threads" || key == "train.ckpt_period" || key == "train.auto_resume" ||
        key == "train.memory_limit_mib" || key == "compare.variants")
      continue;
    lines.push_back(line);
  }
  return lines;
}

void save_checkpoint(const std::string& path, const TrainCheckpoint& ck) {
  static_assert(std::is_trivially_copyable_v<EpochMetrics>);
  Writer w;
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
  w.pod(ck.run);
  w.pod(ck.epoch);
  put_run(w, ck.current);
  w.pod(ck.best_val);
  w.pod(ck.best_val_loss);
  w.pod(ck.since_best);
  w.pod(ck.rng_state);
  w.vec(ck.params);
  w.pod(ck.optim_steps);
  w.vec(ck.optim_m);
  w.vec(ck.optim_v);

  const std::string& payload = w.bytes();
  std::string file(kMagic, sizeof kMagic);
  Writer head;
  head.pod(kVersion);
  head.pod<uint64_t>(payload.size());
  file += head.bytes();
  file += payload;
  Writer tail;
  tail.pod(fnv1a64(payload.data(), payload.size()));
  file += tail.bytes();
  write_file_atomic(path, file);
}

TrainCheckpoint load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_input_error(path, 0, "cannot read the checkpoint", path, "check its permissions");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string bytes = buf.str();
  Reader head(path, bytes.data(), bytes.size());
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw_input_error(path, 0, "not a Locus checkpoint:", path,
                      "out_dir holds another program's checkpoint.bin; choose another out_dir");
  for (size_t i = 0; i < sizeof kMagic; ++i) head.pod<char>();
  const auto version = head.pod<uint32_t>();
  if (version != kVersion)
    throw_input_error(path, 0, "checkpoint format version " + std::to_string(version) + " (this Locus reads " +
                                   std::to_string(kVersion) + "):",
                      path, "finish it with the Locus that wrote it, or delete out_dir to start over");
  const auto size = head.pod<uint64_t>();
  const size_t start = sizeof kMagic + sizeof(uint32_t) + sizeof(uint64_t);
  if (bytes.size() < start + sizeof(uint64_t) || size != bytes.size() - start - sizeof(uint64_t)) head.corrupt();
  const char* payload = bytes.data() + start;
  uint64_t sum;
  std::memcpy(&sum, payload + size, sizeof sum);
  if (sum != fnv1a64(payload, size)) head.corrupt();

  Reader r(path, payload, size);
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
  ck.run = r.pod<int>();
  ck.epoch = r.pod<int>();
  ck.current = get_run(r);
  ck.best_val = r.pod<double>();
  ck.best_val_loss = r.pod<double>();
  ck.since_best = r.pod<int>();
  ck.rng_state = r.pod<uint64_t>();
  ck.params = r.vec<float>();
  ck.optim_steps = r.pod<int64_t>();
  ck.optim_m = r.vec<float>();
  ck.optim_v = r.vec<float>();
  if (!r.at_end() || ck.run != static_cast<int>(ck.done.size()) || ck.epoch < 0) r.corrupt();
  return ck;
}

}  // namespace locus
