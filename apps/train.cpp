#include "apps/train.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <csignal>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <ostream>

#include "apps/checkpoint.hpp"
#include "core/dist/comm.hpp"
#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/ops/loss.hpp"
#include "core/optim.hpp"
#include "datasets/builtin.hpp"
#include "datasets/loader.hpp"
#include "datasets/partition.hpp"
#include "datasets/tasks.hpp"
#include "core/metrics.hpp"
#include "core/numeric_guard.hpp"
#include "core/ops/pair.hpp"
#include "layers/gnn.hpp"
#include "layers/memory_estimate.hpp"

namespace locus {

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

namespace {

using Clock = std::chrono::steady_clock;

// Features for the model: the dataset's (row-normalised when asked), or one-hot identity
// features when the dataset has none. run_training keeps them sparse or densifies them by density.
// A rank of a partitioned training holds only its owned rows (`owned`: their global ids, for
// the identity features).
std::shared_ptr<const SpMat> model_features(const Dataset& ds, const std::string& norm,
                                            const std::vector<int32_t>* owned = nullptr) {
  SpMat x;
  if (ds.num_features() == 0 && owned) {
    x.resize(static_cast<Eigen::Index>(owned->size()), ds.num_nodes);
    std::vector<Eigen::Triplet<float>> t;
    for (size_t i = 0; i < owned->size(); ++i) t.emplace_back(static_cast<Eigen::Index>(i), (*owned)[i], 1.0f);
    x.setFromTriplets(t.begin(), t.end());
  } else if (ds.num_features() == 0) {
    x.resize(ds.num_nodes, ds.num_nodes);
    x.setIdentity();
  } else {
    x = ds.features;
  }
  x.makeCompressed();
  if (norm == "row") {
    // x_i ← x_i / Σ_j x_ij (rows summing to 0 are left as they are), as PyG's NormalizeFeatures.
    for (int64_t i = 0; i < x.outerSize(); ++i) {
      double s = 0;
      for (SpMat::InnerIterator it(x, i); it; ++it) s += it.value();
      if (s != 0)
        for (SpMat::InnerIterator it(x, i); it; ++it) it.valueRef() = static_cast<float>(it.value() / s);
    }
  }
  return std::make_shared<const SpMat>(std::move(x));
}

// Correct predictions among the rows idx.
int64_t count_correct(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx) {
  int64_t correct = 0;
  for (int32_t i : idx) {
    Eigen::Index arg;
    logp.row(i).maxCoeff(&arg);
    correct += arg == labels[i];
  }
  return correct;
}

double accuracy(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx) {
  if (idx.empty()) return std::nan("");
  return static_cast<double>(count_correct(logp, labels, idx)) / static_cast<double>(idx.size());
}

// Mean negative log-likelihood of the nodes idx under log-probabilities logp.
double nll(const Mat& logp, const std::vector<int32_t>& labels, const std::vector<int32_t>& idx) {
  double sum = 0;
  for (int32_t i : idx) sum -= logp(i, labels[i]);
  return idx.empty() ? 0 : sum / static_cast<double>(idx.size());
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string pct(double a) { return std::isnan(a) ? std::string("n/a") : fmt::format("{:.2f}", 100.0 * a); }

Dataset load(const ExperimentConfig& cfg) {
  Dataset ds = cfg.dataset.path.empty() ? builtin_dataset(cfg.dataset.name) : load_dataset_yaml(cfg.dataset.path);
  const std::string where = ds.source;
  if (cfg.dataset.task != "auto")
    ds.task = cfg.dataset.task == "link_prediction"       ? Task::LinkPrediction
              : cfg.dataset.task == "pair_classification" ? Task::PairClassification
                                                          : Task::NodeClassification;
  if (ds.task != Task::NodeClassification) {
    if (ds.is_sentences())
      throw_input_error(where, 0, "pair tasks need an edge-list graph, not sentences:", ds.name,
                        "use a graph dataset or dataset.task=node_classification");
    return ds;  // the pair split checks edges and labels itself
  }
  if (ds.labels.empty() || ds.num_classes < 1)
    throw_input_error(where, 0, "the dataset has no labels:", ds.name, "Add a labels file or a node table");
  if (ds.train.empty())
    throw_input_error(where, 0, "the split has no training nodes:", ds.name, "Give split.train ids");
  return ds;
}

// Scores ⟨z_u, z_v⟩ of a part's pairs and their ROC AUC (NaN for an empty part).
double pair_auc(const Mat& z, const PairPart& part) {
  if (part.size() == 0) return std::nan("");
  std::vector<double> scores(static_cast<size_t>(part.size()));
  for (size_t p = 0; p < scores.size(); ++p) scores[p] = z.row(part.u[p]).dot(z.row(part.v[p]));
  return roc_auc(scores, part.target);
}

// SIGINT / SIGTERM ask training to stop at the end of the current epoch. The handler only
// records the signal and restores the default action, so a second signal ends the process at once.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
  std::signal(sig, SIG_DFL);
}

// Installs the handlers for one run_training call and puts the previous ones back after it.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    prev_int_ = std::signal(SIGINT, on_stop_signal);
    prev_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, prev_int_);
    std::signal(SIGTERM, prev_term_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  int received() const { return g_stop_signal; }

 private:
  void (*prev_int_)(int) = SIG_DFL;
  void (*prev_term_)(int) = SIG_DFL;
};

// The per-epoch metrics CSV of one run.
void write_run_csv(const std::string& out_dir, const std::string& metric, size_t index, const RunResult& r) {
  const std::string& m = metric;
  std::string csv = "epoch,loss,train_" + m + ",val_" + m + ",test_" + m + ",epoch_ms\n";
  for (const auto& e : r.history)
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.4f}\n", e.epoch, e.loss, e.train_acc, e.val_acc, e.test_acc,
                       e.epoch_ms);
  write_file_atomic((std::filesystem::path(out_dir) / fmt::format("run_{}_seed_{}.csv", index, r.seed)).string(), csv);
}

// This rank's share of a partitioned training (dataset.partitions), read from its part file
// alone: the layout, its part of the graph (local numbering) and, as `data`, a Dataset of its
// owned rows (features, labels, split rows) with the whole graph's node count.
struct RankPart {
  dist::Comm* comm = nullptr;
  std::shared_ptr<const dist::LocalLayout> layout;
  std::shared_ptr<DropoutRows> rows;  // global rows and feature positions of the owned rows
  Csr graph;
  Dataset data;
  int64_t num_edges = 0, num_train = 0, num_val = 0, num_test = 0;  // the whole graph's and split's
  int64_t cut_edges = 0, halo_rows = 0;                            // over all ranks
};

RankPart load_rank_part(const ExperimentConfig& cfg) {
  namespace fs = std::filesystem;
  RankPart rp;
  rp.comm = &dist::Comm::world();
  const int rank = rp.comm->rank(), size = rp.comm->size();
  const PartitionFolder meta = read_partition_meta(cfg.dataset.partitions);
  const std::string yaml = (fs::path(cfg.dataset.partitions) / "partition.yaml").string();
  if (meta.num_parts != size)
    throw_input_error(yaml, 0, fmt::format("the partition has {} parts, but the number of MPI ranks is", meta.num_parts),
                      std::to_string(size),
                      fmt::format("launch with mpirun -np {} (or partition again with --parts {})", meta.num_parts, size));
  // The config's dataset must be the one that was cut (its path as written by locus partition).
  const std::string want = cfg.dataset.path.empty() ? cfg.dataset.name : cfg.dataset.path;
  std::error_code ec;
  const bool same = meta.dataset == want || (!cfg.dataset.path.empty() && fs::equivalent(meta.dataset, want, ec));
  if (!same)
    throw_input_error(yaml, 0, "the partition was cut from another dataset (" + meta.dataset + "), the config trains",
                      want, "partition this dataset: locus partition " + want + " --parts " + std::to_string(size));
  const std::string file = part_file(cfg.dataset.partitions, rank);
  if (!meta.part_files)
    throw_input_error(yaml, 0, "the partition holds no training data (part_files: false; the dataset has no node "
                               "labels or is a pair task):", meta.dataset,
                      "partitioned training is for node classification; train pair tasks on one process");
  if (!fs::exists(file, ec))
    throw_input_error(file, 0, "the partition folder has no part file for rank " + std::to_string(rank) + ":", file,
                      "rewrite the partition folder with locus partition DATASET --parts " + std::to_string(size));
  PartData pd = read_part(file);
  if (pd.rank != rank || pd.num_parts != size || pd.num_nodes != meta.num_nodes ||
      pd.graph_checksum != meta.graph_checksum)
    throw_input_error(file, 0, "this part file does not belong to partition.yaml beside it:", file,
                      "rewrite the partition folder with locus partition");
  if (pd.num_train == 0)
    throw_input_error(yaml, 0, "the split has no training nodes:", pd.name, "Give split.train ids");
  rp.rows = std::make_shared<DropoutRows>();
  rp.rows->row.assign(pd.layout.owned.begin(), pd.layout.owned.end());
  rp.rows->nnz_start = std::move(pd.feature_nnz_start);
  rp.layout = std::make_shared<const dist::LocalLayout>(std::move(pd.layout));
  rp.graph = std::move(pd.graph);
  Dataset& d = rp.data;
  d.name = pd.name;
  d.source = file;
  d.task = Task::NodeClassification;
  d.num_nodes = pd.num_nodes;
  d.features = std::move(pd.features);
  d.labels = std::move(pd.labels);
  d.num_classes = pd.num_classes;
  d.train = std::move(pd.train);
  d.val = std::move(pd.val);
  d.test = std::move(pd.test);
  rp.num_edges = pd.num_edges;
  rp.num_train = pd.num_train;
  rp.num_val = pd.num_val;
  rp.num_test = pd.num_test;
  // Edges into owned rows from the halo are this rank's share of the cut.
  int64_t cut = 0;
  for (int32_t src : rp.graph.indices) cut += src >= rp.layout->num_own();
  rp.cut_edges = rp.comm->sum(cut);
  rp.halo_rows = rp.comm->sum(rp.layout->num_halo());
  return rp;
}

// Swallows the log of ranks other than 0.
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

// Epochs excluded from the timing median: allocator and cache warm-up.
int warmup_epochs(int max_epoch) { return std::min(10, max_epoch / 5); }

}  // namespace

bool check_out_dir(const ExperimentConfig& cfg) {
  namespace fs = std::filesystem;
  if (cfg.out_dir.empty()) return false;
  std::error_code ec;
  const fs::path dir(cfg.out_dir);
  if (!fs::exists(dir, ec)) {
    check_creatable(cfg.out_dir, "out_dir");
    return false;
  }
  if (!fs::is_directory(dir, ec))
    throw_input_error(cfg.out_dir, 0, "out_dir is a file, not a folder:", cfg.out_dir, "choose another out_dir");
  // Temporary files of an atomic write cut short by a kill (name.tmp.PID) are not results.
  bool empty = true;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().find(".tmp.") == std::string::npos) {
      empty = false;
    } else if (cfg.train.auto_resume) {
      fs::remove(e.path(), ec);
    }
  }
  if (empty) return false;
  const bool has_ckpt = fs::exists(checkpoint_path(cfg.out_dir), ec);
  if (cfg.train.auto_resume && has_ckpt) return true;
  throw_input_error(cfg.out_dir, 0,
                    cfg.train.auto_resume ? "out_dir is not empty and holds no checkpoint.bin to resume:"
                                          : "out_dir already exists and is not empty:",
                    cfg.out_dir,
                    has_ckpt ? "choose a new out_dir, delete this one, or set train.auto_resume=true to continue "
                               "the training checkpointed there"
                             : "choose a new out_dir or delete this one (Locus never overwrites earlier results)");
}

TrainSummary run_training(const ExperimentConfig& cfg, std::ostream& log_out, bool progress_out) {
  // Partitioned training: MPI starts here; rank 0 alone logs and writes results, the others
  // share the machine's cores (default threads: cores / ranks on this machine).
  const bool partitioned = !cfg.dataset.partitions.empty();
  dist::Comm* comm = partitioned ? &dist::Comm::world() : nullptr;
  const bool rank0 = !comm || comm->rank() == 0;
  NullBuffer null_buffer;
  std::ostream null_log(&null_buffer);
  std::ostream& log = rank0 ? log_out : null_log;
  const bool progress = progress_out && rank0;
  const int threads = cfg.num_threads > 0 ? cfg.num_threads
                                          : std::max(1, omp_get_num_procs() / (comm ? comm->local_size() : 1));
  omp_set_num_threads(threads);
  const StopSignals stop;
  // A stop signal seen by any rank stops every rank at the same epoch (one reduction per call).
  auto stop_requested = [&]() -> int {
    return comm ? static_cast<int>(comm->max(static_cast<double>(stop.received()))) : stop.received();
  };

  // A resumed training continues the checkpoint's experiment only: same results-relevant keys.
  std::optional<TrainCheckpoint> resume;
  if (check_out_dir(cfg)) {
    const std::string path = checkpoint_path(cfg.out_dir);
    resume = load_checkpoint(path);
    const auto now = resume_config(cfg);
    if (now != resume->config) {
      std::string was = "(none)", is = "(none)";
      for (size_t i = 0; i < std::max(now.size(), resume->config.size()); ++i) {
        was = i < resume->config.size() ? resume->config[i] : "(none)";
        is = i < now.size() ? now[i] : "(none)";
        if (was != is) break;
      }
      throw_input_error(path, 0, "the checkpoint belongs to another experiment: it was written with '" + was + "', now",
                        is, "resume with the original settings, or train into a new out_dir");
    }
  }

  // Partitioned training reads this rank's part file only; otherwise the whole dataset.
  std::optional<RankPart> part;
  if (partitioned) part = load_rank_part(cfg);
  Dataset ds = part ? std::move(part->data) : load(cfg);
  // Config keys that do not fit this dataset, reported where they were set.
  if (ds.task != Task::NodeClassification && cfg.train.select == "val_acc_loss")
    config_error(cfg, "train.select", "train.select val_acc_loss is for node classification, got",
                 "pair tasks select the best validation AUC (train.select val_acc)");
  if (!ds.is_sentences() && cfg.posenc.seq != "none")
    config_error(cfg, "posenc_seq.kind",
                 "posenc_seq.kind " + cfg.posenc.seq + " needs sentences (a built-in seq_* dataset), got",
                 "on graphs use posenc_LapPE, posenc_RWSE, posenc_Anchor or posenc_SPD");
  if (!ds.is_sentences() && cfg.posenc.lap && cfg.posenc.lap_freqs >= ds.num_nodes)
    config_error(cfg, "posenc_LapPE.eigen.max_freqs",
                 fmt::format("posenc_LapPE.eigen.max_freqs must be below the number of nodes of {} ({}), got", ds.name,
                             ds.num_nodes),
                 fmt::format("set posenc_LapPE.eigen.max_freqs to at most {}", ds.num_nodes - 1));
  // The topology: an edge-list graph, or for sentence datasets a batch of complete graphs.
  // (A rank: its part, in local numbering.)
  const Csr graph = part                ? std::move(part->graph)
                    : ds.is_sentences() ? Csr()
                                        : Csr::from_edges(ds.num_nodes, ds.src, ds.dst, ds.weight);
  const Dense sentences = ds.is_sentences() ? Dense::blocks(ds.blocks) : Dense();
  // Whole-split sizes (a rank's ds lists its own rows only).
  const size_t num_train = part ? part->num_train : ds.train.size(), num_val = part ? part->num_val : ds.val.size(),
               num_test = part ? part->num_test : ds.test.size();
  auto x = model_features(ds, cfg.dataset.feature_norm, part ? &part->layout->owned : nullptr);
  const int64_t feature_nnz = x->nonZeros();
  const int64_t in_dim = x->cols();
  // Mostly-zero features (bags of words) stay sparse; dense ones (embeddings, generated
  // features) are multiplied as a dense matrix, which is faster from ~25% non-zeros on.
  // (A rank decides as one process would, from the whole matrix.)
  const double density = static_cast<double>(comm ? comm->sum(static_cast<int64_t>(x->nonZeros())) : x->nonZeros()) /
                          std::max<double>(1.0, double(ds.num_nodes) * double(x->cols()));
  const Mat x_dense = density >= 0.25 ? Mat(*x) : Mat();
  if (x_dense.size() > 0) x.reset();
  // The edge list and raw features are no longer needed: free them before training.
  const int64_t num_edges = part ? part->num_edges : ds.is_sentences() ? sentences.num_edge_slots() : ds.num_edges();
  const int64_t num_raw_features = ds.num_features();
  const bool pair_task = ds.task != Task::NodeClassification;
  if (!pair_task) {  // pair tasks split the edges per run
    ds.src = {};
    ds.dst = {};
    ds.weight = {};
  }
  ds.features = SpMat();

  GnnSpec spec;
  spec.layer_type = cfg.gnn.layer_type;
  spec.layers = cfg.gnn.layers_mp;
  spec.in_dim = in_dim;
  spec.hidden = cfg.gnn.dim_inner;
  spec.out_dim = pair_task ? cfg.gnn.dim_inner : ds.num_classes;
  spec.embeddings = pair_task;
  spec.act = ops::parse_act(cfg.gnn.act.c_str());
  spec.dropout = cfg.gnn.dropout;
  spec.decay_first_only = cfg.optim.weight_decay_on == "first";
  spec.att_heads = cfg.gnn.att_heads;
  spec.att_heads_out = cfg.gnn.att_heads_out;
  spec.att_dropout = cfg.gnn.att_dropout;
  spec.att_value_dropout = cfg.gnn.att_value_dropout;
  spec.norm = cfg.gnn.norm;
  spec.pre_norm = cfg.gnn.pre_norm;
  spec.att_clamp = cfg.gnn.att_clamp;
  spec.att_norm = cfg.gnn.att_norm;
  spec.position = cfg.gnn.position;
  spec.fusion = cfg.gnn.fusion;
  spec.pgnn_cutoff = cfg.gnn.pgnn_cutoff;
  spec.gir.aggregate = cfg.gnn.gir_aggregate == "mean" ? ops::Reduce::Mean : ops::Reduce::Sum;
  spec.gir.update_reached = cfg.gnn.gir_update == "reached";
  spec.gir.max_hops = cfg.gnn.gir_hops;
  spec.position_features = cfg.gnn.position_features;
  spec.anchor_nodes = cfg.gnn.anchors == "nodes";
  spec.posenc = cfg.posenc;
  if (part) {
    spec.partition = part->layout;
    spec.comm = comm;
    spec.partition_rows = part->rows;
  }

  // Resource guard: refuse, before allocating the model, a training estimated not to fit
  // (layers/memory_estimate.hpp names the big items and the alternatives).
  {
    GraphShape shape;
    shape.num_nodes = part ? part->layout->num_own() + part->layout->num_halo() : ds.num_nodes;
    shape.num_edges = ds.is_sentences() ? 0 : graph.num_edges();
    shape.weighted = graph.has_weights();
    shape.feature_nnz = feature_nnz;
    shape.dense_input = x_dense.size() > 0;
    shape.sentence_blocks = ds.blocks;
    shape.num_pairs = pair_task ? ds.num_edges() : 0;
    if (!ds.is_sentences() && spec.gir.update_reached && spec.gir.max_hops < 0 &&
        (spec.layer_type == "gir" || spec.position == "gir"))
      shape.depth_hint = bfs_depth_hint(graph);
    const MemoryEstimate mem = estimate_training_memory(spec, shape);
    // The loaded graph and features are in the estimate and already resident.
    const double limit = cfg.train.memory_limit_mib > 0 ? cfg.train.memory_limit_mib * 1048576.0
                                                        : available_memory_bytes() + resident_memory_bytes();
    check_memory(mem, limit, spec);
  }

  OptimOptions oo;
  oo.kind = parse_optim_kind(cfg.optim.optimizer);
  oo.lr = cfg.optim.base_lr;
  oo.weight_decay = cfg.optim.weight_decay;

  TrainSummary s;
  s.dataset = ds.name;
  s.model = spec.layer_type == "gat"
                ? fmt::format("gat x{} hidden {}x{} heads, out heads {}", spec.layers, spec.hidden, spec.att_heads,
                              spec.att_heads_out)
                : fmt::format("{} x{} hidden {}", spec.layer_type, spec.layers, spec.hidden);
  {
    const pe::PosEncSpec& pe = cfg.posenc;
    if (pe.lap) s.model += fmt::format(" + LapPE k{}→{}", pe.lap_freqs, pe.lap_dim);
    if (pe.rwse) s.model += fmt::format(" + RWSE K{}→{}", pe.rwse_steps, pe.rwse_dim);
    if (pe.anchor) s.model += fmt::format(" + anchors→{}{}", pe.anchor_dim, pe.anchor_cutoff >= 0 ? fmt::format(" (cutoff {})", pe.anchor_cutoff) : "");
    if (pe.spd) s.model += fmt::format(" + SPD bias ≤{} hops", pe.spd_max_dist);
    if (pe.seq != "none") s.model += " + " + pe.seq;
    if (cfg.gnn.att_norm != "softmax") s.model += " (" + cfg.gnn.att_norm + " attention)";
  }
  s.num_nodes = ds.num_nodes;
  s.num_edges = num_edges;
  s.num_features = in_dim;
  s.num_classes = ds.num_classes;
  s.num_threads = threads;
  if (resume) {
    if (resume->num_nodes != ds.num_nodes || resume->num_edges != num_edges || resume->num_features != in_dim)
      throw_input_error(checkpoint_path(cfg.out_dir), 0,
                        fmt::format("the dataset changed since the checkpoint ({} nodes, {} edges, {} features then; "
                                    "{}, {}, {} now):",
                                    resume->num_nodes, resume->num_edges, resume->num_features, ds.num_nodes, num_edges,
                                    in_dim),
                        ds.name, "resume with the original dataset, or train into a new out_dir");
    if (resume->num_threads != threads)
      log << fmt::format("note: resuming with {} threads; the checkpoint was written with {} (results match an "
                         "uninterrupted run only with the same thread count)\n",
                         threads, resume->num_threads);
  }

  if (pair_task)
    log << fmt::format("locus train: {} ({} nodes, {} edges, {} features{}), task {}: 80/10/10 pairs with equal negatives, "
                       "ROC AUC\n",
                       ds.name, ds.num_nodes, num_edges, in_dim, num_raw_features ? "" : " one-hot", task_name(ds.task));
  else
    log << fmt::format("locus train: {} ({} nodes, {} edges, {} features{}, {} classes; split {}/{}/{})\n", ds.name,
                       ds.num_nodes, num_edges, in_dim, num_raw_features ? "" : " one-hot", ds.num_classes,
                       num_train, num_val, num_test);
  log << fmt::format("model: {}, act {}, dropout {}, {} lr {} wd {} ({}), {} epochs, {} runs, {} threads\n", s.model,
                     cfg.gnn.act, cfg.gnn.dropout, cfg.optim.optimizer, cfg.optim.base_lr, cfg.optim.weight_decay,
                     cfg.optim.weight_decay_on, cfg.optim.max_epoch, cfg.num_runs, threads);
  log.flush();

  std::vector<double> epoch_ms;
  const bool dense_input = x_dense.size() > 0;
  auto input_on = [&](Tape<float>& t) {
    return dense_input ? Features<float>{t.view(x_dense), nullptr} : Features<float>{Var{}, x};
  };
  if (pair_task) s.metric = "auc";
  // Accuracy over a split (all ranks' rows; a rank's ds holds its owned rows only), and the mean
  // NLL of the validation rows.
  auto split_accuracy = [&](const Mat& logp, const std::vector<int32_t>& rows, size_t global_rows) {
    if (!comm) return accuracy(logp, ds.labels, rows);
    const int64_t correct = comm->sum(count_correct(logp, ds.labels, rows));
    return global_rows ? static_cast<double>(correct) / static_cast<double>(global_rows) : std::nan("");
  };
  auto val_nll = [&](const Mat& logp) {
    if (!comm) return nll(logp, ds.labels, ds.val);
    const double sum = comm->sum(nll(logp, ds.labels, ds.val) * static_cast<double>(ds.val.size()));
    return num_val == 0 ? 0.0 : sum / static_cast<double>(num_val);
  };
  std::vector<double> comm_bytes, comm_wait;  // per timed training epoch (partitioned training)
  const bool has_val = pair_task || num_val > 0;
  const bool select_acc_loss = cfg.train.select == "val_acc_loss";

  // Checkpoints: the finished runs plus, mid-run, the state below; written at every
  // train.ckpt_period-th epoch, at the end of every run, and when a signal stops training.
  const bool checkpoints = !cfg.out_dir.empty() && rank0;
  TrainCheckpoint ck;
  ck.config = resume_config(cfg);
  ck.num_threads = threads;
  ck.num_nodes = ds.num_nodes;
  ck.num_edges = num_edges;
  ck.num_features = in_dim;
  int first_run = 0;
  if (resume) {
    s.runs = resume->done;
    s.num_params = resume->num_params;
    epoch_ms = resume->epoch_ms;
    first_run = resume->run;
    log << fmt::format("resuming {}: {} of {} runs finished{}\n", checkpoint_path(cfg.out_dir), resume->done.size(),
                       cfg.num_runs,
                       resume->epoch > 0 ? fmt::format(", run {} at epoch {}", resume->run + 1, resume->epoch) : "");
  }

  // Pair tasks (P-GNN protocol): a fresh split per run (seed = the run's seed, so every model
  // sees the same splits); link prediction passes messages over the training edges only;
  // training negatives are resampled every epoch; the score of a pair is ⟨z_u, z_v⟩ of
  // L2-normalised embeddings, the loss binary cross-entropy, the metric ROC AUC.
  const std::string label = pair_task ? "AUC " : "";
  // A stop signal was seen: records it and says where training stopped (`at`, e.g. "run 2
  // epoch 17") and, when something is left to do, how to continue.
  auto stopped = [&](int sig, const std::string& at, bool work_left) {
    s.interrupted = true;
    s.stop_signal = sig;
    log << fmt::format("{} received: stopped after {}{}\n", s.stop_signal == SIGINT ? "SIGINT" : "SIGTERM", at,
                       checkpoints && work_left && !partitioned
                           ? "; continue with train.auto_resume=true and the same out_dir"
                           : "");
  };
  for (int r = first_run; r < cfg.num_runs && !s.interrupted; ++r) {
    RunResult run;
    run.seed = cfg.seed + static_cast<uint64_t>(r);
    std::optional<TaskSplit> split;
    Csr pair_graph;
    if (pair_task) {
      split = make_task_split(ds, ds.task, run.seed);
      pair_graph = Csr::from_edges(ds.num_nodes, split->src, split->dst);
    }
    Rng rng(run.seed);
    spec.posenc_seed = splitmix64(run.seed ^ 0xA11C0A11C0ull);
    ParamStore<float> store;
    GnnClassifier<float> model = ds.is_sentences() ? GnnClassifier<float>(store, rng, spec, sentences)
                                                   : GnnClassifier<float>(store, rng, spec, pair_task ? pair_graph : graph);
    s.num_params = store.size();
    Optimizer<float> opt(oo);
    Tape<float> tape;
    double best_val = -1, best_val_loss = std::numeric_limits<double>::infinity();
    int since_best = 0;
    int start_epoch = 1;
    if (resume && r == resume->run && resume->epoch > 0) {
      // Continue where the checkpoint stopped: the model was built from the same seed (graph
      // caches, anchor sets), then takes the saved parameters, optimiser and RNG state.
      check(static_cast<int64_t>(resume->params.size()) == store.size(),
            "checkpoint: parameter count differs from the model's");
      std::copy(resume->params.begin(), resume->params.end(), store.values().begin());
      opt.set_state({resume->optim_steps, resume->optim_m, resume->optim_v});
      rng.set_state(resume->rng_state);
      best_val = resume->best_val;
      best_val_loss = resume->best_val_loss;
      since_best = resume->since_best;
      run = resume->current;
      start_epoch = resume->epoch + 1;
    }
    auto save = [&](int run_index, int epochs_done) {
      ck.num_params = s.num_params;
      ck.done = s.runs;
      ck.epoch_ms = epoch_ms;
      ck.run = run_index;
      ck.epoch = epochs_done;
      if (epochs_done > 0) {
        ck.current = run;
        ck.best_val = best_val;
        ck.best_val_loss = best_val_loss;
        ck.since_best = since_best;
        ck.rng_state = rng.state();
        ck.params.assign(store.values().begin(), store.values().end());
        auto os = opt.state();
        ck.optim_steps = os.steps;
        ck.optim_m = std::move(os.m);
        ck.optim_v = std::move(os.v);
      } else {
        ck.current = RunResult{};
        ck.params.clear();
        ck.optim_m.clear();
        ck.optim_v.clear();
      }
      save_checkpoint(checkpoint_path(cfg.out_dir), ck);
    };
    auto last_print = Clock::now();
    for (int epoch = start_epoch; epoch <= cfg.optim.max_epoch; ++epoch) {
      if (split) resample_train_negatives(*split, splitmix64(run.seed) + static_cast<uint64_t>(epoch));
      // Training step: forward, loss, backward, optimiser update (timed).
      const auto t0 = Clock::now();
      tape.clear();
      store.zero_grad();
      if (comm) comm->bytes_sent = 0, comm->wait_ms = 0;
      Var out = model.forward(tape, input_on(tape), true, rng.next_key());
      Var loss;
      {
        const auto scope = tape.scope("loss");
        if (split) {
          loss = ops::bce_with_logits(tape, ops::pair_dot(tape, out, split->train.u, split->train.v), split->train.target);
        } else if (!part) {
          loss = ops::nll_loss(tape, out, ds.labels, ds.train);
        } else if (ds.train.empty()) {
          // No training rows here: a zero loss that still runs the backward pass (and its exchanges).
          loss = ops::weighted_sum(tape, out, Mat(Mat::Zero(tape.rows(out), tape.cols(out))));
        } else {
          // This rank's share of the global mean: the ranks' gradients then simply add up.
          loss = ops::scale(tape, ops::nll_loss(tape, out, ds.labels, ds.train),
                            static_cast<float>(static_cast<double>(ds.train.size()) / static_cast<double>(num_train)));
        }
      }
      // Numeric faults (core/numeric_guard.hpp) stop training naming the epoch, op and layer.
      check_loss(tape, loss, store, epoch, r + 1);
      tape.backward(loss);
      if (comm) comm->sum(store.grads().data(), store.size(), cfg.dist.deterministic);
      check_gradients(tape, loss, store, epoch, r + 1);
      if (cfg.optim.clip_grad_norm > 0) clip_grad_norm(store, cfg.optim.clip_grad_norm);
      opt.step(store);
      check_parameters(tape, store, epoch, r + 1);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      double loss_value = tape.value(loss)(0, 0);
      if (comm) {  // the slowest rank's epoch; the global loss; traffic of all ranks
        const double bytes = static_cast<double>(comm->sum(comm->bytes_sent)), wait = comm->max(comm->wait_ms);
        ms = comm->max(ms);
        loss_value = comm->sum(loss_value);
        if (epoch > warmup_epochs(cfg.optim.max_epoch)) comm_bytes.push_back(bytes), comm_wait.push_back(wait);
      }
      if (epoch > warmup_epochs(cfg.optim.max_epoch)) epoch_ms.push_back(ms);

      // Evaluation (not timed): dropout off.
      tape.clear();
      const Mat eval = tape.value(model.forward(tape, input_on(tape), false, 0));
      const EpochMetrics m =
          split ? EpochMetrics{epoch, loss_value, pair_auc(eval, split->train), pair_auc(eval, split->val),
                               pair_auc(eval, split->test), ms}
                : EpochMetrics{epoch, loss_value, split_accuracy(eval, ds.train, num_train),
                               split_accuracy(eval, ds.val, num_val), split_accuracy(eval, ds.test, num_test),
                               ms};
      run.history.push_back(m);
      run.epochs_run = epoch;
      // Model selection (train.select); the last epoch is kept when there is no val split.
      bool keep = !has_val, improved = !has_val;
      if (has_val && select_acc_loss) {
        const double vl = val_nll(eval);
        improved = m.val_acc >= best_val || vl <= best_val_loss;
        keep = m.val_acc >= best_val && vl <= best_val_loss;
        if (improved) best_val = std::max(best_val, m.val_acc), best_val_loss = std::min(best_val_loss, vl);
      } else if (has_val) {
        keep = improved = m.val_acc > best_val;
        if (keep) best_val = m.val_acc;
      }
      if (keep) {
        run.best_epoch = epoch;
        run.train_acc = m.train_acc;
        run.val_acc = m.val_acc;
        run.test_acc = m.test_acc;
      }
      bool patience_over = false;
      if (improved) {
        since_best = 0;
      } else if (cfg.train.patience > 0 && ++since_best >= cfg.train.patience) {
        patience_over = true;
      }
      if (progress && (Clock::now() - last_print > std::chrono::milliseconds(100) || epoch == cfg.optim.max_epoch)) {
        last_print = Clock::now();
        log << fmt::format("\r\033[Krun {}/{} epoch {:>4}/{} loss {:.4f} {}train {} val {} | {:.2f} ms/epoch", r + 1,
                           cfg.num_runs, epoch, cfg.optim.max_epoch, loss_value, label, pct(m.train_acc),
                           pct(m.val_acc), ms)
            << std::flush;
      }
      if (patience_over || epoch == cfg.optim.max_epoch) break;  // the run is finished
      if (const int sig = stop_requested()) {
        // Stop here: the checkpoint holds this epoch; the partial run's metrics go to its CSV.
        if (checkpoints) {
          save(r, epoch);
          write_run_csv(cfg.out_dir, s.metric, static_cast<size_t>(r), run);
        }
        if (progress) log << "\r\033[K";
        stopped(sig, fmt::format("run {} epoch {}", r + 1, epoch), true);
        break;
      }
      if (checkpoints && cfg.train.ckpt_period > 0 && epoch % cfg.train.ckpt_period == 0) save(r, epoch);
    }
    if (s.interrupted) break;
    if (progress) log << "\r\033[K";
    run.params_checksum = fnv1a64(store.values().data(), store.values().size() * sizeof(float));
    log << fmt::format("run {}/{} seed {}: best epoch {} val {}{} test {}{}\n", r + 1, cfg.num_runs, run.seed,
                       run.best_epoch, label, pct(run.val_acc), label, pct(run.test_acc))
        << std::flush;
    s.runs.push_back(std::move(run));
    if (checkpoints) {
      write_run_csv(cfg.out_dir, s.metric, s.runs.size() - 1, s.runs.back());
      save(r + 1, 0);
    }
    // A signal during the last epoch of a run: stop before the next run starts.
    if (const int sig = stop_requested()) stopped(sig, fmt::format("run {}", r + 1), r + 1 < cfg.num_runs);
  }

  // Mean and population standard deviation over the finished runs (NaN when there are none).
  auto mean_std = [&](auto field) {
    if (s.runs.empty()) return std::pair{std::nan(""), std::nan("")};
    double m = 0, v = 0;
    for (const auto& r : s.runs) m += field(r);
    m /= static_cast<double>(s.runs.size());
    for (const auto& r : s.runs) v += (field(r) - m) * (field(r) - m);
    return std::pair{m, std::sqrt(v / static_cast<double>(s.runs.size()))};
  };
  std::tie(s.test_acc_mean, s.test_acc_std) = mean_std([](const RunResult& r) { return r.test_acc; });
  s.val_acc_mean = mean_std([](const RunResult& r) { return r.val_acc; }).first;
  s.epoch_ms_median = median(epoch_ms);
  if (part) {
    s.rank = comm->rank();
    s.num_ranks = comm->size();
    s.partitions = cfg.dataset.partitions;
    s.cut_edges = part->cut_edges;
    s.halo_rows = part->halo_rows;
    s.comm_bytes_per_epoch = median(comm_bytes);
    s.comm_wait_ms = median(comm_wait);
  }
  s.peak_rss_mib = comm ? comm->max(peak_rss_mib()) : peak_rss_mib();  // the largest rank's
  if (checkpoints) log << "per-epoch metrics and checkpoint: " << cfg.out_dir << "\n";
  return s;
}

void print_summary(const TrainSummary& s, std::ostream& out) {
  out << fmt::format("\n{:<10} {:>10} {:>12} {:>12}\n", "seed", "best_epoch", "val_" + s.metric + " %",
                     "test_" + s.metric + " %");
  for (const auto& r : s.runs)
    out << fmt::format("{:<10} {:>10} {:>12} {:>12}\n", r.seed, r.best_epoch, pct(r.val_acc), pct(r.test_acc));
  out << fmt::format("{:<10} {:>10} {:>12} {:>12}\n", "mean", "", pct(s.val_acc_mean),
                     pct(s.test_acc_mean) + " ± " + pct(s.test_acc_std));
  out << fmt::format("test {} {}% ± {} over {} runs; {:.3f} ms per training epoch (median); peak RSS {:.1f} MiB\n",
                     s.metric == "auc" ? "ROC AUC" : "accuracy", pct(s.test_acc_mean), pct(s.test_acc_std),
                     s.runs.size(), s.epoch_ms_median, s.peak_rss_mib);
  if (s.num_ranks > 1 || !s.partitions.empty())
    out << fmt::format("{} MPI ranks ({}): cut edges {}, halo rows {}; per epoch {:.1f} KiB sent by all ranks, {:.3f} ms "
                       "waiting (slowest rank, median); peak RSS of the largest rank\n",
                       s.num_ranks, s.partitions, s.cut_edges, s.halo_rows, s.comm_bytes_per_epoch / 1024.0, s.comm_wait_ms);
  if (s.interrupted)
    out << fmt::format("interrupted by {}: the table holds the {} runs finished before it\n",
                       s.stop_signal == SIGINT ? "SIGINT" : "SIGTERM", s.runs.size());

}

void write_summary_json(const TrainSummary& s, const ExperimentConfig& cfg, const std::string& path) {
  using nlohmann::json;
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json j;
  j["dataset"] = s.dataset;
  j["model"] = s.model;
  j["num_runs"] = s.runs.size();
  // A training stopped by SIGINT/SIGTERM reports the runs finished before the signal.
  j["interrupted"] = s.interrupted;
  // Node classification: test_acc_*, val_acc_mean; pair tasks: test_auc_*, val_auc_mean.
  const std::string m = s.metric;
  j["metric"] = m;
  j["test_" + m + "_mean"] = num(s.test_acc_mean);
  j["test_" + m + "_std"] = num(s.test_acc_std);
  j["val_" + m + "_mean"] = num(s.val_acc_mean);
  j["epoch_ms_median"] = num(s.epoch_ms_median);
  j["peak_rss_mib"] = s.peak_rss_mib;
  j["num_threads"] = s.num_threads;
  j["num_nodes"] = s.num_nodes;
  j["num_edges"] = s.num_edges;
  j["num_features"] = s.num_features;
  j["num_classes"] = s.num_classes;
  j["num_params"] = s.num_params;
  j["num_ranks"] = s.num_ranks;
  if (!s.partitions.empty())
    j["distributed"] = {{"partitions", s.partitions},
                        {"deterministic", cfg.dist.deterministic},
                        {"cut_edges", s.cut_edges},
                        {"halo_rows", s.halo_rows},
                        {"bytes_per_epoch", s.comm_bytes_per_epoch},
                        {"comm_wait_ms", s.comm_wait_ms}};
  j["config"] = {{"path", cfg.config_path},
                 {"dataset.path", cfg.dataset.path},
                 {"dataset.name", cfg.dataset.name},
                 {"dataset.feature_norm", cfg.dataset.feature_norm},
                 {"dataset.task", cfg.dataset.task},
                 {"gnn.layer_type", cfg.gnn.layer_type},
                 {"gnn.layers_mp", cfg.gnn.layers_mp},
                 {"gnn.dim_inner", cfg.gnn.dim_inner},
                 {"gnn.act", cfg.gnn.act},
                 {"gnn.dropout", cfg.gnn.dropout},
                 {"gnn.att_heads", cfg.gnn.att_heads},
                 {"gnn.att_heads_out", cfg.gnn.att_heads_out},
                 {"gnn.att_dropout", cfg.gnn.att_dropout},
                 {"gnn.att_value_dropout", cfg.gnn.att_value_dropout},
                 {"gnn.norm", cfg.gnn.norm},
                 {"gnn.pre_norm", cfg.gnn.pre_norm},
                 {"gnn.att_clamp", cfg.gnn.att_clamp},
                 {"optim.optimizer", cfg.optim.optimizer},
                 {"optim.base_lr", cfg.optim.base_lr},
                 {"optim.weight_decay", cfg.optim.weight_decay},
                 {"optim.weight_decay_on", cfg.optim.weight_decay_on},
                 {"optim.max_epoch", cfg.optim.max_epoch},
                 {"train.patience", cfg.train.patience},
                 {"train.select", cfg.train.select},
                 {"gnn.att_norm", cfg.gnn.att_norm},
                 {"posenc_LapPE", {{"enable", cfg.posenc.lap}, {"dim_pe", cfg.posenc.lap_dim}, {"eigen.max_freqs", cfg.posenc.lap_freqs}}},
                 {"posenc_RWSE", {{"enable", cfg.posenc.rwse}, {"dim_pe", cfg.posenc.rwse_dim}, {"kernel.times", cfg.posenc.rwse_steps}}},
                 {"posenc_Anchor", {{"enable", cfg.posenc.anchor}, {"dim_pe", cfg.posenc.anchor_dim}, {"cutoff", cfg.posenc.anchor_cutoff}}},
                 {"posenc_SPD", {{"enable", cfg.posenc.spd}, {"max_dist", cfg.posenc.spd_max_dist}}},
                 {"posenc_seq", {{"kind", cfg.posenc.seq}, {"dim_pe", cfg.posenc.seq_dim}, {"max_len", cfg.posenc.seq_max_len},
                                 {"buckets", cfg.posenc.seq_buckets}, {"max_distance", cfg.posenc.seq_max_distance}}},
                 {"seed", cfg.seed}};
  json runs = json::array();
  for (const auto& r : s.runs)
    runs.push_back({{"seed", r.seed},
                    {"best_epoch", r.best_epoch},
                    {"epochs_run", r.epochs_run},
                    {"train_" + m, num(r.train_acc)},
                    {"val_" + m, num(r.val_acc)},
                    {"test_" + m, num(r.test_acc)},
                    {"params_checksum", fmt::format("{:016x}", r.params_checksum)}});
  j["runs"] = runs;
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace locus
