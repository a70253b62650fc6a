#include "apps/compare.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/io.hpp"
#include "layers/registry.hpp"
#include "train/task.hpp"

namespace locus {
namespace {


}  // namespace

std::vector<VariantResult> run_compare(const std::string& config_path, const std::vector<std::string>& overrides,
                                       std::ostream& log, bool progress) {
  const ExperimentConfig base = load_config(config_path, overrides);
  if (!base.dataset.partitions.empty())
    config_error(base, "dataset.partitions", "locus compare trains on one process; partitioned training is for",
                 "locus train: run each variant with mpirun -np P locus train CONFIG.yaml dataset.partitions=DIR ...");
  if (base.run.variants.empty())
    throw InputError(config_path + ": no compare.variants; add e.g. 'compare: {variants: [gcn, gcn+LapPE]}' or "
                     "compare.variants=gcn,gcn+LapPE");
  // Check every name before training anything.
  std::vector<std::vector<std::string>> all;
  for (const auto& v : base.run.variants) {
    std::vector<std::string> o = overrides;
    for (auto& x : variant_overrides(v)) o.push_back(std::move(x));
    all.push_back(std::move(o));
  }
  // Each variant keeps its metrics and checkpoint in its own folder of out_dir; every folder is
  // checked before the first training.
  std::vector<ExperimentConfig> cfgs;
  for (size_t i = 0; i < all.size(); ++i) {
    ExperimentConfig cfg = load_config(config_path, all[i]);
    if (!cfg.run.out_dir.empty()) {
      std::string folder = base.run.variants[i];
      for (char& c : folder)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') c = '_';
      cfg.run.out_dir = (std::filesystem::path(cfg.run.out_dir) / folder).string();
      check_out_dir(cfg);
    }
    cfgs.push_back(std::move(cfg));
  }
  std::vector<VariantResult> results;
  for (size_t i = 0; i < all.size(); ++i) {
    const ExperimentConfig& cfg = cfgs[i];
    log << fmt::format("== variant {}/{}: {}\n", i + 1, all.size(), base.run.variants[i]) << std::flush;
    results.push_back({base.run.variants[i], run_training(cfg, log, progress)});
    if (results.back().summary.interrupted) break;  // a signal stops the whole comparison
  }
  return results;
}

void print_compare(const std::vector<VariantResult>& results, std::ostream& out) {
  size_t w = 7;
  for (const auto& r : results) w = std::max(w, r.variant.size());
  // Percentages for accuracy and AUC, values for MAE (metric_info()).
  const MetricInfo& m = metric_info(results.empty() ? "acc" : results.front().summary.metric);
  out << fmt::format("\n{:<{}}  {:>16}  {:>8}  {:>10}  {:>8}\n", "variant", w,
                     std::string("test ") + m.abbrev + m.unit(), std::string("val") + m.unit(), "ms/epoch", "params");
  for (const auto& r : results) {
    const auto& s = r.summary;
    out << fmt::format("{:<{}}  {:>16}  {:>8}  {:>10.3f}  {:>8}\n", r.variant, w,
                       m.show(s.test_acc_mean, "—") + " ± " + m.show(s.test_acc_std, "—"),
                       m.show(s.val_acc_mean, "—"), s.epoch_ms_median, s.num_params);
  }
  if (!results.empty())
    out << fmt::format("{} variants, {} runs each, dataset {}\n", results.size(), results.front().summary.runs.size(),
                       results.front().summary.dataset);
}

void write_compare_json(const std::vector<VariantResult>& results, const std::string& path) {
  using nlohmann::json;
  auto num = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  json variants = json::array();
  for (const auto& r : results) {
    const auto& s = r.summary;
    json runs = json::array();
    for (const auto& run : s.runs) {
      runs.push_back({{"seed", run.seed}, {"best_epoch", run.best_epoch}, {"val_acc", num(run.val_acc)},
                      {"test_acc", num(run.test_acc)}});
      if (s.selects_position) runs.back()["position_used"] = run.position_used;  // gnn.fusion_select / posenc_select's choice
    }
    variants.push_back({{"variant", r.variant},
                        {"dataset", s.dataset},
                        {"model", s.model},
                        {"metric", s.metric},
                        {"num_runs", s.runs.size()},
                        {"test_acc_mean", num(s.test_acc_mean)},
                        {"test_acc_std", num(s.test_acc_std)},
                        {"val_acc_mean", num(s.val_acc_mean)},
                        {"epoch_ms_median", num(s.epoch_ms_median)},
                        {"num_params", s.num_params},
                        {"runs", runs}});
  }
  write_file_atomic(path, json{{"variants", variants}}.dump(2) + "\n");
}

void write_compare_csv(const std::vector<VariantResult>& results, const std::string& path) {
  std::string csv = "variant,test_acc_mean,test_acc_std,val_acc_mean,epoch_ms_median,num_params\n";
  for (const auto& r : results) {
    const auto& s = r.summary;
    csv += fmt::format("{},{:.6f},{:.6f},{:.6f},{:.4f},{}\n", r.variant, s.test_acc_mean, s.test_acc_std,
                       s.val_acc_mean, s.epoch_ms_median, s.num_params);
  }
  write_file_atomic(path, csv);
}

std::string compare_plot_script(const std::vector<VariantResult>& results, const std::string& title,
                                const std::string& png, const std::string& data) {
  // The y axis names the variants' metric (accuracy, ROC AUC for pair tasks: percentages up to
  // 100; MAE: the values, from 0 up).
  const MetricInfo& m = metric_info(results.empty() ? "acc" : results.front().summary.metric);
  return fmt::format(
      "set terminal pngcairo size 1000,560 font 'sans,11'\n"
      "set output '{}'\n"
      "set title \"{}\" noenhanced\n"
      "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
      "set style fill solid 0.7 border -1\nset boxwidth 0.8\n"
      "set ylabel 'test {}{}, mean ± std{}'\nset yrange [0:{}]\nset grid ytics\n"
      "set xtics rotate by -30 noenhanced\nunset key\n"
      "plot '{}' using 2:3:xtic(1) lc rgb '#4477aa'\n",
      png, title, m.title, m.fraction ? " (%)" : "", m.higher_is_better ? "" : " (lower is better)",
      m.fraction ? "105" : "*", data);
}

void write_compare_plot(const std::vector<VariantResult>& results, const std::string& title, const std::string& path) {
  namespace fs = std::filesystem;
  // Data and script in a private temporary folder; gnuplot writes a temporary PNG that is then
  // renamed over `path`, so a failed plot leaves nothing behind.
  std::string dir_template = (fs::temp_directory_path() / "locus-plot-XXXXXX").string();
  if (!mkdtemp(dir_template.data())) throw std::runtime_error("cannot create a temporary folder for the plot");
  const fs::path dir = dir_template;
  std::string data;
  const double scale = results.empty() || metric_info(results.front().summary.metric).fraction ? 100 : 1;  // percent
  for (const auto& r : results)
    data += fmt::format("\"{}\" {:.4f} {:.4f}\n", r.variant, scale * r.summary.test_acc_mean,
                        scale * r.summary.test_acc_std);
  const fs::path target = fs::absolute(path);
  const fs::path tmp_png = target.parent_path() / ("." + target.filename().string() + ".tmp");
  const std::string script = compare_plot_script(results, title, tmp_png.string(), (dir / "data.txt").string());
  write_file_atomic((dir / "data.txt").string(), data);
  write_file_atomic((dir / "plot.gp").string(), script);
  std::error_code ec;
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path(), ec);
  const std::string cmd = "gnuplot '" + (dir / "plot.gp").string() + "' 2>'" + (dir / "err.txt").string() + "'";
  const int rc = std::system(cmd.c_str());
  std::string err;
  if (rc != 0) {
    std::ifstream e(dir / "err.txt");
    std::stringstream b;
    b << e.rdbuf();
    err = b.str();
  }
  fs::remove_all(dir, ec);
  if (rc != 0) {
    fs::remove(tmp_png, ec);
    throw InputError("gnuplot failed to draw " + path + (err.empty() ? "" : ": " + err) +
                     " (is gnuplot installed? scripts/setup.sh installs gnuplot-nox)");
  }
  fs::rename(tmp_png, target, ec);
  if (ec) throw InputError("cannot move the plot to " + path + ": " + ec.message());
}

}  // namespace locus
