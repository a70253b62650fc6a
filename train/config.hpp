// The experiment config: every key of a Locus experiment (dataset.*, gnn.*, posenc_*, optim.*,
// train.*, dist.*, compare.*, runs), each declared once in config_schema() with its type,
// default, range, documentation, reader and writer; listings, the JSON record, resume keys and the
// docs table derive from it. apps/config.hpp reads YAML files and overrides into it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/error.hpp"
#include "core/optim.hpp"
#include "layers/gnn.hpp"

namespace YAML {
class Node;
}

namespace locus {

// What to train on (dataset.*).
struct DatasetOptions {
  std::string path;                   // a dataset YAML; exactly one of path / name
  std::string name;                   // a built-in dataset (datasets/builtin.hpp)
  std::string task = "auto";          // auto (the dataset's task:) | node_classification | link_prediction | pair_classification
  std::string feature_norm = "none";  // none | row (each row divided by its sum)
  // The input features: file (the dataset's; one-hot node ids when it has none), identity
  // (one-hot node ids whatever the file holds) or constant (one column of ones: position only).
  std::string features = "file";
  std::string partitions;             // a `locus partition` folder: train on its parts under mpirun
  // Node order for locality (datasets/reorder.hpp): none | rcm | degree | metis. Training runs on
  // the renumbered graph; outputs come back in the dataset's ids (train/problem.hpp).
  std::string reorder = "none";
};

// Model selection over a run's epochs (train.select).
//   ValAcc: the first epoch of the best validation metric: maximal accuracy (AUC for pair tasks),
//   minimal MAE for graph regression.
//   ValAccLoss (the GAT paper's rule): keep an epoch whose validation accuracy is >= the best so
//   far and whose validation loss is <= the lowest so far; patience counts epochs improving neither.
enum class Selection { ValAcc, ValAccLoss };

// The classification score reported and selected on (train.metric): accuracy (acc), or the
// class-weighted accuracy (wacc: the mean of the per-class recalls, core/metrics.hpp; the
// benchmarking-GNNs' PATTERN / CLUSTER metric). Pair tasks score ROC AUC and graph regression
// MAE; both take only acc (train/task.hpp task_options_problem).
enum class Metric { Accuracy, WeightedAccuracy };
// Class weights of the classification loss (train.class_weights): none, or complement (the
// benchmarking-GNNs' PATTERN / CLUSTER loss): over each step's labelled rows, n of them and n_c of
// class c, w_c = (n − n_c) / n and loss = Σ_i w_{y_i} (−log p_{i,y_i}) / Σ_i w_{y_i}.
enum class ClassWeights { None, Complement };

// The learning-rate schedule (optim.lr_schedule): none, or plateau — PyTorch's ReduceLROnPlateau
// (mode min, relative threshold 1e-4, no cooldown) as the benchmarking-GNNs use it: after each
// epoch, the validation loss (the training loss without a val split) improves when it is below
// best · (1 − 1e-4); after more than lr_patience epochs without improvement the rate is multiplied
// by lr_factor, and once it is below lr_min the run stops.
enum class LrSchedule { None, Plateau };

// How one model is fitted (optim.*, train.patience, train.select).
struct TrainOptions {
  OptimOptions optim{OptimKind::Adam, 0.01, 5e-4};  // optimizer, base_lr, weight_decay
  int max_epoch = 200;
  LrSchedule lr_schedule = LrSchedule::None;
  double lr_factor = 0.5;
  int lr_patience = 5;
  double lr_min = 1e-5;
  double clip_grad_norm = 0;  // > 0: scale gradients to this global L2 norm when larger
  int patience = 0;           // stop after this many epochs without improvement; 0 = never
  // Datasets of many graphs: graphs per training step (shuffled every epoch); 0 = 128. A dataset
  // of one graph trains full-batch and takes only 0.
  int batch_size = 0;
  Selection select = Selection::ValAcc;
  Metric metric = Metric::Accuracy;
  ClassWeights class_weights = ClassWeights::None;
  bool deterministic_sum = true;  // partitioned training: gradients summed in rank order (dist.deterministic)
};

// The runs of an experiment and what surrounds them.
struct RunOptions {
  uint64_t seed = 0;     // run r uses seed + r
  int num_runs = 1;
  int num_threads = 0;   // 0: all cores (under mpirun: cores / ranks)
  std::string out_dir;   // per-run metric CSVs and checkpoint.bin
  // Model files (train/model_file.hpp): save_model, else out_dir/model.locus when out_dir is set;
  // the run of the best validation score ("best") or one file per run ("all": NAME.runN.locus).
  std::string save_model;
  std::string save_model_runs = "best";
  int ckpt_period = 0;   // checkpoint every this many epochs (0: at run ends and on signals only)
  bool auto_resume = false;
  int memory_limit_mib = 0;          // refuse runs estimated above this (0: the memory available)
  std::vector<std::string> variants;  // compare.variants (`locus compare`)
};

struct ExperimentConfig {
  DatasetOptions dataset;
  GnnSpec gnn;  // gnn.*, posenc_* (gnn.posenc) and optim.weight_decay_on (gnn.decay_first_only)
  TrainOptions train;
  RunOptions run;

  std::string config_path;  // the YAML file read ("" when built from overrides alone)
  // Where each key was set, for errors found after loading: the file and line, or "command line"
  // (line 0), and the token to show (the value, or the whole override).
  struct Origin {
    std::string file;
    long line = 0;
    std::string token;
  };
  std::map<std::string, Origin> origins;
};

// One key of the schema.
struct ConfigKey {
  std::string name;   // dotted, e.g. "gnn.dim_inner"
  std::string type;   // integer | number | boolean | choice | text | list
  std::string range;  // e.g. ">= 1", "[0, 1)" (choice keys: see choices)
  std::string doc;    // one line
  bool results = true;  // changes what is trained (a checkpoint resumes only when these match)
  std::function<std::vector<std::string>()> choices;  // choice keys: the allowed values
  // Reads a YAML value into the config; throws ConfigError (its problem worded to precede the
  // value as written, its fix) when the value does not fit.
  std::function<void(ExperimentConfig&, const YAML::Node&)> read;
  std::function<std::string(const ExperimentConfig&)> text;  // the value as key=value writes it
  std::function<nlohmann::json(const ExperimentConfig&)> json;
  std::string default_text() const;  // text(ExperimentConfig{})
  std::string section() const;       // "gnn" for gnn.dim_inner, "posenc_LapPE.eigen", "" for seed
};

// Every key, in documentation order (dataset, gnn, posenc_*, optim, train, dist, compare, runs).
const std::vector<ConfigKey>& config_schema();
const ConfigKey* find_config_key(const std::string& name);
// The dotted names, in schema order.
const std::vector<std::string>& config_keys();
// Sections keys may be nested under in YAML ("gnn", "posenc_LapPE", "posenc_LapPE.eigen", ...).
const std::vector<std::string>& config_sections();

// "key=value" for every key, in schema order, as overrides would write them.
std::vector<std::string> describe_config(const ExperimentConfig& cfg);
// {"key": value} for every key, typed (numbers, booleans, lists).
nlohmann::json config_json(const ExperimentConfig& cfg);
// describe_config() lines of the keys with ConfigKey::results (what a resumed run must match).
std::vector<std::string> resume_config(const ExperimentConfig& cfg);
// Sets one key from a describe_config() line "key=value" (the inverse of a key's text writer):
// ConfigError for an unknown key or a value its reader refuses. Model files rebuild their config
// with it; user overrides go through apps/config.hpp, which places errors.
void apply_config_line(ExperimentConfig& cfg, const std::string& line);
// The reference table: "| key | type | default | range | meaning |" (Markdown), one row per key.
std::string config_reference_markdown();

// Problems of the config as a whole (dataset given, built-in names, partitioned training's
// limits, checkpoints needing out_dir) and of its model (validate(GnnSpec)), each naming its key.
std::vector<ConfigProblem> validate_config(const ExperimentConfig& cfg);

// Model names as `locus compare` variants and the JSON "model" field write them: a layer type,
// then "+ADDON" parts for positional encodings (LapPE, RWSE, AnchorPE, SPD, anchor, and the
// sequence kinds), anchor branches (gir, pgnn; ":sum" for sum fusion) and l2 attention.
// The position sources of a model that training may randomise every epoch (LapPE signs, anchor
// sets of AnchorPE, anchor indication and the GIR / P-GNN branch with gnn.anchors=sets), each with
// the key that chooses and whether it does: drawn anew every training epoch, or fixed to the
// evaluation's coordinates throughout.
struct PositionSource {
  std::string what;  // "LapPE signs", "gir anchor sets", ...
  std::string key;   // posenc_LapPE.sign_flip, gnn.anchor_resample, ...
  bool randomised = true;
  bool automatic = false;  // the key is auto: the task decided (gnn.anchor_resample)
};
// `spec` as the model is built (GnnSpec::embeddings set for pair tasks: spec_for), or a config's
// gnn (auto resolved as for node classification).
std::vector<PositionSource> position_sources(const GnnSpec& spec);
// One line for a run header: "LapPE signs fixed (posenc_LapPE.sign_flip); gir anchor sets drawn
// anew every epoch (gnn.anchor_resample)"; "" without such sources.
std::string position_protocol(const GnnSpec& spec);

struct ModelAddon {
  std::string name;
  std::vector<std::string> overrides;  // key=value settings it stands for
  std::function<bool(const ExperimentConfig&)> on;  // the config has it
};
const std::vector<ModelAddon>& model_addons();
// "gcn", "gcn+LapPE", "transformer+SPD+RWSE", "gat+pgnn:sum": the overrides the name stands for
// (gnn.layer_type first). InputError listing the valid names for an unknown part.
std::vector<std::string> variant_overrides(const std::string& variant);
// The inverse: the name of the config's model (e.g. "gcn+gir:sum").
std::string model_name(const ExperimentConfig& cfg);

}  // namespace locus
