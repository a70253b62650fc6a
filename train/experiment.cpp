#include "train/experiment.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include "core/dist/comm.hpp"
#include "core/dist/halo.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "layers/memory_estimate.hpp"
#include "layers/registry.hpp"
#include "train/checkpoint.hpp"

namespace locus {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Epochs excluded from the timing median: allocator and cache warm-up.
int warmup_epochs(int max_epoch) { return std::min(10, max_epoch / 5); }

// Keys that do not fit the loaded dataset, as ConfigErrors (apps place them where the key was set).
void check_against_data(const ExperimentConfig& cfg, const Dataset& ds) {
  const pe::PosEncSpec& pe = cfg.gnn.posenc;
  if (auto problem = task_options_problem(ds.task, false, cfg.train.metric, cfg.train.class_weights))
    throw ConfigError(std::move(*problem));
  if (ds.task != Task::NodeClassification && cfg.train.select == Selection::ValAccLoss) {
    const MetricInfo& m = metric_info(metric_name(ds.task, cfg.train.metric));
    const bool pair = is_pair_task(ds.task);
    throw ConfigError({"train.select", "train.select val_acc_loss is for node classification, got",
                       fmt::format("{} select{} the {} validation {} (train.select val_acc)",
                                   pair ? "pair tasks" : task_name(ds.task), pair ? "" : "s",
                                   m.higher_is_better ? "best" : "lowest", pair ? m.abbrev : m.title),
                       ""});
  }
  if (!ds.is_sentences() && pe.seq != "none")
    throw ConfigError({"posenc_seq.kind", "posenc_seq.kind " + pe.seq + " needs sentences (a built-in seq_* dataset), got",
                       "on graphs use posenc_LapPE, posenc_RWSE, posenc_Anchor or posenc_SPD", ""});
  if (!ds.is_sentences() && pe.lap && pe.lap_freqs >= ds.num_nodes)
    throw ConfigError({"posenc_LapPE.eigen.max_freqs",
                       fmt::format("posenc_LapPE.eigen.max_freqs must be below the number of nodes of {} ({}), got",
                                   ds.name, ds.num_nodes),
                       fmt::format("set posenc_LapPE.eigen.max_freqs to at most {}", ds.num_nodes - 1), ""});
}

// Refuses, before allocating the model, a training estimated not to fit
// (layers/memory_estimate.hpp names the big items and the alternatives).
void check_training_memory(const Problem& p, const GnnSpec& spec, int limit_mib) {
  GraphShape shape;
  shape.num_nodes = p.share ? p.share->layout->num_own() + p.share->layout->num_halo() : p.data.num_nodes;
  shape.num_edges = p.data.is_sentences() ? 0 : p.graph.num_edges();
  shape.weighted = p.graph.has_weights();
  shape.feature_nnz = p.feature_nnz;
  shape.dense_input = p.x_dense.size() > 0;
  shape.sentence_blocks = p.data.blocks;
  shape.num_pairs = p.pair_task() ? p.data.num_edges() : 0;
  const bool gir = spec.layer_type == "gir" || spec.position == "gir";
  if (!p.data.is_sentences() && spec.gir.update_reached && spec.gir.max_hops < 0 && gir)
    shape.depth_hint = bfs_depth_hint(p.graph);
  const MemoryEstimate mem = estimate_training_memory(spec, shape);
  // The loaded graph and features are in the estimate and already resident.
  const double limit = limit_mib > 0 ? limit_mib * 1048576.0 : available_memory_bytes() + resident_memory_bytes();
  check_memory(mem, limit, spec);
}

// The checkpoint to continue, refused when it belongs to another experiment.
std::optional<TrainCheckpoint> load_resume(const ExperimentConfig& cfg) {
  if (!check_out_dir(cfg)) return std::nullopt;
  const std::string path = checkpoint_path(cfg.run.out_dir);
  TrainCheckpoint ck = load_checkpoint(path);
  const auto now = resume_config(cfg);
  if (now != ck.config) {
    std::string was = "(none)", is = "(none)";
    for (size_t i = 0; i < std::max(now.size(), ck.config.size()); ++i) {
      was = i < ck.config.size() ? ck.config[i] : "(none)";
      is = i < now.size() ? now[i] : "(none)";
      if (was != is) break;
    }
    throw_input_error(path, 0, "the checkpoint belongs to another experiment: it was written with '" + was + "', now", is,
                      "resume with the original settings, or train into a new out_dir");
  }
  return ck;
}

}  // namespace

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

bool check_out_dir(const ExperimentConfig& cfg) {
  namespace fs = std::filesystem;
  if (!cfg.run.save_model.empty()) check_creatable(cfg.run.save_model, "save_model");
  const std::string& out = cfg.run.out_dir;
  if (out.empty()) return false;
  std::error_code ec;
  const fs::path dir(out);
  if (!fs::exists(dir, ec)) {
    check_creatable(out, "out_dir");
    return false;
  }
  if (!fs::is_directory(dir, ec)) throw_input_error(out, 0, "out_dir is a file, not a folder:", out, "choose another out_dir");
  // Temporary files of an atomic write cut short by a kill (name.tmp.PID) are not results.
  bool empty = true;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().find(".tmp.") == std::string::npos) {
      empty = false;
    } else if (cfg.run.auto_resume) {
      fs::remove(e.path(), ec);
    }
  }
  if (empty) return false;
  const bool has_ckpt = fs::exists(checkpoint_path(out), ec);
  if (cfg.run.auto_resume && has_ckpt) return true;
  throw_input_error(out, 0,
                    cfg.run.auto_resume ? "out_dir is not empty and holds no checkpoint.bin to resume:"
                                        : "out_dir already exists and is not empty:",
                    out,
                    has_ckpt ? "choose a new out_dir, delete this one, or set train.auto_resume=true to continue "
                               "the training checkpointed there"
                             : "choose a new out_dir or delete this one (Locus never overwrites earlier results)");
}

TrainSummary run_experiment(const ExperimentConfig& cfg, const ExperimentCallbacks& cb) {
  // Partitioned training: MPI starts here; rank 0 alone reports and writes, the others share the
  // machine's cores (default threads: cores / ranks on this machine).
  const bool partitioned = !cfg.dataset.partitions.empty();
  dist::Comm* comm = partitioned ? &dist::Comm::world() : nullptr;
  const bool rank0 = !comm || comm->rank() == 0;
  const int threads = cfg.run.num_threads > 0 ? cfg.run.num_threads
                                              : std::max(1, omp_get_num_procs() / (comm ? comm->local_size() : 1));
  omp_set_num_threads(threads);
  // A stop request seen by any rank stops every rank at the same epoch (one reduction per call).
  auto stop_requested = [&]() -> int {
    const int s = cb.stop_requested ? cb.stop_requested() : 0;
    return comm ? static_cast<int>(comm->max(static_cast<double>(s))) : s;
  };

  // A resumed training continues the checkpoint's experiment only: same results-relevant keys.
  std::optional<TrainCheckpoint> resume = load_resume(cfg);
  // Partitioned training reads this rank's part file only; otherwise the whole dataset.
  uint64_t fingerprint = 0;  // of the dataset as loaded, for model files (unknown for a rank's part)
  Problem problem = partitioned ? make_rank_problem(cfg.dataset, *comm) : [&] {
    Dataset ds = load_dataset(cfg.dataset);
    check_against_data(cfg, ds);
    fingerprint = dataset_fingerprint(ds);
    return make_problem(std::move(ds), cfg.dataset);
  }();
  const Dataset& ds = problem.data;
  const GnnSpec spec = spec_for(problem, cfg.gnn);
  check_training_memory(problem, spec, cfg.run.memory_limit_mib);

  TrainSummary s;
  s.dataset = ds.name;
  s.model = model_name(cfg);
  s.metric = metric_name(ds.task, cfg.train.metric);
  s.selects_position = selects_position(spec);
  s.num_nodes = ds.num_nodes;
  s.num_edges = problem.num_edges;
  s.num_features = problem.in_dim;
  s.num_classes = problem.graph_task() ? ds.num_graph_classes : ds.num_classes;
  s.num_targets = ds.num_targets;
  s.num_threads = threads;
  if (resume && (resume->num_nodes != ds.num_nodes || resume->num_edges != problem.num_edges ||
                 resume->num_features != problem.in_dim))
    throw_input_error(checkpoint_path(cfg.run.out_dir), 0,
                      fmt::format("the dataset changed since the checkpoint ({} nodes, {} edges, {} features then; "
                                  "{}, {}, {} now):",
                                  resume->num_nodes, resume->num_edges, resume->num_features, ds.num_nodes,
                                  problem.num_edges, problem.in_dim),
                      ds.name, "resume with the original dataset, or train into a new out_dir");
  if (rank0 && cb.on_start) {
    ExperimentInfo info;
    info.problem = &problem;
    info.spec = spec;
    info.num_threads = threads;
    if (resume) {
      info.resumed = true;
      info.runs_done = resume->done.size();
      info.resume_run = resume->run;
      info.resume_epoch = resume->current.epoch;
      info.checkpoint_threads = resume->num_threads;
    }
    cb.on_start(info);
  }

  // Checkpoints: the finished runs plus, mid-run, the trainer's state; written at every
  // train.ckpt_period-th epoch, at the end of every run, and when a stop request ends training.
  const bool checkpoints = !cfg.run.out_dir.empty() && rank0;
  TrainCheckpoint ck;
  ck.config = resume_config(cfg);
  ck.num_threads = threads;
  ck.num_nodes = ds.num_nodes;
  ck.num_edges = problem.num_edges;
  ck.num_features = problem.in_dim;
  std::vector<double> epoch_ms, comm_bytes, comm_wait;  // per timed training epoch
  int first_run = 0;
  if (resume) {
    s.runs = resume->done;
    s.num_params = resume->num_params;
    epoch_ms = resume->epoch_ms;
    first_run = resume->run;
  }
  auto save = [&](int run_index, const Trainer* trainer) {
    ck.num_params = s.num_params;
    ck.done = s.runs;
    ck.epoch_ms = epoch_ms;
    ck.run = run_index;
    ck.current = trainer ? trainer->state() : TrainerState{};
    save_checkpoint(checkpoint_path(cfg.run.out_dir), ck);
  };
  auto stopped = [&](int sig, std::string at, bool work_left) {
    s.interrupted = true;
    s.stop_signal = sig;
    s.stopped_at = std::move(at);
    s.work_left = work_left;
  };

  const bool save_models = rank0 && !model_path(cfg).empty();
  const bool all_runs = cfg.run.save_model_runs == "all";
  int best_run = -1;  // the run whose parameters s.runs keeps (save_model_runs=best)
  if (resume)
    for (size_t i = 0; i < s.runs.size(); ++i)
      if (!s.runs[i].params.empty()) best_run = static_cast<int>(i);
  const int warmup = warmup_epochs(cfg.train.max_epoch);
  for (int r = first_run; r < cfg.run.num_runs && !s.interrupted; ++r) {
    const uint64_t seed = cfg.run.seed + static_cast<uint64_t>(r);
    Trainer trainer(problem, cfg.gnn, cfg.train, seed, r + 1);
    s.num_params = trainer.num_params();
    if (resume && r == resume->run && resume->current.epoch > 0) trainer.restore(resume->current);
    while (!trainer.finished()) {
      const EpochMetrics& m = trainer.epoch();
      if (m.epoch > warmup) {
        epoch_ms.push_back(m.epoch_ms);
        if (comm) comm_bytes.push_back(trainer.comm_bytes()), comm_wait.push_back(trainer.comm_wait_ms());
      }
      if (rank0 && cb.on_epoch) cb.on_epoch(r, m);
      if (trainer.finished()) break;
      if (const int sig = stop_requested()) {
        // Stop here: the checkpoint holds this epoch; the partial run goes to on_run_end.
        if (checkpoints) save(r, &trainer);
        if (rank0 && cb.on_run_end) cb.on_run_end(r, trainer.result(), false);
        stopped(sig, fmt::format("run {} epoch {}", r + 1, m.epoch), true);
        break;
      }
      if (checkpoints && cfg.run.ckpt_period > 0 && m.epoch % cfg.run.ckpt_period == 0) save(r, &trainer);
    }
    if (s.interrupted) break;
    s.runs.push_back(trainer.result());
    // Model files: each run's now (save_model_runs=all); else only the best run so far keeps its
    // parameters (the first of equal validation scores), written when training ends.
    if (save_models && all_runs) Model::from_run(cfg, problem, fingerprint, s.runs.back(), r).save(model_path(cfg, r));
    const MetricInfo& metric = metric_info(s.metric);
    if (!save_models || all_runs || (best_run >= 0 && !metric.better(s.runs.back().val_acc, s.runs[best_run].val_acc))) {
      s.runs.back().params.clear();
    } else {
      if (best_run >= 0) s.runs[best_run].params.clear();
      best_run = r;
    }
    if (rank0 && cb.on_run_end) cb.on_run_end(r, s.runs.back(), true);
    if (checkpoints) save(r + 1, nullptr);
    // A stop request during the last epoch of a run: stop before the next run starts.
    if (const int sig = stop_requested()) stopped(sig, fmt::format("run {}", r + 1), r + 1 < cfg.run.num_runs);
  }

  if (save_models && !all_runs && best_run >= 0 && !s.work_left)
    Model::from_run(cfg, problem, fingerprint, s.runs[best_run], best_run).save(model_path(cfg));
  s.model_file = save_models && !s.work_left && !s.runs.empty() ? model_path(cfg, all_runs ? 0 : -1) : "";

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
  if (comm) {
    s.rank = comm->rank();
    s.num_ranks = comm->size();
    s.partitions = cfg.dataset.partitions;
    s.cut_edges = problem.share->cut_edges;
    s.halo_rows = problem.share->halo_rows;
    s.comm_bytes_per_epoch = median(comm_bytes);
    s.comm_wait_ms = median(comm_wait);
  }
  s.peak_rss_mib = comm ? comm->max(peak_rss_mib()) : peak_rss_mib();  // the largest rank's
  return s;
}

}  // namespace locus
