#include "apps/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/io.hpp"
#include "core/text.hpp"
#include "layers/registry.hpp"
#include "train/checkpoint.hpp"

namespace locus {
namespace {


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
void write_run_csv(const std::string& out_dir, const std::string& metric, int index, const RunResult& r) {
  const std::string& m = metric;
  std::string csv = "epoch,loss,train_" + m + ",val_" + m + ",test_" + m + ",epoch_ms\n";
  for (const auto& e : r.history)
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.4f}\n", e.epoch, e.loss, e.train_acc, e.val_acc, e.test_acc,
                       e.epoch_ms);
  write_file_atomic((std::filesystem::path(out_dir) / fmt::format("run_{}_seed_{}.csv", index, r.seed)).string(), csv);
}

// "gat x2 hidden 8x8 heads, out heads 1 + LapPE k8→8": the model as the header line describes it.
std::string model_description(const GnnSpec& spec) {
  std::string s = layer_descriptor(spec.layer_type).reads("gnn.att_heads_out")
                      ? fmt::format("{} x{} hidden {}x{} heads, out heads {}", spec.layer_type, spec.layers, spec.hidden,
                                    spec.att_heads, spec.att_heads_out)
                      : fmt::format("{} x{} hidden {}", spec.layer_type, spec.layers, spec.hidden);
  if (spec.residual || layer_descriptor(spec.layer_type).reads("gnn.norm"))
    s += fmt::format(" ({}residual, {} norm{})", spec.residual ? "gnn." : "", spec.norm, spec.head == "mlp" ? ", mlp head" : "");
  const pe::PosEncSpec& pe = spec.posenc;
  if (pe.lap) s += fmt::format(" + LapPE k{}→{}", pe.lap_freqs, pe.lap_dim);
  if (pe.rwse) s += fmt::format(" + RWSE K{}→{}", pe.rwse_steps, pe.rwse_dim);
  if (pe.anchor) s += fmt::format(" + anchors→{}{}", pe.anchor_dim, pe.anchor_cutoff >= 0 ? fmt::format(" (cutoff {})", pe.anchor_cutoff) : "");
  if (pe.spd) s += fmt::format(" + SPD bias ≤{} hops", pe.spd_max_dist);
  if (pe.seq != "none") s += " + " + pe.seq;
  if (selects_posenc(spec)) s += " (positional columns kept if validation says so)";
  if (spec.position != "none")
    s += " + " + spec.position + " branch (" + fusion_mode(spec) + (spec.fusion == "auto" ? "=auto" : "") +
         (selects_branch(spec) ? ", kept if validation says so)" : ")");
  if (spec.att_norm != "softmax") s += " (" + spec.att_norm + " attention)";
  return s;
}

// The header: dataset, model and, when resuming, where training continues.
void print_header(const ExperimentConfig& cfg, const ExperimentInfo& info, std::ostream& log) {
  const Problem& p = *info.problem;
  const Dataset& ds = p.data;
  if (info.resumed && info.checkpoint_threads != info.num_threads)
    log << fmt::format("note: resuming with {} threads; the checkpoint was written with {} (results match an "
                       "uninterrupted run only with the same thread count)\n",
                       info.num_threads, info.checkpoint_threads);
  const char* kind = p.one_hot ? " one-hot" : cfg.dataset.features == "constant" ? " constant" : "";
  if (p.pair_task())
    log << fmt::format("locus train: {} ({} nodes, {} edges, {} features{}), task {}: 80/10/10 pairs with equal "
                       "negatives, ROC AUC\n",
                       ds.name, ds.num_nodes, p.num_edges, p.in_dim, kind, task_name(ds.task));
  else if (ds.has_graphs())  // many graphs: whole graphs held out, mini-batches of graphs
    log << fmt::format("locus train: {} ({} graphs, {} nodes, {} edges, {} features{}, {} {}; split by graph "
                       "{}/{}/{}{}; {} graphs per step)\n",
                       ds.name, ds.num_graphs, ds.num_nodes, p.num_edges, p.in_dim, kind,
                       p.graph_task() ? p.graph_outputs() : ds.num_classes,
                       ds.task == Task::GraphRegression ? "targets per graph, MAE"
                       : p.graph_task()                 ? "graph classes"
                                                        : "classes",
                       ds.train_graphs.size(), ds.val_graphs.size(), ds.test_graphs.size(),
                       p.graph_task() ? "" : fmt::format(", nodes {}/{}/{}", p.num_train, p.num_val, p.num_test),
                       cfg.train.batch_size > 0 ? cfg.train.batch_size : 128);
  else if (ds.is_sentences())  // each sentence a complete graph; batches of sentences
    log << fmt::format("locus train: {} ({} sentences, {} tokens, {} attention slots, {} features{}, {} classes; "
                       "tokens split {}/{}/{}; {})\n",
                       ds.name, ds.blocks.size(), ds.num_nodes, p.num_edges, p.in_dim, kind, ds.num_classes, p.num_train,
                       p.num_val, p.num_test,
                       cfg.train.batch_size > 0 ? fmt::format("{} sentences per step", cfg.train.batch_size)
                                                : std::string("every sentence in one step"));
  else
    log << fmt::format("locus train: {} ({} nodes, {} edges, {} features{}, {} classes; split {}/{}/{})\n", ds.name,
                       ds.num_nodes, p.num_edges, p.in_dim, kind, ds.num_classes, p.num_train, p.num_val, p.num_test);
  const TrainOptions& t = cfg.train;
  log << fmt::format("model: {}, act {}, dropout {}, {} lr {} wd {} ({}), {} epochs, {} runs, {} threads\n",
                     model_description(info.spec), ops::act_name(cfg.gnn.act), cfg.gnn.dropout,
                     optim_kind_name(t.optim.kind), t.optim.lr, t.optim.weight_decay,
                     cfg.gnn.decay_first_only ? "first" : "all", t.max_epoch, cfg.run.num_runs, info.num_threads);
  if (const std::string pos = position_protocol(info.spec); !pos.empty()) log << "position: " << pos << "\n";
  if (info.resumed)
    log << fmt::format("resuming {}: {} of {} runs finished{}\n", checkpoint_path(cfg.run.out_dir), info.runs_done,
                       cfg.run.num_runs,
                       info.resume_epoch > 0 ? fmt::format(", run {} at epoch {}", info.resume_run + 1, info.resume_epoch) : "");
  log.flush();
}

}  // namespace

TrainSummary run_training(const ExperimentConfig& cfg, std::ostream& log, bool progress) {
  using Clock = std::chrono::steady_clock;
  const StopSignals signals;
  const MetricInfo* metric = nullptr;  // the task's (TrainSummary::metric)
  std::string label;   // "AUC " before the pair tasks' scores, "MAE " before errors ("" for accuracy)
  std::string selected;  // what gnn.fusion_select / posenc_select choose over: each run says whether it kept it
  auto last_print = Clock::now();
  ExperimentCallbacks cb;
  cb.on_start = [&](const ExperimentInfo& info) {
    metric = &metric_info(metric_name(info.problem->data.task, cfg.train.metric));
    label = std::string(metric->name) == "acc" ? "" : std::string(metric->abbrev) + " ";
    const bool branch = selects_branch(info.spec), columns = selects_posenc(info.spec);
    selected = branch && columns ? "anchor branch and positional columns" : branch ? "anchor branch"
               : columns         ? "positional columns"
                                 : "";
    print_header(cfg, info, log);
  };
  cb.on_epoch = [&](int run, const EpochMetrics& m) {
    if (!progress || (Clock::now() - last_print <= std::chrono::milliseconds(100) && m.epoch != cfg.train.max_epoch)) return;
    last_print = Clock::now();
    log << fmt::format("\r\033[Krun {}/{} epoch {:>4}/{} loss {:.4f} {}train {} val {} | {:.2f} ms/epoch", run + 1,
                       cfg.run.num_runs, m.epoch, cfg.train.max_epoch, m.loss, label, metric->show(m.train_acc),
                       metric->show(m.val_acc), m.epoch_ms)
        << std::flush;
  };
  cb.on_run_end = [&](int run, const RunResult& r, bool finished) {
    if (progress) log << "\r\033[K";
    if (!cfg.run.out_dir.empty()) write_run_csv(cfg.run.out_dir, metric->name, run, r);
    if (finished)
      log << fmt::format("run {}/{} seed {}: best epoch {} val {}{} test {}{}{}\n", run + 1, cfg.run.num_runs, r.seed,
                         r.best_epoch, label, metric->show(r.val_acc), label, metric->show(r.test_acc),
                         selected.empty() ? "" : " (" + selected + (r.position_used ? " kept)" : " off)"))
          << std::flush;
  };
  cb.stop_requested = [&] { return signals.received(); };
  TrainSummary s;
  try {
    s = run_experiment(cfg, cb);
  } catch (const ConfigError& e) {
    config_error(cfg, e.problem);  // a key that does not fit the dataset, placed where it was set
  }
  if (s.rank != 0) return s;
  if (s.interrupted)
    log << fmt::format("{} received: stopped after {}{}\n", s.stop_signal == SIGINT ? "SIGINT" : "SIGTERM", s.stopped_at,
                       !cfg.run.out_dir.empty() && s.work_left && s.partitions.empty()
                           ? "; continue with train.auto_resume=true and the same out_dir"
                           : "");
  if (!cfg.run.out_dir.empty()) log << "per-epoch metrics and checkpoint: " << cfg.run.out_dir << "\n";
  return s;
}

void print_summary(const TrainSummary& s, std::ostream& out) {
  const MetricInfo& m = metric_info(s.metric);  // percentages for fractions, values for MAE
  out << fmt::format("\n{:<10} {:>10} {:>12} {:>12}\n", "seed", "best_epoch", "val_" + s.metric + m.unit(),
                     "test_" + s.metric + m.unit());
  for (const auto& r : s.runs)
    out << fmt::format("{:<10} {:>10} {:>12} {:>12}\n", r.seed, r.best_epoch, m.show(r.val_acc), m.show(r.test_acc));
  out << fmt::format("{:<10} {:>10} {:>12} {:>12}\n", "mean", "", m.show(s.val_acc_mean),
                     m.show(s.test_acc_mean) + " ± " + m.show(s.test_acc_std));
  out << fmt::format("test {} {}{} ± {} over {} runs{}; {:.3f} ms per training epoch (median); peak RSS {:.1f} MiB\n",
                     m.title, m.show(s.test_acc_mean), m.fraction ? "%" : "", m.show(s.test_acc_std), s.runs.size(),
                     m.higher_is_better ? "" : " (lower is better)", s.epoch_ms_median, s.peak_rss_mib);
  if (s.num_ranks > 1 || !s.partitions.empty())
    out << fmt::format("{} MPI ranks ({}): cut edges {}, halo rows {}; per epoch {:.1f} KiB sent by all ranks, {:.3f} ms "
                       "waiting (slowest rank, median); peak RSS of the largest rank\n",
                       s.num_ranks, s.partitions, s.cut_edges, s.halo_rows, s.comm_bytes_per_epoch / 1024.0, s.comm_wait_ms);
  if (!s.model_file.empty())
    out << fmt::format("model saved: {} (run it with: locus predict {} DATASET)\n", s.model_file, s.model_file);
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
  // Classification: test_acc_*, val_acc_mean (train.metric=wacc: test_wacc_*, val_wacc_mean); pair
  // tasks: test_auc_*, val_auc_mean; graph regression: test_mae_*, val_mae_mean (lower is better).
  const std::string m = s.metric;
  j["metric"] = m;
  j["test_" + m + "_mean"] = num(s.test_acc_mean);
  j["test_" + m + "_std"] = num(s.test_acc_std);
  j["val_" + m + "_mean"] = num(s.val_acc_mean);
  j["epoch_ms_median"] = num(s.epoch_ms_median);
  j["peak_rss_mib"] = s.peak_rss_mib;
  if (!s.model_file.empty()) j["model_file"] = s.model_file;
  j["num_threads"] = s.num_threads;
  j["num_nodes"] = s.num_nodes;
  j["num_edges"] = s.num_edges;
  j["num_features"] = s.num_features;
  j["num_classes"] = s.num_classes;
  if (s.num_targets > 0) j["num_targets"] = s.num_targets;
  j["num_params"] = s.num_params;
  j["num_ranks"] = s.num_ranks;
  if (!s.partitions.empty())
    j["distributed"] = {{"partitions", s.partitions},
                        {"deterministic", cfg.train.deterministic_sum},
                        {"cut_edges", s.cut_edges},
                        {"halo_rows", s.halo_rows},
                        {"bytes_per_epoch", s.comm_bytes_per_epoch},
                        {"comm_wait_ms", s.comm_wait_ms}};
  j["config_path"] = cfg.config_path;
  j["config"] = config_json(cfg);  // every key of the schema (train/config.hpp)
  json runs = json::array();
  for (const auto& r : s.runs)
    runs.push_back({{"seed", r.seed},
                    {"best_epoch", r.best_epoch},
                    {"epochs_run", r.epochs_run},
                    {"train_" + m, num(r.train_acc)},
                    {"val_" + m, num(r.val_acc)},
                    {"test_" + m, num(r.test_acc)},
                    {"params_checksum", fmt::format("{:016x}", r.params_checksum)}});
  if (s.selects_position)  // gnn.fusion_select / posenc_select: which path each run's selected epoch used
    for (size_t i = 0; i < s.runs.size(); ++i) runs[i]["position_used"] = s.runs[i].position_used;
  j["runs"] = runs;
  write_file_atomic(path, j.dump(2) + "\n");
}

}  // namespace locus
