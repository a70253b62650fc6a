// The experiment config of `locus train`: GraphGym-familiar keys read from YAML, then
// `key=value` overrides from the command line. Unknown keys, wrong types and out-of-range
// values are InputErrors naming the file, line, token and fix (with a "did you mean").
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "layers/positional/inputs.hpp"

namespace locus {

struct ExperimentConfig {
  std::string config_path;  // the YAML file read ("" when built from overrides alone)

  struct Dataset {
    std::string path;                 // a dataset YAML; resolved to an absolute/usable path
    std::string name;                 // a built-in dataset (e.g. "karate"); exactly one of path/name
    std::string feature_norm = "none";  // none | row
    // auto (the dataset's own task) | node_classification | link_prediction | pair_classification
    std::string task = "auto";
    // A folder written by `locus partition`: train on MPI ranks (mpirun -np P), each owning one
    // part. Resolved like path. Empty: one process.
    std::string partitions;
  } dataset;

  struct Dist {
    // Partitioned training: sum the parameter gradients in rank order (bit-identical reruns for
    // a given rank count) instead of MPI_Allreduce's order.
    bool deterministic = true;
  } dist;

  struct Gnn {
    std::string layer_type = "gcn";  // gcn | sage | gin | gat | transformer | mlp
    int layers_mp = 2;               // message-passing layers (>= 1)
    int dim_inner = 16;              // hidden width (>= 1); per head for gat
    std::string act = "relu";        // relu | elu | leaky_relu | gelu | identity
    double dropout = 0.5;            // in [0, 1): feature dropout before every layer
    int att_heads = 8;               // gat: heads of the hidden layers (concatenated); transformer: heads
    int att_heads_out = 1;           // gat: heads of the last layer (averaged)
    double att_dropout = 0.6;        // gat, transformer: dropout on attention coefficients, in [0, 1)
    double att_value_dropout = 0;    // gat: dropout on transformed features before aggregation
    std::string norm = "layer";      // transformer: layer | batch | none
    bool pre_norm = false;           // transformer: pre-norm residual blocks
    double att_clamp = 0;            // transformer: clamp attention scores to ±att_clamp (0: off)
    std::string att_norm = "softmax";  // transformer: softmax | l2 (weights of unit 2-norm; sentences)
    std::string position = "none";     // anchor branch fused with the GNN: none | gir | pgnn
    std::string fusion = "concat";     // concat | sum
    int pgnn_cutoff = -1;              // P-GNN distance cutoff: 2 (P-GNN-F) or -1 (exact, P-GNN-E)
    int gir_hops = -1;                 // GIR hops propagated: -1 = until all reached (exact depths), 0 = layers_mp, else >= layers_mp
    std::string gir_aggregate = "mean";  // GIR: mean | sum (over in-neighbours)
    std::string anchors = "sets";      // anchor branch: sets (P-GNN's, resampled every epoch) | nodes (fixed single nodes)
    bool position_features = false;    // fused anchor branch reads the node features too (default: position only)
    std::string gir_update = "frontier";  // GIR: frontier (each entry once) | reached (every reached entry, every hop)
  } gnn;

  // posenc_LapPE.*, posenc_RWSE.*, posenc_Anchor.*, posenc_SPD.*, posenc_seq.* (GraphGPS-style names).
  pe::PosEncSpec posenc;

  struct Optim {
    std::string optimizer = "adam";  // adam | adamw | sgd
    double base_lr = 0.01;           // > 0
    double weight_decay = 5e-4;      // >= 0
    std::string weight_decay_on = "first";  // first (Kipf & Welling: first layer only) | all
    int max_epoch = 200;             // >= 1
    double clip_grad_norm = 0;       // > 0: scale gradients to this global L2 norm when larger; 0 = off
  } optim;

  struct Train {
    int patience = 0;  // stop after this many epochs without improvement (see select); 0 = never
    // Model selection. val_acc: first epoch of maximal validation accuracy. val_acc_loss (the GAT
    // paper's rule): an epoch is kept when its validation accuracy is >= the best so far AND its
    // validation loss <= the lowest so far; patience counts epochs improving neither.
    std::string select = "val_acc";
    // Checkpoints (apps/checkpoint.hpp) go to out_dir/checkpoint.bin every ckpt_period epochs (0 =
    // only when stopped by SIGINT/SIGTERM, at the end of each run and of training, when out_dir is set).
    int ckpt_period = 0;
    bool auto_resume = false;   // continue from out_dir/checkpoint.bin when it exists
    int memory_limit_mib = 0;   // refuse runs estimated above this (0 = the memory available now)
  } train;

  struct Compare {
    // `locus compare`: the model variants to run (apps/compare.hpp), e.g. gcn, gcn+LapPE.
    std::vector<std::string> variants;
  } compare;

  uint64_t seed = 0;    // run r uses seed + r
  int num_runs = 1;     // >= 1
  int num_threads = 0;  // 0 = all cores
  std::string out_dir;  // per-run metrics CSVs go here when set

  // Where each key was set, for errors found after loading (e.g. against the dataset): the file
  // and line, or "command line" (line 0), and the token to show (the value, or the override).
  struct Origin {
    std::string file;
    long line = 0;
    std::string token;
  };
  std::map<std::string, Origin> origins;
};

// Throws InputError "place: problem 'token'. fix" at the place `key` was set (the config file,
// or the command line when the key kept its default; the token is then `key`).
[[noreturn]] void config_error(const ExperimentConfig& cfg, const std::string& key, const std::string& problem,
                               const std::string& fix);

// Every valid key, dotted ("gnn.dim_inner"), for hints and docs.
const std::vector<std::string>& config_keys();

// "key=value" lines for every key in config_keys() order, values as `key=value` overrides would
// write them. Checkpoints compare it to refuse resuming under a different experiment.
std::vector<std::string> describe_config(const ExperimentConfig& cfg);

// Reads `path` (may be empty: defaults only), applies `overrides` ("key=value", in order).
// Relative paths inside the file resolve against the file's folder; relative paths given as
// overrides resolve against the current directory.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace locus
