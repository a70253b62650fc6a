#include "train/model.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/binary_file.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "layers/registry.hpp"
#include "train/problem.hpp"

namespace locus {
namespace {

// Parameters are floats in the machine's byte order, like checkpoints (core/binary_file.hpp).
const BinaryFormat& model_format() {
  static const BinaryFormat f{{'L', 'O', 'C', 'U', 'S', 'M', 'D', 'L'},
                              2,
                              "model file",
                              "give a file written by `locus train save_model=PATH`",
                              "predict with the Locus version that wrote it, or train the model again with this one",
                              "train the model again (save_model=PATH) to write a whole file"};
  return f;
}

// FNV-1a's xor-multiply step over 8-byte words (then the tail bytes): the same mixing as
// fnv1a64 at an eighth of the steps, for the tens of megabytes of a large dataset.
uint64_t hash_bytes(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
  }
  return fnv1a64(p + i, bytes - i, h);
}

template <class V>
uint64_t hash_vec(const V& v, uint64_t h) {
  const uint64_t n = v.size();
  h = hash_bytes(&n, sizeof n, h);
  return v.empty() ? h : hash_bytes(v.data(), v.size() * sizeof(v[0]), h);
}

template <class T>
uint64_t hash_array(const T* data, int64_t n, uint64_t h) {
  return n > 0 ? hash_bytes(data, static_cast<size_t>(n) * sizeof(T), h) : h;
}

Task task_from_name(const std::string& name, const std::string& path) {
  for (Task t : {Task::NodeClassification, Task::LinkPrediction, Task::PairClassification, Task::GraphClassification,
                 Task::GraphRegression})
    if (name == task_name(t)) return t;
  throw_input_error(path, 0, "unknown task in the model file:", name, model_format().version_fix);
}

}  // namespace

uint64_t dataset_fingerprint(const Dataset& ds) {
  uint64_t h = 0xcbf29ce484222325ull;
  const int64_t head[] = {ds.num_nodes, ds.num_classes, ds.features.rows(), ds.features.cols(), ds.directed ? 1 : 0};
  h = fnv1a64(head, sizeof head, h);
  h = hash_vec(ds.src, h);
  h = hash_vec(ds.dst, h);
  h = hash_vec(ds.weight, h);
  // Features as compressed storage (outer starts, inner indices, values).
  const SpMat* x = &ds.features;
  SpMat compressed;
  if (!x->isCompressed()) {
    compressed = *x;
    compressed.makeCompressed();
    x = &compressed;
  }
  h = hash_array(x->outerIndexPtr(), x->outerSize() + 1, h);
  h = hash_array(x->innerIndexPtr(), x->nonZeros(), h);
  h = hash_array(x->valuePtr(), x->nonZeros(), h);
  h = hash_vec(ds.labels, h);
  h = hash_vec(ds.train, h);
  h = hash_vec(ds.val, h);
  h = hash_vec(ds.test, h);
  return hash_vec(ds.blocks, h);
}

Model Model::from_run(const ExperimentConfig& cfg, const Problem& problem, uint64_t fingerprint, const RunResult& run,
                      int run_index) {
  const Dataset& ds = problem.data;
  check(!run.params.empty(), "Model::from_run: the run kept no parameters (no epoch was selected)");
  Model m;
  // With the anchor set sizes the trainer resolved (many graphs: from the largest training graph),
  // so that the model keeps its columns on graphs of other sizes.
  ExperimentConfig saved = cfg;
  const GnnSpec resolved = spec_for(problem, cfg.gnn);
  saved.gnn.posenc.anchor_sizes = resolved.posenc.anchor_sizes;
  saved.gnn.posenc.indication_sizes = resolved.posenc.indication_sizes;
  m.config_ = resume_config(saved);
  m.seed_ = run.seed;
  m.run_index_ = run_index;
  m.best_epoch_ = run.best_epoch;
  m.train_score_ = run.train_acc;
  m.val_score_ = run.val_acc;
  m.test_score_ = run.test_acc;
  m.task_ = ds.task;
  m.in_dim_ = problem.in_dim;
  m.one_hot_ = problem.one_hot;
  if (ds.task == Task::NodeClassification || ds.task == Task::GraphClassification) {
    const bool graphs = ds.task == Task::GraphClassification;
    m.classes_ = graphs ? ds.graph_label_names : ds.label_names;
    if (m.classes_.empty())
      for (int32_t c = 0; c < (graphs ? ds.num_graph_classes : ds.num_classes); ++c) m.classes_.push_back(std::to_string(c));
  } else if (ds.task == Task::GraphRegression) {
    for (int64_t k = 0; k < ds.num_targets; ++k) m.classes_.push_back("y" + std::to_string(k + 1));
  }
  m.dataset_name_ = ds.name;
  m.dataset_nodes_ = ds.num_nodes;
  m.fingerprint_ = fingerprint;
  m.params_ = run.params;
  // The sets are a function of the run's seed and the graph: a Trainer for that seed draws them
  // as the run did (nothing else of it is kept). Anchor branches train on one process only.
  const bool branch = cfg.gnn.position != "none" || layer_descriptor(cfg.gnn.layer_type).structure == Structure::AnchorOnly;
  if (branch && !problem.share) m.anchor_sets_ = Trainer(problem, cfg.gnn, cfg.train, run.seed).branch_eval_sets();
  return m;
}

void Model::save(const std::string& path) const {
  BinaryWriter w;
  w.str(LOCUS_VERSION_STRING);
  w.pod<uint64_t>(config_.size());
  for (const auto& line : config_) w.str(line);
  w.pod(seed_);
  w.pod(run_index_);
  w.pod(best_epoch_);
  w.pod(train_score_);
  w.pod(val_score_);
  w.pod(test_score_);
  w.str(task_name(task_));
  w.pod(in_dim_);
  w.pod<uint8_t>(one_hot_ ? 1 : 0);
  w.pod<uint64_t>(classes_.size());
  for (const auto& c : classes_) w.str(c);
  w.str(dataset_name_);
  w.pod(dataset_nodes_);
  w.pod(fingerprint_);
  w.vec(params_);
  w.pod<uint8_t>(anchor_sets_ ? 1 : 0);
  if (anchor_sets_) {
    w.vec(anchor_sets_->offsets);
    w.vec(anchor_sets_->nodes);
  }
  write_binary_file(path, model_format(), w.bytes());
}

const BinaryFormat& Model::file_format() { return model_format(); }

Model Model::load(const std::string& path) {
  const std::string bytes = read_binary_file(path, model_format());
  BinaryReader r(path, model_format(), bytes.data(), bytes.size());
  Model m;
  r.str();  // the Locus version that wrote it (informational)
  const uint64_t lines = r.count();
  for (uint64_t i = 0; i < lines; ++i) m.config_.push_back(r.str());
  // Files written before gnn.fusion_select (or gnn.posenc_select) hold no fusion.gate for it: their
  // models always use the branch (the positional columns). Their gnn.anchor_resample and
  // posenc_*.sign_flip / resample lines say true or false, which still read the same.
  for (const char* key : {"gnn.fusion_select=", "gnn.posenc_select="})
    if (std::none_of(m.config_.begin(), m.config_.end(), [&](const std::string& l) { return l.rfind(key, 0) == 0; }))
      m.config_.push_back(std::string(key) + "false");
  m.seed_ = r.pod<uint64_t>();
  m.run_index_ = r.pod<int>();
  m.best_epoch_ = r.pod<int>();
  m.train_score_ = r.pod<double>();
  m.val_score_ = r.pod<double>();
  m.test_score_ = r.pod<double>();
  m.task_ = task_from_name(r.str(), path);
  m.in_dim_ = r.pod<int64_t>();
  m.one_hot_ = r.pod<uint8_t>() != 0;
  const uint64_t classes = r.count();
  for (uint64_t i = 0; i < classes; ++i) m.classes_.push_back(r.str());
  m.dataset_name_ = r.str();
  m.dataset_nodes_ = r.pod<int64_t>();
  m.fingerprint_ = r.pod<uint64_t>();
  m.params_ = r.vec<float>();
  if (r.pod<uint8_t>() != 0) {
    pe::AnchorSets sets;
    sets.offsets = r.vec<int64_t>();
    sets.nodes = r.vec<int32_t>();
    // At least one set, none empty: offsets rise strictly from 0 to the node count. The ids are
    // checked against the graph at predict.
    bool ok = sets.offsets.size() >= 2 && sets.offsets.front() == 0 &&
              sets.offsets.back() == static_cast<int64_t>(sets.nodes.size());
    for (size_t i = 1; ok && i < sets.offsets.size(); ++i) ok = sets.offsets[i] > sets.offsets[i - 1];
    if (!ok) r.corrupt();
    m.anchor_sets_ = std::make_shared<const pe::AnchorSets>(std::move(sets));
  }
  if (!r.at_end() || m.in_dim_ < 1 || m.params_.empty() || (!is_pair_task(m.task_) && m.classes_.empty()))
    r.corrupt();
  try {
    (void)m.config();
  } catch (const std::exception& e) {  // a key this version does not know, or a value it refuses
    throw_input_error(path, 0, std::string("the model's config does not fit this Locus (") + e.what() + "):",
                      path, model_format().version_fix);
  }
  return m;
}

ExperimentConfig Model::config() const {
  ExperimentConfig cfg;
  for (const auto& line : config_) apply_config_line(cfg, line);
  return cfg;
}

std::string Model::model_name() const { return locus::model_name(config()); }

const char* Model::metric() const { return metric_name(task_, config().train.metric); }

Prediction Model::predict(Dataset ds, bool embeddings) const {
  const std::string where = ds.source.empty() ? ds.name : ds.source;
  ExperimentConfig cfg = config();
  Prediction out;
  // The whole-data hash only when the node count matches (it reads every array).
  out.same_data = ds.num_nodes == dataset_nodes_ && locus::dataset_fingerprint(ds) == fingerprint_;
  if (is_pair_task(task_) && ds.task == Task::NodeClassification && !ds.labels.empty() &&
      ds.src.empty())
    throw_input_error(where, 0, std::string("the model scores node pairs (") + task_name(task_) +
                                    "), but the dataset has no edges to draw pairs from:",
                      ds.name, "give the dataset the model was trained on, or one with its edge list");
  const bool graph_model = is_graph_task(task_);
  if (graph_model != ds.has_graphs())
    throw_input_error(where, 0, graph_model ? std::string("the model predicts per graph (") + task_name(task_) + "), but the dataset is one graph:"
                                            : std::string("the model was trained on one graph (") + task_name(task_) + "), but the dataset has many graphs:",
                      ds.name, graph_model ? "give a dataset of many graphs (a graphs: section or a TU folder)"
                                           : "give a dataset of one graph, or a model trained on many graphs");
  if (task_ == Task::GraphRegression && ds.task == Task::GraphRegression &&
      ds.num_targets != static_cast<int64_t>(classes_.size()))
    throw_input_error(where, 0, fmt::format("the dataset has {} targets per graph, the model predicts", ds.num_targets),
                      std::to_string(classes_.size()), "give graph targets of the training data's width");
  if (task_ == Task::NodeClassification || task_ == Task::GraphClassification) {
    // Labels (per node, or per graph) by class name into the model's order; unknown ones are
    // counted and left out of the splits, so the scores cover what the model can be right about.
    // A dataset of many graphs with another task has no graph labels.
    const bool graphs = task_ == Task::GraphClassification;
    const bool labelled = !graphs || ds.task == Task::GraphClassification;
    std::vector<int32_t>& labels = graphs ? ds.graph_labels : ds.labels;
    std::vector<std::string>& names = graphs ? ds.graph_label_names : ds.label_names;
    int32_t& num_classes = graphs ? ds.num_graph_classes : ds.num_classes;
    std::map<std::string, int32_t> index;
    for (size_t c = 0; c < classes_.size(); ++c) index[classes_[c]] = static_cast<int32_t>(c);
    std::vector<int32_t> to_model(static_cast<size_t>(std::max<int32_t>(num_classes, 0)), -1);  // dataset class → model's
    for (size_t c = 0; c < to_model.size(); ++c) {
      const auto it = index.find(names.empty() ? std::to_string(c) : names[c]);
      if (it != index.end()) to_model[c] = it->second;
    }
    std::vector<int32_t> mapped(static_cast<size_t>(graphs ? ds.num_graphs : ds.num_nodes), -1);
    for (size_t i = 0; labelled && i < labels.size(); ++i) {
      const int32_t l = labels[i];
      if (l < 0) continue;
      mapped[i] = l < static_cast<int32_t>(to_model.size()) ? to_model[l] : -1;
      out.unknown_labels += mapped[i] < 0;
    }
    for (auto* split : graphs ? std::array{&ds.train_graphs, &ds.val_graphs, &ds.test_graphs}
                              : std::array{&ds.train, &ds.val, &ds.test})
      std::erase_if(*split, [&](int32_t i) { return mapped[i] < 0; });
    labels = mapped;
    num_classes = static_cast<int32_t>(classes_.size());
    names = classes_;
    out.labels = std::move(mapped);
  } else if (task_ == Task::GraphRegression && ds.task != Task::GraphRegression) {
    // No targets: predictions only (the scores are NaN).
    ds.num_targets = static_cast<int64_t>(classes_.size());
    ds.graph_targets.assign(static_cast<size_t>(ds.num_graphs * ds.num_targets), 0.0f);
    ds.train_graphs.clear(), ds.val_graphs.clear(), ds.test_graphs.clear();
  }
  ds.task = task_;
  Problem problem = make_problem(std::move(ds), cfg.dataset);
  if (problem.one_hot != one_hot_ || problem.in_dim != in_dim_) {
    const std::string now = problem.one_hot ? "no features (one-hot node ids, " + std::to_string(problem.in_dim) + " columns)"
                                            : std::to_string(problem.in_dim) + " feature columns";
    const std::string then = one_hot_ ? "one-hot node ids of " + std::to_string(in_dim_) + " nodes (a dataset without features)"
                                      : std::to_string(in_dim_) + " feature columns";
    throw_input_error(where, 0, "the dataset has " + now + ", but the model reads " + then + ":", problem.data.name,
                      one_hot_ ? "a model trained without features labels only the graph it was trained on"
                               : "give nodes the training dataset's feature columns, in its order");
  }
  // The saved anchor sets on a dataset of the training graph's size (the same graph, or the same
  // nodes with other edges); otherwise Trainer draws sets for this graph from the seed.
  if (anchor_sets_ && problem.data.num_nodes == dataset_nodes_) cfg.gnn.branch_eval_sets = anchor_sets_;
  Trainer trainer(problem, cfg.gnn, cfg.train, seed_);
  trainer.set_parameters(params_);
  // One forward pass: log-probabilities (or embeddings) give both the output and the scores.
  out.output = trainer.predict();
  out.scores = trainer.scores(out.output);
  if (task_ == Task::NodeClassification || task_ == Task::GraphClassification) out.output = out.output.array().exp().matrix();
  if (const TaskSplit* split = trainer.task().split()) out.test_pairs = split->test;
  if (embeddings) out.embeddings = is_pair_task(task_) ? out.output : trainer.embeddings();
  return out;
}

std::string model_path(const ExperimentConfig& cfg, int run_index) {
  namespace fs = std::filesystem;
  std::string path = cfg.run.save_model;
  if (path.empty() && !cfg.run.out_dir.empty()) path = (fs::path(cfg.run.out_dir) / "model.locus").string();
  if (path.empty() || cfg.run.save_model_runs != "all" || run_index < 0) return path;
  const fs::path p(path);
  return (p.parent_path() / (p.stem().string() + ".run" + std::to_string(run_index + 1) + p.extension().string())).string();
}

}  // namespace locus
